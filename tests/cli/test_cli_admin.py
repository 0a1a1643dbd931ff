"""Administration through the real executable and server, with --json and exit codes: workspace
rename|rm|leave, member ls|role|rm (the last owner is never removed nor demoted), board
rename|archive|unarchive|rm (archived boards refuse writes with a clear message and are hidden from
`board ls` unless --all), column wip|ls."""

from __future__ import annotations

from tests.cli.support import cli_board, cli_login, ok, run_taskly


def fails(result, code: int, *needles: str) -> str:
    assert result.code == code, (result.code, result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("taskly: "), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr
    return result.stderr


def test_workspace_and_member_administration(server, tmp_path) -> None:
    owner = cli_board(server.url, "ADM")
    workspace = ok("workspace", "ls", "--json").json()[0]["name"]
    other_env = {"TASKLY_HOME": str(tmp_path / "other")}
    other = cli_login(server.url, env=other_env)
    token = ok("workspace", "invite", "--role", "member", "--json").json()["token"]
    ok("workspace", "join", token, env=other_env)

    listed = ok("member", "ls", "--json").json()
    assert {(m["username"], m["role"]) for m in listed} == {(owner, "owner"), (other, "member")}
    assert ok("member", "role", other, "admin", "--json").json()["role"] == "admin"
    fails(run_taskly("member", "role", other, "boss"), 2, "unknown role")
    fails(run_taskly("member", "role", "nobody-here", "admin"), 3)
    fails(run_taskly("member", "role", other, "viewer", "--offline"), 6, "offline")
    # The last owner: never demoted, removed, nor leaving; an admin cannot touch an owner.
    fails(run_taskly("member", "role", owner, "admin"), 5, "last owner")
    fails(run_taskly("member", "rm", owner), 5, "last owner")
    fails(run_taskly("workspace", "leave"), 5, "last owner")
    fails(run_taskly("member", "role", owner, "member", env=other_env), 4, "owner")

    renamed = ok("workspace", "rename", workspace, f"{workspace} two", "--json").json()
    assert renamed["name"] == f"{workspace} two"
    assert [w["name"] for w in ok("workspace", "ls", "--json", env=other_env).json()] == [f"{workspace} two"]
    # the other user's config still names the workspace by its old name: it is found all the same
    assert ok("member", "ls", "--json", env=other_env).json()
    left = ok("workspace", "leave", "--json", env=other_env)
    assert left.json()["name"] == f"{workspace} two" and "Left workspace" in left.stderr
    assert ok("workspace", "ls", "--json", env=other_env).json() == []
    assert [m["username"] for m in ok("member", "ls", "--json").json()] == [owner]

    # rm asks first: without a terminal it needs --yes (exit 2), and then it is gone.
    fails(run_taskly("workspace", "rm", f"{workspace} two"), 2, "--yes")
    fails(run_taskly("workspace", "rm", "no-such-workspace", "--yes"), 3)
    removed = ok("workspace", "rm", f"{workspace} two", "--yes", "--json")
    assert removed.json()["name"] == f"{workspace} two"
    assert ok("workspace", "ls", "--json").json() == []


def test_board_and_column_administration(server) -> None:
    cli_board(server.url, "ADB")
    ok("board", "create", "Second", "--key", "SEC")  # now the current board
    assert ok("board", "rename", "SEC", "Second board", "--json").json()["name"] == "Second board"
    fails(run_taskly("board", "rename", "NOPE", "x"), 3, "no board 'NOPE'")

    wip = ok("column", "wip", "todo", "2", "--json").json()
    assert (wip["name"], wip["wip_limit"]) == ("Todo", 2)
    fails(run_taskly("column", "wip", "todo", "lots"), 2, "WIP limit")
    fails(run_taskly("column", "wip", "nowhere", "3"), 3)
    for title in ("One", "Two", "Three"):
        ok("add", title, "--column", "todo")
    columns = ok("column", "ls", "--json").json()
    assert [(c["position"], c["name"], c["kind"], c["wip_limit"], c["cards"]) for c in columns][:2] == [
        (1, "Backlog", "backlog", None, 0), (2, "Todo", "todo", 2, 3)]
    assert ok("column", "ls").stdout.splitlines()[1].split("\t") == ["2", "Todo", "todo", "2", "3/2"]
    assert ok("column", "wip", "todo", "none", "--json").json()["wip_limit"] is None

    ok("add", "Kept", "--board", "SEC")  # SEC-4
    archived = ok("board", "archive", "SEC", "--json")
    assert archived.json()["archived"] is True and "read-only" in archived.stderr
    assert "SEC" not in [b["key"] for b in ok("board", "ls", "--json").json()]
    assert "SEC" in [b["key"] for b in ok("board", "ls", "--all", "--json").json()]
    # Writes to an archived board are refused with a clear message (exit 5), nothing queued.
    for args in (("add", "Nope", "--board", "SEC"), ("column", "wip", "todo", "3", "--board", "SEC"),
                 ("edit", "SEC-4", "--title", "x"), ("mv", "SEC-4", "done", "--offline"),
                 ("comment", "SEC-4", "a note", "--offline")):
        fails(run_taskly(*args), 5, "SEC is archived", "taskly board unarchive SEC")
    assert ok("status", "--json").json()["queued"] == 0
    assert ok("board", "unarchive", "SEC", "--json").json()["archived"] is False
    ok("add", "Back", "--board", "SEC")

    fails(run_taskly("board", "rm", "SEC"), 2, "--yes")
    assert ok("board", "rm", "SEC", "--yes", "--json").json()["key"] == "SEC"
    assert "SEC" not in [b["key"] for b in ok("board", "ls", "--all", "--json").json()]
