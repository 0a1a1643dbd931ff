"""`taskly comment [CARD] TEXT|edit ID|rm ID` and `taskly comments CARD` through the real executable
and server, with --json and exit codes: short ids in `show` and `comments`, edited comments say
so, only the author edits, the author or an admin deletes, an offline edit lands once."""

from __future__ import annotations

from tests.cli.support import cli_board, cli_login, ok, run_taskly


def fails(result, code: int, *needles: str) -> None:
    assert result.code == code, (result.code, result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("taskly: "), result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_comment_commands_end_to_end(server, tmp_path) -> None:
    cli_board(server.url, "CMT")
    ok("add", "Discuss")
    added = ok("comment", "1", "hello", "world", "--json")
    comment = added.json()
    short = comment["id"].replace("-", "")[:8]
    assert comment["body"] == "hello world" and f"Comment {short} added" in added.stderr

    listed = ok("comments", "1", "--json").json()
    assert [(c["id"], c["body"], c["edited"]) for c in listed] == [(comment["id"], "hello world", False)]
    line = ok("comments", "CMT-1").stdout.strip().split("\t")
    assert (line[0], line[3], line[4]) == (short, "", "hello world")
    assert short in ok("show", "1").stdout

    edited = ok("comment", "edit", short, "hello there", "--json").json()
    assert (edited["body"], edited["edited"]) == ("hello there", True)
    assert "(edited)" in ok("show", "1").stdout
    assert ok("comments", "1").stdout.strip().split("\t")[3] == "edited"
    by_editor = ok("comment", "edit", short, "-e", "--json", env={"EDITOR": "sed -i s/there/again/"}).json()
    assert by_editor["body"] == "hello again"
    fails(run_taskly("comment", "edit", short), 2, "TEXT or -e")
    fails(run_taskly("comment", "edit", "zzzz", "x"), 3, "no comment")
    fails(run_taskly("comment", "edit", "00000000", "x"), 3)
    fails(run_taskly("comments", "CMT-99"), 3)

    # Someone else: may not edit (4); a member may not delete it either (4).
    other_env = {"TASKLY_HOME": str(tmp_path / "other")}
    token = ok("workspace", "invite", "--role", "member", "--json").json()["token"]
    cli_login(server.url, env=other_env)
    ok("workspace", "join", token, env=other_env)
    ok("board", "use", "CMT", env=other_env)
    ok("comments", "1", env=other_env)  # caches them
    fails(run_taskly("comment", "edit", short, "mine now", env=other_env), 4, "only the author")
    fails(run_taskly("comment", "rm", short, env=other_env), 4, "author or a workspace admin")
    theirs = ok("comment", "1", "a member's note", "--json", env=other_env).json()

    # Offline: queued, then pushed once.
    queued = ok("comment", "edit", short, "written offline", "--offline")
    assert "queued" in queued.stderr
    assert ok("comments", "1", "--json", "--offline").json()[0]["body"] == "written offline"
    ok("sync")
    server_side = ok("comments", "1", "--json", env=other_env).json()
    assert [c["body"] for c in server_side] == ["written offline", "a member's note"]

    # The owner (an admin) deletes the member's comment and their own.
    ok("comments", "1")
    removed = ok("comment", "rm", theirs["id"][:8], "--json").json()
    assert removed["deleted"] is True
    ok("comment", "rm", short)
    assert ok("comments", "1", "--json").json() == []
    fails(run_taskly("comment", "rm", short), 3)
