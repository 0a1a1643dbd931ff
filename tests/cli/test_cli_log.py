"""`taskly log --workspace` (the audit log) and `taskly log CARD` through the real executable and
server, with --json and exit codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.cli.support import cli_board, cli_login, ok, run_taskly


def fails(result, code: int, *needles: str) -> None:
    assert result.code == code, (result.code, result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("taskly: "), result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_workspace_log_end_to_end(server, tmp_path) -> None:
    me = cli_board(server.url, "LOG")
    workspace = ok("workspace", "ls", "--json").json()[0]["name"]
    ok("add", "First", "--label", "bug")
    ok("edit", "1", "--title", "Renamed", "--priority", "high")
    ok("mv", "1", "todo")
    ok("comment", "1", "on it")
    ok("column", "wip", "todo", "4")
    other_env = {"TASKLY_HOME": str(tmp_path / "other")}
    token = ok("workspace", "invite", "--role", "member", "--json").json()["token"]
    other = cli_login(server.url, env=other_env)
    ok("workspace", "join", token, env=other_env)
    ok("board", "use", "LOG", env=other_env)
    ok("edit", "1", "--points", "5", env=other_env)

    everything = ok("log", "--workspace", "--json").json()
    seqs = [c["seq"] for c in everything]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == len(set(seqs))
    renamed = next(c for c in everything if c["entity_type"] == "card" and "title" in c["changes"]
                   and c["op"] == "update")
    assert renamed["changes"]["title"] == {"old": "First", "new": "Renamed"} and renamed["actor"]["name"] == me
    assert {c["entity_type"] for c in everything} >= {"workspace", "member", "board", "column", "card",
                                                      "comment", "label"}

    by_other = ok("log", "--workspace", "--user", other, "--json").json()
    assert {(c["entity_type"], c["op"]) for c in by_other} == {("member", "create"), ("card", "update")}
    assert all(c["actor"]["name"] == other for c in by_other)
    mine = ok("log", "--workspace", "--user", "me", "--entity", "card", "--json").json()
    assert mine and all(c["actor"]["name"] == me and c["entity_type"] == "card" for c in mine)
    assert ok("log", "--workspace", workspace, "--entity", "comment", "--json").json()[0]["changes"]["body"] == {
        "old": None, "new": "on it"}
    tomorrow = str((datetime.now(UTC) + timedelta(days=1)).date())
    assert ok("log", "--workspace", "--since", tomorrow, "--json").json() == []
    assert len(ok("log", "--workspace", "--since", "today", "--until", "today", "--json").json()) == len(everything)
    assert len(ok("log", "--workspace", "-n", "3", "--json").json()) == 3

    table = ok("log", "--workspace", "--entity", "card").stdout.splitlines()  # a pipe: tab-separated
    row = next(line.split("\t") for line in table if "title: First → Renamed" in line)
    assert row[2:5] == [me, "card LOG-1", "update"]
    # a card's own log still works, and filters narrow it through the audit log
    assert any(c["op"] == "move" for c in ok("log", "1", "--json").json())
    assert {c["actor"]["name"] for c in ok("log", "1", "--user", other, "--json").json()} == {other}

    fails(run_taskly("log", "--workspace", "--entity", "robot"), 2, "unknown entity")
    fails(run_taskly("log", "--workspace", "--since", "someday"), 2, "--since")
    fails(run_taskly("log", "--workspace", "--user", "nobody-at-all"), 3)
    fails(run_taskly("log", "--workspace", "--offline"), 6, "offline")
    fails(run_taskly("log", "--workspace", "no-such-workspace"), 3)
