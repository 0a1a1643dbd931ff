"""Reads are fresh when the server answers, even on a busy machine, and right after `taskly login`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tests.cli.support import cli_board, cli_login, ok


@contextmanager
def busy_machine() -> Iterator[None]:
    """One CPU-bound process per core while the block runs."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(os.cpu_count() or 2)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def test_ls_shows_another_clients_move_on_a_busy_machine(server, tmp_path) -> None:
    me = cli_board(server.url)
    key = ok("add", "Moved elsewhere").stdout.strip()
    ok("ls")  # this client has the card in Backlog
    other = {"TASKLY_HOME": str(tmp_path / "laptop")}
    cli_login(server.url, me, env=other)
    ok("mv", key, "done", env=other)
    with busy_machine():  # a pull under TASKLY_FRESH_SECONDS would let the cache answer alone
        listed = ok("ls", "--json", env={"TASKLY_FRESH_SECONDS": "0"})
    assert "showing cached data" not in listed.stderr, listed.stderr
    assert [(card["key"], card["column"]) for card in listed.json()] == [(key, "Done")]


def test_login_brings_existing_workspaces(server, make_api) -> None:
    owner = make_api()
    workspace = owner.workspace("Existing")
    owner.board(workspace["id"], key="OLD")
    ok("login", "--server", server.url, "--dev", owner.username)
    # the login pulled them: even the cache alone knows the workspace and its board
    assert "Existing" in ok("workspace", "ls", "--offline").stdout
    assert ok("ls", "--offline", "--json").json() == []
    assert "Existing" in ok("workspace", "ls").stdout
    assert ok("ls", "--json").json() == []
