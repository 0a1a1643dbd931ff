"""Every exit code of the contract, provoked for real: 0 ok, 1 error, 2 usage, 3 not found,
4 not logged in / forbidden, 5 conflict, 6 offline."""

from __future__ import annotations

from pathlib import Path

from tests.cli.support import cli_board, cli_login, ok, run_taskly


def test_not_logged_in_is_4(server, tmp_path: Path) -> None:
    code, out, err = run_taskly("ls")
    assert (code, out) == (4, "") and "taskly login" in err
    code, _, err = run_taskly("ls", env={"TASKLY_SERVER": server.url})
    assert code == 4 and "not logged in" in err
    assert run_taskly("whoami", "--json", env={"TASKLY_SERVER": server.url}).code == 4


def test_each_exit_code(server, tmp_path: Path) -> None:
    cli_board(server.url)
    ok("add", "A card")
    # 0
    assert ok("ls", "--json").json()[0]["key"] == "WEB-1"
    # 1: the server refuses the request (422: a workspace name over 100 characters)
    code, out, err = run_taskly("workspace", "create", "w" * 101)
    assert (code, out) == (1, "") and err.startswith("taskly: ") and "Traceback" not in err
    # 2: usage
    assert run_taskly("ls", "--no-such-flag").code == 2
    assert run_taskly("mv", "1").code == 2
    assert run_taskly("add", "-e", "--no-input").code == 2
    # 3: not found (card, column, board, workspace, member)
    for args in (("show", "WEB-404"), ("mv", "1", "Nowhere"), ("ls", "--board", "NOPE"),
                 ("ls", "--workspace", "nope"), ("assign", "1", "ghost")):
        code, _, err = run_taskly(*args)
        assert code == 3, (args, err)
    # 5: conflict (server 409: a board key or column name that is taken)
    code, _, err = run_taskly("board", "create", "Twice", "--key", "WEB")
    assert code == 5 and "WEB" in err
    assert run_taskly("column", "add", "todo").code == 5
    # 6: offline where a command cannot work without the server
    assert run_taskly("log", "1", "--offline").code == 6
    assert run_taskly("token", "ls", "--offline").code == 6
    code, _, err = run_taskly("board", "create", "Ops", "--key", "OPS", "--offline")
    assert code == 6 and "cannot create a board offline" in err
    # ... but reads and card writes work offline (exit 0)
    assert "queued" in ok("add", "Later", "--offline").stderr


def test_forbidden_is_4_and_the_refused_write_is_undone(server, tmp_path: Path) -> None:
    cli_board(server.url)
    ok("add", "Owner's card")
    viewer = {"TASKLY_HOME": str(tmp_path / "viewer")}
    cli_login(server.url, env=viewer)
    ok("workspace", "join", ok("workspace", "invite", "--role", "viewer").stdout.strip(), env=viewer)
    assert [c["key"] for c in ok("ls", "--json", env=viewer).json()] == ["WEB-1"]
    for args in (("add", "Not allowed"), ("edit", "1", "--title", "No"), ("mv", "1", "done"),
                 ("comment", "1", "hi"), ("rm", "1")):
        code, _, err = run_taskly(*args, env=viewer)
        assert code == 4, (args, err)
    cards = ok("ls", "--json", "--offline", env=viewer).json()
    assert [(c["key"], c["title"], c["column"]) for c in cards] == [("WEB-1", "Owner's card", "Backlog")]
