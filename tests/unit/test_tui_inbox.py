"""The inbox's and the card form's pure pieces: toast and list text (stored text escaped), the list
keeping its order while open, the footer's count, and Remind / Repeats / Every read as the CLI's
`--remind` / `--repeat` / `--every`."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from taskly.core.errors import UsageError
from taskly.core.recurrence import interval
from taskly.core.when import parse_when
from taskly.tui.inbox import toast_text
from taskly.tui.screens.card_form import parse_recurrence, parse_remind, remind_text
from taskly.tui.screens.inbox import keep_order, notification_line
from taskly.tui.widgets.unread_indicator import unread_text

NOW = datetime(2031, 3, 14, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def note(id_: str, read: bool = False, **fields) -> dict:
    return {"id": id_, "kind": "assigned", "message": "maya assigned you to WEB-8", "card_key": "WEB-8",
            "card_title": "Deploy", "created_at": "2031-03-14T11:55:00Z",
            "read_at": "2031-03-14T11:56:00Z" if read else None, **fields}


def test_toast_text_names_the_kind_and_adds_the_title_once():
    assert toast_text(note("a")) == ("✉ assigned", "maya assigned you to WEB-8\nDeploy")
    reminder = note("b", kind="reminder", message="reminder: WEB-8 Deploy")
    assert toast_text(reminder) == ("✉ reminder", "reminder: WEB-8 Deploy")


def test_notification_line_marks_unread_and_escapes_stored_text():
    line = notification_line(note("a", card_title="[b]x[/b] \x1b]0;pwned\x07"), NOW)
    assert line.startswith("●   5 min ago  assigned")
    assert "WEB-8" in line and "[b]x[/b] \\e]0;pwned\\x07" in line and "\x1b" not in line
    assert notification_line(note("a", read=True), NOW).startswith("  ")


def test_the_inbox_keeps_its_order_while_open_new_ones_on_top():
    shown = [note("a"), note("b")]
    fresh = [note("c"), note("b"), note("a", read=True)]  # the cache's order: unread first
    assert [n["id"] for n in keep_order(shown, fresh)] == ["c", "a", "b"]
    assert keep_order(shown, fresh)[1]["read_at"] is not None  # the fresh copy
    assert [n["id"] for n in keep_order(shown, [note("b")])] == ["b"]  # gone ones leave


def test_unread_text():
    assert unread_text(0) == "" and unread_text(3) == "✉ 3 unread"


def test_remind_reads_as_the_cli_reads_it():
    for text in ("tomorrow 9:00", "+2h", "fri 14:00", "2031-03-20", "2031-03-20 17:30", "none", ""):
        assert parse_remind(text, "", None, NOW, BERLIN) == parse_when(text, NOW, BERLIN)
    assert parse_remind("tomorrow 9:00", "", None, NOW, BERLIN) == datetime(2031, 3, 15, 8, 0, tzinfo=UTC)
    with pytest.raises(UsageError, match="Remind at 'someday'"):
        parse_remind("someday", "", None, NOW, BERLIN)


def test_remind_left_as_shown_keeps_the_exact_moment():
    current = datetime(2031, 3, 15, 8, 0, 42, tzinfo=UTC)
    shown = remind_text(current, BERLIN)
    assert shown == "2031-03-15 09:00"
    assert parse_remind(shown, shown, current, NOW, BERLIN) == current  # not rounded to the minute
    assert parse_remind("", shown, current, NOW, BERLIN) is None


def test_repeats_and_every_read_as_repeat_and_every():
    assert parse_recurrence("weekly", "2", 1) == ("weekly", 2)
    assert parse_recurrence("daily", "", 1) == ("daily", 1)
    assert parse_recurrence("none", "", 3) == ("none", 3)  # the card's interval stays
    assert parse_recurrence("none", "3", 3) == ("none", 3)
    with pytest.raises(UsageError, match="Every goes with Repeats"):
        parse_recurrence("none", "2", 1)
    for bad in ("0", "366", "x", "-1", "1.5"):
        with pytest.raises(UsageError, match="Every"):
            parse_recurrence("monthly", bad, 1)
    with pytest.raises(UsageError, match="--repeat 'yearly'"):
        parse_recurrence("yearly", "1", 1)
    assert interval(" 365 ") == 365
