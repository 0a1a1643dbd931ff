"""Text for people, without a server: terminal tables that fit their width, overdue dates, the
editor buffer, completion of offline cards' handles and the help's option metavars."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, date, datetime

import pytest
from rich.cells import cell_len
from taskly.cards.actions import EDITOR_HELP, split_text
from taskly.cards.render import due_text, overdue
from taskly.core.completion import _handles
from taskly.core.errors import UsageError
from taskly.core.help_text import METAVARS, option_metavar
from taskly.core.output import Output, Styled
from taskly_shared.models import CardOut

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def table(columns: int, environ: dict[str, str] | None = None, **kwargs) -> list[str]:
    terminal = Terminal()
    out = Output(stdout=terminal, environ={"COLUMNS": str(columns), "TERM": "dumb", **(environ or {})})
    rows = [["WEB-1", "In Progress", "A title that goes on and on " * 5, "high", "", "bug, frontend, infra"],
            ["WEB-22", "Todo", "短い題名と長い題名が混ざったカード" * 4, "", "", "docs"]]
    out.table(["KEY", "COLUMN", "TITLE", "PRIORITY", "EMPTY", "LABELS"], rows, shrink=(1, 2, 5), keep=2, **kwargs)
    return [ANSI.sub("", line) for line in terminal.getvalue().splitlines()]


@pytest.mark.parametrize("columns", [60, 80, 120, 200])
@pytest.mark.parametrize("environ", [{}, {"TERM": "xterm-256color"}, {"NO_COLOR": "1"}])
def test_a_terminal_table_fits_its_width_one_line_a_row(columns: int, environ: dict[str, str]) -> None:
    lines = table(columns, environ)
    assert len(lines) == 3 and all(cell_len(line) <= columns for line in lines), lines
    assert [line.split()[0] for line in lines] == ["KEY", "WEB-1", "WEB-22"]  # the key is never cut
    assert "EMPTY" not in lines[0]  # a column empty in every row is left out
    assert ("…" in lines[1]) == (columns < 200)  # cut only when it does not fit


def test_the_kept_column_keeps_its_room_longest() -> None:
    _, first, _ = table(80)
    title = first.split("high")[0]
    assert cell_len(title) > 30 and "bug, frontend, infra" not in first  # labels gave way first
    wide = table(200)[1]
    assert "In Progress" in wide and "bug, frontend, infra" in wide
    terminal = Terminal()  # without `keep` the widest columns give way alike
    Output(stdout=terminal, environ={"COLUMNS": "40", "TERM": "dumb"}).table(
        ["A", "B"], [["x" * 30, "y" * 30]], shrink=(0, 1))
    assert [len(part) for part in terminal.getvalue().split()] == [1, 1, 19, 19]


def test_a_pipe_gets_every_column_tab_separated() -> None:
    stdout = io.StringIO()
    Output(stdout=stdout, environ={}).table(["KEY", "EMPTY", "DUE"], [["WEB-1", "", Styled("2020-01-02", "red")]])
    assert stdout.getvalue() == "WEB-1\t\t2020-01-02\n"


def card(due: date | None, kind: str = "todo", deleted: bool = False) -> CardOut:
    now = datetime.now(UTC)
    return CardOut(id=uuid.uuid4(), workspace_id=uuid.uuid4(), board_id=uuid.uuid4(), key="WEB-1", number=1,
                   title="t", column_id=uuid.uuid4(), column="Todo", column_kind=kind, rank="a0", due=due,
                   version=1, created_at=now, updated_at=now, deleted_at=now if deleted else None)


def test_overdue_is_before_today_and_not_done() -> None:
    today = date(2026, 3, 10)
    assert overdue(card(date(2026, 3, 9)), today) and not overdue(card(date(2026, 3, 10)), today)
    assert not overdue(card(date(2026, 3, 9), "done"), today) and not overdue(card(None), today)
    assert not overdue(card(date(2026, 3, 9), deleted=True), today)
    late = due_text(card(date(2026, 3, 9)), today)
    assert late == "2026-03-09 (overdue)" and late.style == "bold red"
    assert due_text(card(date(2026, 3, 11)), today) == "2026-03-11" and due_text(card(None), today) == ""


def test_the_editor_buffer_reads_as_its_help_says() -> None:
    assert all(line.startswith("#") for line in EDITOR_HELP.splitlines())
    assert split_text(EDITOR_HELP + "Title\n\nBody\n# a heading\nmore\n") == ("Title", "Body\n# a heading\nmore")
    assert split_text("\n\nTitle only\n") == ("Title only", "")
    with pytest.raises(UsageError, match="no title"):
        split_text(EDITOR_HELP + "\n")


def test_offline_cards_complete_by_handle_in_the_form_typed() -> None:
    pending = [("WEB", "3f2a9c1b-0000-4000-8000-000000000000"), ("OPS", "0badcafe-0000-4000-8000-000000000000")]
    assert _handles("", pending) == ["WEB-?3f2a9c1b", "OPS-?0badcafe"]
    assert _handles("web-", pending) == ["WEB-?3f2a9c1b"]
    assert _handles("?0b", pending) == ["?0badcafe"]
    assert _handles("3f", pending) == ["3f2a9c1b"]
    assert _handles("WEB-1", pending) == []


def test_an_option_value_has_a_name() -> None:
    class Option:
        def __init__(self, opts: list[str], name: str, kind: str) -> None:
            self.opts, self.name, self.type = opts, name, type("T", (), {"name": kind})()

    assert option_metavar(Option(["-c", "--column"], "column", "str")) == "COLUMN"
    assert option_metavar(Option(["--goal"], "goal", "str")) == "GOAL"
    assert option_metavar(Option(["--max-cards"], "max_cards", "int range")) == "N"
    assert option_metavar(Option(["--ratio"], "ratio", "float")) == "NUMBER"
    assert all(value.isupper() and value not in ("TEXT", "INTEGER") for value in METAVARS.values())
