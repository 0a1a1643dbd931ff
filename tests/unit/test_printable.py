"""Stored text is data, never terminal control: `printable`, the renderers that use it, and the shared
models that refuse control characters in one-line fields."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from taskly.core.output import Output, printable
from taskly.core.render import render_pull_requests
from taskly_shared.models import (
    BoardCreate,
    BulkUpdate,
    CardCreate,
    CardPatch,
    ColumnCreate,
    CommentCreate,
    PullRequestOut,
    WorkspaceCreate,
)

OSC_TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"
CLIPBOARD = "\x1b]52;c;cHduZWQ=\x07"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_text_is_returned_as_it_is() -> None:
    for text in ("Fix login", "Ünïcödé — “quotes” 🚀", "C:\\path\\to", "[bold]x[/]", ""):
        assert printable(text) == text
        assert printable(text, multiline=True) == text
    assert printable(None) == "" and printable(12) == "12"


def test_escape_sequences_become_visible() -> None:
    assert printable(f"a{OSC_TITLE}b") == "a\\e]0;pwned\\x07b"
    assert printable(CLEAR) == "\\e[2J"
    assert printable(CLIPBOARD) == "\\e]52;c;cHduZWQ=\\x07"
    assert printable("\x9b31m C1 CSI, \x7f DEL, \x00 NUL, \r CR") == "\\x9b31m C1 CSI, \\x7f DEL, \\x00 NUL, \\r CR"


def test_tabs_and_newlines_stay_only_in_multiline_text() -> None:
    assert printable("one\ttwo\nthree") == "one\\ttwo\\nthree"
    assert printable("one\ttwo\r\nthree\x1b[2J", multiline=True) == "one\ttwo\nthree\\e[2J"
    assert printable("overwrite\rme", multiline=True) == "overwrite\\rme"


def test_bidi_overrides_and_line_separators_are_neutralised() -> None:
    assert printable("invoice_\u202efdp.exe") == "invoice_\\u202efdp.exe"
    assert printable("\u2066isolated\u2069") == "\\u2066isolated\\u2069"
    assert printable("a\u2028b\u2029c", multiline=True) == "a\\u2028b\\u2029c"


@pytest.mark.parametrize("text", [OSC_TITLE, CLEAR + "\t\n", "\x85\x9c\u202e", "x" * 300 + "\x1b"])
def test_escaping_is_idempotent_and_leaves_nothing_non_printable(text: str) -> None:
    once = printable(text)
    assert once.isprintable() and printable(once) == once
    assert all(ch.isprintable() or ch in "\t\n" for ch in printable(text, multiline=True))


def test_output_escapes_lines_notes_and_table_cells() -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    out = Output(stdout=stdout, stderr=stderr, environ={})
    out.line(f"title {OSC_TITLE}\nsecond line")
    out.note(f"note {CLEAR}\nsame line")
    out.warn(CLIPBOARD)
    out.table(["KEY", "TITLE"], [["WEB-1", f"tab\there\nnewline{OSC_TITLE}"], ["WEB-2", "plain"]])
    assert "\x1b" not in stdout.getvalue() + stderr.getvalue()
    assert stdout.getvalue().splitlines() == [
        "title \\e]0;pwned\\x07", "second line",
        "WEB-1\ttab\\there\\nnewline\\e]0;pwned\\x07", "WEB-2\tplain"]
    assert stderr.getvalue().splitlines() == ["note \\e[2J\\nsame line", "warning: \\e]52;c;cHduZWQ=\\x07"]


def test_a_colour_terminal_table_shows_markup_and_emoji_codes_literally() -> None:
    terminal = Terminal()
    out = Output(stdout=terminal, environ={"TERM": "xterm-256color"})
    assert out.color
    out.table(["KEY", "TITLE"], [["WEB-1", f"[bold red]x[/] :smile: [link=https://evil.example]y[/link]{OSC_TITLE}"]])
    text = terminal.getvalue()
    assert "[bold red]x[/] :smile: [link=https://evil.example]y[/link]\\e]0;pwned\\x07" in text
    assert "\x1b]" not in text  # rich styles the header (CSI), but no OSC: no title, link or clipboard


def test_pull_requests_from_github_are_escaped() -> None:
    stdout = io.StringIO()
    pull = PullRequestOut(id=uuid.uuid4(), repository="acme/web", number=7, title=f"Fix {OSC_TITLE}\ttabs",
                          state="open", url=f"https://github.com/acme/web/pull/7{CLEAR}", author="mallory",
                          checks=[{"name": f"ci{CLIPBOARD}", "kind": "status", "state": "failure",
                                   "at": datetime.now(UTC)}])
    render_pull_requests(Output(stdout=stdout, environ={}), [pull])
    assert "\x1b" not in stdout.getvalue()
    assert "\\e]0;pwned\\x07" in stdout.getvalue() and "ci\\e]52;c;" in stdout.getvalue()


# --- the server side: the shared request models ----------------------------------------------------


@pytest.mark.parametrize("title", ["a\x1bb", "two\nlines", "tab\there", "del\x7f", "c1\x9b", "nul\x00"])
def test_titles_and_names_refuse_control_characters(title: str) -> None:
    for build in (lambda: CardCreate(title=title), lambda: CardPatch(title=title),
                  lambda: CardPatch(labels=[title]), lambda: BoardCreate(name=title, key="WEB"),
                  lambda: ColumnCreate(name=title), lambda: WorkspaceCreate(name=title),
                  lambda: BulkUpdate(cards=[{"card": "WEB-1", "title": title}])):
        with pytest.raises(ValidationError, match="control characters"):
            build()


def test_multiline_text_keeps_newlines_and_tabs_but_not_escapes() -> None:
    text = "Steps:\n\t1. open\r\n\t2. click"
    assert CardCreate(title="ok", description=text).description == text
    assert CommentCreate(body=text).body == text
    for bad in ("colour \x1b[31mred", "bell\x07", "c1 \x9b"):
        with pytest.raises(ValidationError, match="control characters"):
            CardPatch(description=bad)
        with pytest.raises(ValidationError, match="control characters"):
            CommentCreate(body=bad)
    assert CardCreate(title="[bold]markup[/] and \u202ebidi").title == "[bold]markup[/] and \u202ebidi"
