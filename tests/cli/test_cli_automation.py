"""`taskly board automation show|set|off|reset` through the real executable and server."""

from __future__ import annotations

from pathlib import Path

from tests.cli.support import cli_board, cli_login, ok, run_taskly


def rules(result) -> dict[str, dict]:
    return {rule["event"]: rule for rule in result.json()["rules"]}


def test_show_set_off_and_reset(server, tmp_path: Path) -> None:
    cli_board(server.url)
    shown = rules(ok("board", "automation", "show", "--json"))
    assert shown["pr_opened"]["column"] == "In Review" and shown["pr_opened"]["default"]
    assert shown["pr_merged"]["column"] == "Done" and not shown["pr_closed"]["enabled"]
    table = ok("board", "automation", "show").stdout.splitlines()
    assert "pr_opened\tIn Review\tdefault" in table and "pr_closed\tstays\tdefault" in table

    changed = rules(ok("board", "automation", "set", "opened", "todo", "--json"))
    assert changed["pr_opened"] == {**changed["pr_opened"], "column": "Todo", "enabled": True, "default": False}
    assert rules(ok("board", "automation", "set", "PR-APPROVED", "done", "--json"))["pr_approved"]["column"] == "Done"
    assert not rules(ok("board", "automation", "off", "merged", "--json"))["pr_merged"]["enabled"]
    assert "pr_merged\tstays\tset" in ok("board", "automation", "show").stdout.splitlines()
    reset = rules(ok("board", "automation", "reset", "pr_opened", "--json"))
    assert reset["pr_opened"]["column"] == "In Review" and reset["pr_opened"]["default"]

    unknown_event = run_taskly("board", "automation", "set", "deployed", "Done")
    assert unknown_event.code == 2 and "pr_opened" in unknown_event.stderr
    unknown_column = run_taskly("board", "automation", "set", "opened", "Nowhere")
    assert unknown_column.code == 3 and "In Review" in unknown_column.stderr
    assert run_taskly("board", "automation", "show", "--offline").code == 6

    member = {"TASKLY_HOME": str(tmp_path / "member")}
    cli_login(server.url, env=member)
    token = ok("workspace", "invite", "--role", "member").stdout.strip()
    ok("workspace", "join", token, env=member)
    assert rules(ok("board", "automation", "show", "--json", env=member))["pr_approved"]["column"] == "Done"
    refused = run_taskly("board", "automation", "off", "opened", env=member)
    assert refused.code == 4 and "admin" in refused.stderr
