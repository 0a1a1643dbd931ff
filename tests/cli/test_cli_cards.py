"""Card commands through the real executable and server: add, ls, show, edit, mv, assign, comment,
log, search, rm, restore, open."""

from __future__ import annotations

import re
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.cli.support import cli_board, cli_login, ok, run_on_terminal, run_taskly


def keys(cards: list[dict]) -> list[str]:
    return [card["key"] for card in cards]


def test_add_ls_filters_and_order(server, tmp_path: Path) -> None:
    me = cli_board(server.url)
    bob = {"TASKLY_HOME": str(tmp_path / "bob")}
    bob_name = cli_login(server.url, env=bob)
    token = ok("workspace", "invite", "--role", "member").stdout.strip()
    ok("workspace", "join", token, env=bob)

    first = ok("add", "Fix login redirect", "--label", "bug", "--label", "auth", "-p", "HIGH", "--points", "3",
               "--due", "2030-01-31", "--assign", "me", "--assign", bob_name, "-d", "Users land on /404",
               "--json").json()
    assert first["key"] == "WEB-1" and first["column"] == "Backlog" and first["labels"] == ["bug", "auth"]
    assert first["priority"] == "high" and first["points"] == 3 and first["due"] == "2030-01-31"
    assert first["assignees"] == [me, bob_name] and first["description"] == "Users land on /404"
    second = ok("add", "Write docs", "--column", "todo", "--due", "tomorrow", "--json").json()
    assert second["column"] == "Todo" and second["due"] == str(date.today() + timedelta(days=1))
    third = ok("add", "Ship it", "-c", "BACKLOG", "--due", "+3d", "--label", "bug", "--json").json()
    assert third["due"] == str(date.today() + timedelta(days=3))
    plain = ok("add", "Plain output")
    assert plain.stdout.strip() == "WEB-4" and "Created WEB-4 in Backlog" in plain.stderr

    assert keys(ok("ls", "--json").json()) == ["WEB-1", "WEB-3", "WEB-4", "WEB-2"]  # column, then rank
    assert keys(ok("ls", "--column", "todo", "--json").json()) == ["WEB-2"]
    assert keys(ok("ls", "--label", "bug", "--json").json()) == ["WEB-1", "WEB-3"]
    assert keys(ok("ls", "--label", "bug", "--label", "auth", "--json").json()) == ["WEB-1"]
    assert keys(ok("ls", "--assignee", bob_name, "--json").json()) == ["WEB-1"]
    assert keys(ok("ls", "--mine", "--json", env=bob).json()) == ["WEB-1"]
    assert keys(ok("ls", "--priority", "high", "-p", "none", "--json").json()) == ["WEB-1", "WEB-3", "WEB-4",
                                                                                  "WEB-2"]
    assert keys(ok("ls", "--priority", "high", "--json").json()) == ["WEB-1"]
    rows = ok("ls").stdout.splitlines()
    assert rows[0].split("\t")[:3] == ["WEB-1", "Backlog", "Fix login redirect"]

    code, _, err = run_taskly("ls", "--column", "nope")
    assert code == 3 and "Backlog, Todo, In Progress, In Review, Done" in err
    assert run_taskly("ls", "--priority", "huge").code == 2
    assert run_taskly("ls", "--sprint", "S1").code == 3
    assert run_taskly("add", "Bad date", "--due", "someday").code == 2
    assert run_taskly("add", "Stranger", "--assign", "nobody-here").code == 3
    assert run_taskly("add", "x" * 300).code == 2
    assert run_taskly("add").code == 2


def test_show_edit_comment_and_log(server) -> None:
    me = cli_board(server.url)
    ok("add", "Fix login", "--label", "bug", "--points", "2", "--due", "2030-05-01")
    edited = ok("edit", "1", "--title", "Fix the login", "--add-label", "auth", "--remove-label", "bug",
                "--points", "5", "--due", "none", "-p", "urgent", "--column", "in progress", "--json").json()
    assert edited["title"] == "Fix the login" and edited["labels"] == ["auth"] and edited["points"] == 5
    assert edited["due"] is None and edited["priority"] == "urgent" and edited["column"] == "In Progress"
    assert run_taskly("edit", "1").code == 2  # nothing to change

    comment = ok("comment", "WEB-1", "looks", "good", "--json").json()
    assert comment["body"] == "looks good" and comment["author"] == me
    ok("comment", "1", "-", input="from stdin\nsecond line\n")

    shown = ok("show", "web-1", "--json").json()
    assert shown["key"] == "WEB-1" and shown["title"] == "Fix the login"
    assert [c["body"] for c in shown["comments"]] == ["looks good", "from stdin\nsecond line\n"]
    text = ok("show", "1").stdout
    assert "WEB-1  Fix the login" in text and "In Progress" in text and "looks good" in text

    activity = ok("log", "1", "--json").json()
    assert [c["seq"] for c in activity] == sorted((c["seq"] for c in activity), reverse=True)
    ops = [(c["entity_type"], c["op"]) for c in activity]
    assert ops[-1] == ("card", "create") and ops.count(("comment", "create")) == 2
    update = next(c for c in activity if c["op"] == "update")
    assert update["changes"]["title"] == {"old": "Fix login", "new": "Fix the login"}
    assert "Fix login → Fix the login" in ok("log", "WEB-1").stdout
    assert run_taskly("show", "WEB-99").code == 3
    assert run_taskly("log", "WEB-99").code == 3


def test_mv_assign_search_rm_restore_and_open(server, tmp_path: Path) -> None:
    me = cli_board(server.url)
    for title in ("One", "Two", "Three"):
        ok("add", title, "--column", "todo")
    assert ok("mv", "3", "todo", "--top", "--json").json()["column"] == "Todo"
    assert keys(ok("ls", "--json").json()) == ["WEB-3", "WEB-1", "WEB-2"]
    ok("mv", "WEB-3", "Todo", "--after", "2")
    assert keys(ok("ls", "--json").json()) == ["WEB-1", "WEB-2", "WEB-3"]
    ok("mv", "3", "todo", "--before", "WEB-1")
    assert keys(ok("ls", "--json").json()) == ["WEB-3", "WEB-1", "WEB-2"]
    moved = ok("mv", "1", "IN REVIEW")
    assert moved.stdout.strip() == "WEB-1" and "Moved WEB-1 to In Review" in moved.stderr
    assert run_taskly("mv", "1", "todo", "--top", "--bottom").code == 2

    bob = {"TASKLY_HOME": str(tmp_path / "bob")}
    bob_name = cli_login(server.url, env=bob)
    ok("workspace", "join", ok("workspace", "invite").stdout.strip(), env=bob)
    ok("workspace", "members")  # pulls bob's membership into the cache
    assert ok("assign", "2", "me", "--json").json()["assignees"] == [me]
    assert ok("assign", "2", f"@{bob_name}", "--add", "--json").json()["assignees"] == [me, bob_name]
    assert ok("assign", "2", "me", "--remove", "--json").json()["assignees"] == [bob_name]
    assert ok("assign", "2", me, bob_name, "--json").json()["assignees"] == [me, bob_name]
    assert run_taskly("assign", "2", "ghost").code == 3

    ok("edit", "2", "-d", "The Quick brown fox", "--label", "docs")
    assert keys(ok("search", "quick", "FOX", "--json").json()) == ["WEB-2"]
    assert keys(ok("search", "docs", "--json").json()) == ["WEB-2"]  # labels
    assert keys(ok("search", "web-3", "--json").json()) == ["WEB-3"]  # keys
    assert ok("search", "quick", "cat", "--json").json() == []

    deleted = ok("rm", "WEB-3", "--json").json()
    assert deleted["deleted_at"]
    assert keys(ok("ls", "--json").json()) == ["WEB-2", "WEB-1"]
    assert "WEB-3" in keys(ok("ls", "--all", "--json").json())
    assert ok("search", "three", "--json").json() == []
    assert ok("restore", "3", "--json").json()["deleted_at"] is None
    assert "WEB-3" in keys(ok("ls", "--json").json())

    nowhere = run_taskly("open", "2", env={"DISPLAY": None, "WAYLAND_DISPLAY": None})
    assert nowhere.code == 3 and "no pull request, no branch and no repository" in nowhere.stderr
    assert nowhere.stdout == ""


def test_card_of_the_current_branch(server, tmp_path: Path) -> None:
    cli_board(server.url)
    ok("add", "Branch card")
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    code, _, err = run_taskly("show", cwd=repo)
    assert code == 2 and "main" in err
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "-b", "web-1-branch-card"], check=True)
    assert ok("show", "--json", cwd=repo).json()["key"] == "WEB-1"
    ok("comment", "on the branch card", cwd=repo)
    assert [c["body"] for c in ok("show", "1", "--json").json()["comments"]] == ["on the branch card"]
    code, _, err = run_taskly("show", cwd=tmp_path)
    assert code == 2 and "git branch" in err


def test_add_and_edit_in_the_editor(server, tmp_path: Path) -> None:
    cli_board(server.url)
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "Title from editor\\n\\nLine one\\nLine two\\n" > "$1"\n')
    editor.chmod(0o755)
    card = ok("add", "-e", "--json", env={"EDITOR": str(editor), "VISUAL": None}).json()
    assert card["title"] == "Title from editor" and card["description"] == "Line one\nLine two"

    appender = tmp_path / "append.sh"
    appender.write_text('#!/bin/sh\nsed -i "0,/^[^#]/s/^[^#].*/& (edited)/" "$1"\n')  # the title: after the # lines
    appender.chmod(0o755)
    edited = ok("edit", "1", "-e", "--json", env={"EDITOR": str(appender), "VISUAL": None}).json()
    assert edited["title"] == "Title from editor (edited)" and edited["description"] == "Line one\nLine two"

    empty = tmp_path / "empty.sh"
    empty.write_text('#!/bin/sh\n: > "$1"\n')
    empty.chmod(0o755)
    code, _, err = run_taskly("add", "-e", env={"EDITOR": str(empty), "VISUAL": None})
    assert code == 2 and "no title" in err
    code, _, err = run_taskly("add", "-e", "--no-input", env={"EDITOR": str(editor)})
    assert code == 2 and "--no-input" in err
    assert len(ok("ls", "--json").json()) == 1

    # the buffer explains its format, and the buffer is read as it says
    keeper = tmp_path / "keep.sh"  # keeps a copy of what it was given, then writes a card after it
    keeper.write_text(f'#!/bin/sh\ncp "$1" {tmp_path}/given.txt\n'
                      'printf "Heading card\\n\\n# Steps\\nDo it\\n" >> "$1"\n')
    keeper.chmod(0o755)
    added = ok("add", "-e", "--json", env={"EDITOR": str(keeper), "VISUAL": None}).json()
    given = (tmp_path / "given.txt").read_text().splitlines()
    assert given[0].startswith("# The first line is the card's title. After a blank line comes its description")
    assert all(line.startswith("#") for line in given[:3]) and "before the title are ignored" in given[1]
    assert added["title"] == "Heading card" and added["description"] == "# Steps\nDo it"  # a heading is kept

    # no change in the editor: "no changes", exit 0, no write
    before = ok("show", "1", "--json").json()
    unchanged = ok("edit", "1", "-e", env={"EDITOR": "true", "VISUAL": None})
    assert unchanged.stderr == "no changes\n" and unchanged.stdout == "WEB-1\n"
    assert ok("edit", "1", "-e", "--json", env={"EDITOR": "true", "VISUAL": None}).json()["key"] == "WEB-1"
    assert ok("show", "1", "--json").json()["version"] == before["version"]
    assert ok("status", "--json").json()["queued"] == 0
    # an unchanged buffer with another option: only that option is written
    pointed = ok("edit", "1", "-e", "--points", "3", "--json", env={"EDITOR": "true", "VISUAL": None}).json()
    assert pointed["points"] == 3 and pointed["title"] == before["title"]
    assert ok("log", "1", "--json").json()[0]["changes"].keys() == {"points"}


def test_board_renderer_takes_the_wire_models(server) -> None:
    """`render_board` (used by `taskly demo`) on models parsed from the CLI's own --json output."""
    import io

    from taskly.boards.render import render_board
    from taskly.core.output import Output
    from taskly_shared.models import BoardOut, CardOut

    cli_board(server.url)
    ok("add", "Left card")
    ok("add", "Right card", "--column", "done")
    board = BoardOut.model_validate(ok("board", "ls", "--json").json()[0])
    cards = [CardOut.model_validate(c) for c in ok("ls", "--json").json()]
    stdout = io.StringIO()
    render_board(Output(stdout=stdout, environ={}), board, board.columns, cards)
    lines = stdout.getvalue().splitlines()
    assert lines[0] == "WEB · Web"
    assert lines[1].split("\t") == ["Backlog (1)", "Todo (0)", "In Progress (0)", "In Review (0)", "Done (1)"]
    assert lines[2].split("\t") == ["WEB-1 Left card", "", "", "", "WEB-2 Right card"]


ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
TERMINALS = {"no colour, dumb": {}, "colour": {"NO_COLOR": None, "TERM": "xterm-256color"},
             "NO_COLOR": {"NO_COLOR": "1", "TERM": "xterm-256color"}, "TERM=dumb": {"NO_COLOR": None, "TERM": "dumb"}}


@pytest.fixture
def crowded_board(server) -> list[str]:
    """A board whose titles, labels and assignees are much wider than 80 columns; its titles."""
    cli_board(server.url)
    titles = ["Make the login page remember the last workspace and board the person had open " * 2,
              "短い題名と長い題名が混ざったカードのタイトル、画面の幅を超えるまで続きます" * 2,  # wide characters
              "Short one"]
    ok("add", titles[0], "--label", "frontend", "--label", "authentication", "--label", "needs-design",
       "--assign", "me", "-p", "high", "--due", "2031-02-03")
    ok("add", titles[1], "--column", "In Progress", "--points", "8")
    ok("add", titles[2], "--column", "Done")
    return titles


@pytest.mark.parametrize("terminal", list(TERMINALS))
def test_ls_rows_never_wrap_and_fit_the_terminal(crowded_board: list[str], terminal: str) -> None:
    env = TERMINALS[terminal]
    for columns in (80, 200):
        code, out, err = run_on_terminal("ls", "--offline", columns=columns, env=env)
        assert code == 0, err
        lines = out.rstrip("\n").split("\n")
        plain = [ANSI.sub("", line) for line in lines]
        assert len(lines) == 4, out  # the header and one line per card: nothing wrapped
        assert all(cell_len(line) <= columns for line in plain), [cell_len(line) for line in plain]
        assert [line.split()[0] for line in plain] == ["KEY", "WEB-1", "WEB-2", "WEB-3"]
        assert "Short one" in plain[3] and "…" in plain[1] and "…" in plain[2]  # cut, not wrapped
        assert "SPRINT" not in plain[0] and ("\x1b[" in out) == (terminal == "colour")
    wide = [ANSI.sub("", line) for line in run_on_terminal("ls", "--offline", columns=200, env=env).stdout.split("\n")]
    assert "Make the login page remember the last workspace and board" in wide[1]
    assert "authentication" in wide[0 + 1] and "2031-02-03" in wide[1]


def test_overdue_dates_stand_out_in_ls_and_show(server) -> None:
    cli_board(server.url)
    ok("add", "Late", "--due", "2020-01-31")
    ok("add", "Soon", "--due", "+3d")
    ok("add", "Late but done", "--due", "2020-01-31", "--column", "Done")

    rows = [line.split("\t") for line in ok("ls").stdout.splitlines()]  # a pipe: words, no colour
    assert rows[0][0] == "WEB-1" and rows[0][-1] == "2020-01-31 (overdue)"
    assert rows[1][-1] == str(date.today() + timedelta(days=3))
    assert rows[2][-1] == "2020-01-31"  # done: not overdue
    assert "due       2020-01-31 (overdue)" in ok("show", "1").stdout
    assert "(overdue)" not in ok("show", "3").stdout
    assert ok("show", "1", "--json").json()["due"] == "2020-01-31"  # --json stays the model

    colour = {"NO_COLOR": None, "TERM": "xterm-256color"}
    table = run_on_terminal("ls", columns=120, env=colour).stdout
    late = next(line for line in table.splitlines() if "WEB-1" in line)
    assert re.search(r"\x1b\[1;31m2020-01-31 \(overdue\)", late), late  # bold red
    shown = run_on_terminal("show", "1", columns=120, env=colour).stdout
    assert re.search(r"\x1b\[1;31m +due +2020-01-31 \(overdue\)", shown), shown
    plain = run_on_terminal("ls", columns=120).stdout  # NO_COLOR, TERM=dumb: the words only
    assert "2020-01-31 (overdue)" in plain and "\x1b[" not in plain


def test_board_ls_shows_the_next_card_number(server, tmp_path: Path) -> None:
    cli_board(server.url)
    ok("add", "One")
    ok("add", "Two")
    ok("rm", "2")  # a deleted card keeps its number

    def next_number(*flags: str) -> int:
        [board] = ok("board", "ls", "--json", *flags).json()
        return board["next_card_number"]

    assert next_number() == 3
    assert ok("board", "ls").stdout.split("\t")[:4] == ["*", "WEB", "Web", "WEB-3"]
    other = {"TASKLY_HOME": str(tmp_path / "other")}  # a teammate adds a card: the server counted it
    cli_login(server.url, env=other)
    token = ok("workspace", "invite", "--role", "member").stdout.strip()
    ok("workspace", "join", token, env=other)
    ok("add", "From a teammate", "--board", "WEB", env=other)
    assert next_number() == 4
    ok("add", "Queued", "--offline")  # not numbered until the server has it
    assert next_number("--offline") == 4
    assert ok("show", "3", "--offline", "--json").json()["title"] == "From a teammate"
    ok("sync")
    assert next_number() == 5 and ok("show", "4", "--json").json()["title"] == "Queued"
