"""`taskly board [BOARD]` and `taskly demo` through the real executable, in a pseudo-terminal."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.cli.support import TASKLY, cli_board, cli_login, ok, run_taskly, taskly_env, unique
from tests.support.api import Api
from tests.support.pty import Terminal

pytestmark = pytest.mark.timeout(240)


def pty_env(home: Path) -> dict[str, str]:
    env = taskly_env({"TASKLY_HOME": str(home), "TERM": "xterm-256color", "NO_COLOR": None})
    env.pop("TASKLY_DEBUG", None)
    return env


def test_taskly_board_opens_the_board_and_its_subcommands_still_work(tui_server, tmp_path) -> None:
    home = tmp_path / "home"
    env = {"TASKLY_HOME": str(home)}
    cli_board(tui_server.url, "WEB", env=env)
    ok("add", "Ship the board", "--column", "Todo", env=env)
    assert [b["key"] for b in ok("board", "ls", "--json", env=env).json()] == ["WEB"]  # a subcommand

    for args in (["board"], ["board", "WEB"], ["board", "--offline", "web"]):
        terminal = Terminal([str(TASKLY), *args], pty_env(home))
        try:
            terminal.until(rb"WEB-1(?!\d)", 0, within=30)
            terminal.until(rb"Ship the board", 0, within=5)
        finally:
            code = terminal.close()
        assert code == 0, terminal.text()[-2000:]

    terminal = Terminal([str(TASKLY), "board", "NOPE"], pty_env(home))
    assert terminal.close(within=30) == 3
    assert "no board 'NOPE'" in terminal.text() and "WEB" in terminal.text()

    code, _, err = run_taskly("board", env=env)  # no terminal
    assert code == 2 and "needs a terminal" in err


def test_taskly_demo_opens_the_board_on_a_terminal() -> None:
    home = Path(tempfile.mkdtemp(prefix="taskly-demo-tui-", dir="/tmp"))  # embedded Postgres: not under /root
    try:
        terminal = Terminal([str(TASKLY), "demo"], pty_env(home))
        try:
            terminal.until(rb"DEMO-\d+", 0, within=180)
            # the board itself, not a toast naming a card: its first column's header (looked for
            # without the escape sequences: a toast over a line makes Textual redraw it in pieces;
            # card titles are cut to the 80-column layout's widths, so none is looked for)
            terminal.until(rb"Backlog", 0, within=60, plain=True)
        finally:
            code = terminal.close()
        assert code == 0, terminal.text()[-2000:]
    finally:
        run_taskly("demo", "--stop", env={"TASKLY_HOME": str(home)}, timeout=60)
        shutil.rmtree(home, ignore_errors=True)


def test_bare_taskly_board_asks_which_board_when_none_is_current(tui_server, tmp_path) -> None:
    home = tmp_path / "home"
    env = {"TASKLY_HOME": str(home)}
    owner = Api.login(tui_server.url, unique("pick"))
    workspace = owner.workspace(unique("ws"))
    for key, name in (("WEB", "Web"), ("API", "Public API")):
        owner.board(workspace["id"], key=key, name=name)
    cli_login(tui_server.url, owner.username, env=env)  # a first login pulls the workspace: no current board
    assert run_taskly("ls", env=env).code == 2  # a command names the choice…

    terminal = Terminal([str(TASKLY), "board"], pty_env(home))  # …the board asks instead
    try:
        terminal.until(rb"Open which board", 0, within=30)
        mark = len(terminal.output)
        terminal.press(b"\x1b[B")  # down: WEB (after API)
        terminal.press(b"\r")
        terminal.until(rb"Backlog", mark, within=15)
    finally:
        code = terminal.close()
    assert code == 0, terminal.text()[-2000:]
    assert "Open which board" in terminal.text() and "Public API" in terminal.text()
    status = ok("status", "--json", env=env).json()  # remembered as `taskly board use` does
    assert (status["workspace"]["name"], status["board"]["name"]) == (workspace["name"], "WEB")
    assert ok("ls", env=env).code == 0  # the next command uses it
