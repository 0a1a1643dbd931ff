"""Text stored on the server is data, never terminal control: the real `taskly` prints escape sequences,
tabs and newlines of titles, labels, descriptions and comments visibly escaped (tables, pipes, `show`,
a colour terminal) and exactly with `--json`.

The server now refuses control characters in titles and labels, so the hostile card is written the way
older data or another writer would have left it: straight into the database."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.cli.support import TASKLY, cli_board, ok, run_taskly, taskly_env
from tests.support.api import Api
from tests.support.checks import sql
from tests.support.pty import Terminal

OSC_TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"
CLIPBOARD = "\x1b]52;c;cHduZWQ=\x07"
TITLE = f"pwn{OSC_TITLE}\ttab\nnewline"
LABEL = f"x{CLEAR}"
DESCRIPTION = f"first line\n{CLIPBOARD}second line\n\tindented"
COMMENT = f"hello{CLEAR}\nworld"
MARKUP = "[bold red]markup[/] :smile: \u202eevil"


def hostile_board(server_url: str, database_url: str) -> tuple[Api, dict, dict]:
    """A board with a markup-looking card (written through the API by another client) and a card
    whose title, label, description and comment hold escape sequences, tabs and newlines."""
    user = cli_board(server_url)
    other = Api.login(server_url, user)
    board = ok("board", "ls", "--json").json()[0]
    markup = other.ok("POST", f"/boards/{board['id']}/cards", json={"title": MARKUP, "labels": ["[link=x]"]})
    hostile = other.ok("POST", f"/boards/{board['id']}/cards", json={"title": "placeholder"})
    comment = other.ok("POST", f"/cards/{hostile['id']}/comments", json={"body": "placeholder"})
    sql(database_url, "UPDATE cards SET title = %s, labels = %s, description = %s WHERE id = %s",
        TITLE, [LABEL], DESCRIPTION, hostile["id"])
    sql(database_url, "UPDATE comments SET body = %s WHERE id = %s", COMMENT, comment["id"])
    shutil.rmtree(Path(os.environ["TASKLY_HOME"]) / "cache")  # the next command loads a snapshot
    return other, markup, hostile


def test_ls_show_and_json_with_hostile_stored_text(server, database_url) -> None:
    _, markup, hostile = hostile_board(server.url, database_url)

    listed = ok("ls")  # a pipe: tab-separated rows, one per card
    assert "\x1b" not in listed.stdout + listed.stderr and "\u202e" not in listed.stdout
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert len(rows) == 2 and len({len(row) for row in rows}) == 1, rows
    by_key = {row[0]: row for row in rows}
    assert by_key[hostile["key"]][2] == "pwn\\e]0;pwned\\x07\\ttab\\nnewline"
    assert by_key[hostile["key"]][5] == "x\\e[2J"
    assert by_key[markup["key"]][2] == "[bold red]markup[/] :smile: \\u202eevil"
    assert by_key[markup["key"]][5] == "[link=x]"

    exact = {card["key"]: card for card in ok("ls", "--json").json()}
    assert exact[hostile["key"]]["title"] == TITLE and exact[hostile["key"]]["labels"] == [LABEL]
    assert exact[markup["key"]]["title"] == MARKUP

    shown = ok("show", hostile["key"])
    assert "\x1b" not in shown.stdout + shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == f"{hostile['key']}  pwn\\e]0;pwned\\x07\\ttab\\nnewline"
    assert "  labels    x\\e[2J" in lines
    assert lines[lines.index("  first line") + 1:][:2] == ["  \\e]52;c;cHduZWQ=\\x07second line", "  \tindented"]
    assert lines[-2:] == ["    hello\\e[2J", "    world"]
    as_json = ok("show", hostile["key"], "--json").json()
    assert (as_json["title"], as_json["description"]) == (TITLE, DESCRIPTION)
    assert [c["body"] for c in as_json["comments"]] == [COMMENT]


def test_a_colour_terminal_gets_no_foreign_escape_sequences(server, database_url) -> None:
    hostile_board(server.url, database_url)
    ok("ls")  # the cache, loaded
    env = taskly_env({"NO_COLOR": None, "TERM": "xterm-256color"})
    terminal = Terminal([str(TASKLY), "ls", "--offline"], env)
    try:
        terminal.until(rb"markup(.|\n)*x\\e\[2J", 0)  # both rows (the hostile card's label ends the last)
    finally:
        assert terminal.close() == 0
    output = terminal.output.decode()
    assert "\x1b[" in output  # rich styles the table...
    assert "\x1b]" not in output and CLEAR not in output  # ...but no OSC (title, clipboard, link), no clear
    text = terminal.text()
    assert "[bold red]markup[/]" in text and "pwn\\e]0;pwned" in text and "x\\e[2J" in text


def test_errors_quoting_input_are_escaped(server) -> None:
    cli_board(server.url)
    code, out, err = run_taskly("show", f"WEB-1{OSC_TITLE}")
    assert code != 0 and "\x1b" not in out + err and "\\e]0;pwned\\x07" in err, (code, err)
    code, _, err = run_taskly("add", f"bad{CLEAR}title")
    assert code == 2 and "control characters" in err and "\x1b" not in err, (code, err)
    assert len(err.splitlines()) == 1
