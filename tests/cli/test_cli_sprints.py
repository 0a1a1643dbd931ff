"""Sprint commands through the real executable and server: create, ls, show, burndown, add, remove,
close (with carry-over), edit, rm; `add/edit --sprint`, `ls --sprint`; offline sprint writes landing
once; the demo's sprint with a real burndown."""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.cli.support import cli_board, ok, run_taskly
from tests.support.api import Api
from tests.support.processes import start_server


def keys(cards: list[dict]) -> list[str]:
    return [card["key"] for card in cards]


def utc_today() -> date:
    return datetime.now(UTC).date()


def one_line_error(result, code: int, *needles: str) -> None:
    assert result.code == code, (result.code, result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("taskly: "), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_sprint_commands_end_to_end(server) -> None:
    cli_board(server.url)
    for title, column, points in (("Login", "todo", 3), ("Search", "todo", 5), ("Export", "todo", 8),
                                  ("Docs", "done", 2)):
        ok("add", title, "--column", column, "--points", str(points))
    today = utc_today()

    created = ok("sprint", "create", "Sprint 1", "--start", "today", "--end", "+2w", "--goal", "Ship search",
                 "--capacity", "10", "--json")
    sprint = created.json()
    assert "Created sprint Sprint 1" in created.stderr
    assert (sprint["name"], sprint["start_date"], sprint["end_date"]) == (
        "Sprint 1", str(date.today()), str(date.today() + timedelta(days=14)))
    assert (sprint["goal"], sprint["capacity_points"], sprint["status"], sprint["overdue"]) == (
        "Ship search", 10, "active", False)

    one_line_error(run_taskly("sprint", "create", "Later", "--start", "someday", "--end", "+1w"), 2, "--start")
    one_line_error(run_taskly("sprint", "create", "Later", "--start", "+1w", "--end", "today"), 2, "before")
    one_line_error(run_taskly("sprint", "create", "sprint 1", "--start", "+30d", "--end", "+31d"), 5)
    one_line_error(run_taskly("sprint", "create", "Overlap", "--start", "+3d", "--end", "+4d"), 5, "overlaps sprint Sprint 1")
    one_line_error(run_taskly("sprint", "show", "Nope"), 3, "no sprint 'Nope'", "Sprint 1")
    one_line_error(run_taskly("sprint", "add", "Nope", "1"), 3)
    one_line_error(run_taskly("ls", "--sprint", "Nope"), 3)
    one_line_error(run_taskly("sprint", "add", "Sprint 1", "WEB-99"), 3)

    added = ok("sprint", "add", "sprint 1", "1", "WEB-2", "4")
    assert added.stdout.split() == ["WEB-1", "WEB-2", "WEB-4"] and "warning" not in added.stderr
    over = ok("sprint", "add", "Sprint 1", "3", "--json")  # 3 + 5 + 2 + 8 = 18 of 10
    assert [(c["key"], c["sprint_id"]) for c in over.json()] == [("WEB-3", sprint["id"])]
    assert "warning: sprint Sprint 1 is over capacity by 8 points: 18 committed, capacity 10" in over.stderr
    assert keys(ok("ls", "--sprint", "current", "--json").json()) == ["WEB-1", "WEB-2", "WEB-3", "WEB-4"]
    assert keys(ok("ls", "--sprint", "SPRINT 1", "--column", "done", "--json").json()) == ["WEB-4"]

    listed = ok("sprint", "ls", "--json").json()
    assert [(s["name"], s["card_count"], s["committed_points"], s["completed_points"], s["remaining_points"],
             s["over_capacity"]) for s in listed] == [("Sprint 1", 4, 18, 2, 16, True)]
    rows = ok("sprint", "ls").stdout.splitlines()
    assert rows[0].split("\t")[:5] == ["Sprint 1", "active", str(date.today()), str(date.today() + timedelta(14)),
                                       "18/10"]

    shown = ok("sprint", "show", "--json").json()
    assert shown["name"] == "Sprint 1" and keys(shown["cards"]) == ["WEB-1", "WEB-2", "WEB-3", "WEB-4"]
    assert shown["burndown"][-1]["date"] == str(today)
    assert (shown["burndown"][-1]["scope_points"], shown["burndown"][-1]["completed_points"],
            shown["burndown"][-1]["remaining_points"]) == (18, 2, 16)
    text = ok("sprint", "show").stdout
    assert "Sprint 1  active" in text and "18 committed of 10 (over by 8)" in text and "Ship search" in text
    assert "Todo (3, 16 points)" in text and "Done (1, 2 points)" in text
    assert text.index("WEB-1") < text.index("Done (1") < text.index("WEB-4")

    days = ok("sprint", "burndown", "--json").json()
    assert days["sprint"]["name"] == "Sprint 1" and days["days"][-1]["scope_points"] == 18
    chart = ok("sprint", "burndown", "Sprint 1").stdout
    assert "Sprint 1 burndown" in chart and "remaining" in chart and "ideal" in chart and "scope" in chart
    assert "┌" in chart and f"{today}: 16 remaining of 18" in chart

    card = ok("add", "Hotfix", "--points", "1", "--sprint", "current", "--json").json()
    assert card["sprint_id"] == sprint["id"]
    assert ok("edit", "5", "--sprint", "none", "--json").json()["sprint_id"] is None
    assert ok("edit", "5", "--sprint", "Sprint 1", "--json").json()["sprint_id"] == sprint["id"]
    removed = ok("sprint", "remove", "5", "WEB-3", "--json").json()
    assert [(c["key"], c["sprint_id"]) for c in removed] == [("WEB-5", None), ("WEB-3", None)]
    assert keys(ok("ls", "--sprint", "current", "--json").json()) == ["WEB-1", "WEB-2", "WEB-4"]

    edited = ok("sprint", "edit", "Sprint 1", "--name", "Sprint One", "--capacity", "30", "--goal", "none",
                "--json").json()
    assert (edited["name"], edited["capacity_points"], edited["goal"], edited["over_capacity"]) == (
        "Sprint One", 30, None, False)
    one_line_error(run_taskly("sprint", "edit", "Sprint One"), 2, "nothing to change")
    one_line_error(run_taskly("sprint", "edit", "Sprint One", "--end", "2000-01-01"), 2, "before")

    nxt = ok("sprint", "create", "Sprint 2", "--start", "+15d", "--end", "+4w", "--json").json()
    assert nxt["status"] == "planned" and nxt["capacity_points"] == 40
    refused = run_taskly("sprint", "edit", "Sprint 2", "--name", "sprint one")  # the server's 409, told at once
    one_line_error(refused, 5)
    assert [s["name"] for s in ok("sprint", "ls", "--json").json()] == ["Sprint One", "Sprint 2"]
    closed = ok("sprint", "close", "--carry-over-to", "sprint 2", "--json").json()  # the active one
    assert closed["name"] == "Sprint One" and closed["status"] == "completed" and closed["closed_at"]
    # the unfinished cards moved on, the done one stays in the closed sprint
    assert keys(ok("ls", "--sprint", "Sprint 2", "--json").json()) == ["WEB-1", "WEB-2"]
    assert keys(ok("ls", "--sprint", "Sprint One", "--json").json()) == ["WEB-4"]
    one_line_error(run_taskly("sprint", "close", "Sprint One"), 2, "already closed")
    one_line_error(run_taskly("ls", "--sprint", "current"), 3, "no active sprint")

    removed = ok("sprint", "rm", "Sprint 2", "--json").json()
    assert removed["name"] == "Sprint 2" and removed["deleted_at"]
    assert [s["name"] for s in ok("sprint", "ls", "--json").json()] == ["Sprint One"]
    assert ok("show", "WEB-1", "--json").json()["sprint_id"] is None


def test_sprint_writes_queue_offline_and_land_once(server, server_env, tmp_path: Path) -> None:
    private = start_server(server_env, tmp_path / "first")
    port = urlsplit(private.url).port
    try:
        user = cli_board(private.url)
        for title, points in (("One", 3), ("Two", 5), ("Three", 8)):
            ok("add", title, "--column", "todo", "--points", str(points))
        ok("mv", "3", "done")
        workspace_id = ok("workspace", "ls", "--json").json()[0]["id"]
        private.stop()

        created = ok("sprint", "create", "S1", "--start", "today", "--end", "+1w", "--json")
        assert "queued" in created.stderr and created.json()["version"] == 0
        added = ok("sprint", "add", "S1", "1", "2", "3")
        assert added.stderr.count("queued") == 3 and "warning" not in added.stderr
        edited = ok("sprint", "edit", "S1", "--capacity", "12")
        assert "queued" in edited.stderr
        again = ok("sprint", "add", "S1", "3")  # already in it: nothing written, still over capacity
        assert "nothing to change" in again.stderr and "over capacity by 4 points: 16 committed" in again.stderr
        ok("sprint", "create", "S2", "--start", "+8d", "--end", "+2w")
        shown = ok("sprint", "show", "S1", "--offline", "--json").json()
        assert keys(shown["cards"]) == ["WEB-1", "WEB-2", "WEB-3"] and shown["burndown"] is None
        assert (shown["committed_points"], shown["completed_points"], shown["over_capacity"]) == (16, 8, True)
        assert keys(ok("ls", "--sprint", "current", "--offline", "--json").json()) == ["WEB-1", "WEB-2", "WEB-3"]
        queued = len(ok("status", "--offline", "--json").json()["pending"])
        assert "queued" in ok("sprint", "close", "S1", "--carry-over-to", "S2").stderr
        # the close shows its whole effect before any sync: its unfinished cards are in S2 already
        assert keys(ok("ls", "--offline", "--sprint", "S2", "--json").json()) == ["WEB-1", "WEB-2"]
        assert keys(ok("ls", "--offline", "--sprint", "S1", "--json").json()) == ["WEB-3"]
        pending = ok("status", "--offline", "--json").json()["pending"]
        assert len(pending) == queued + 1 and pending[-1]["operation"] == "sprint.close"
        one_line_error(run_taskly("sprint", "burndown", "S1"), 6, "offline")

        private = start_server(server_env, tmp_path / "second", port=port)
        synced = ok("sync")
        assert "pushed" in synced.stderr or "pushed" in synced.stdout
        assert run_taskly("sync").code == 0

        sprints = {s["name"]: s for s in ok("sprint", "ls", "--json").json()}
        assert sprints["S1"]["status"] == "completed" and sprints["S1"]["capacity_points"] == 12
        assert sprints["S2"]["status"] == "planned"
        assert keys(ok("ls", "--sprint", "S2", "--json").json()) == ["WEB-1", "WEB-2"]
        assert keys(ok("ls", "--sprint", "S1", "--json").json()) == ["WEB-3"]

        other = Api.login(server.url, user)
        feed = other.ok("GET", f"/workspaces/{workspace_id}/changes", params={"since": 0})["changes"]
        mine = [c for c in feed if c["mutation_id"]]
        assert all(n == 1 for n in Counter((c["mutation_id"], c["entity_id"]) for c in mine).values())
        sprint_ops = Counter((c["op"], (c["data"] or {}).get("name")) for c in feed if c["entity_type"] == "sprint")
        assert sprint_ops[("create", "S1")] == 1 and sprint_ops[("create", "S2")] == 1
        joined = [c for c in feed if c["entity_type"] == "card" and c["mutation_id"]
                  and (c["changes"].get("sprint_id") or {}).get("new") == sprints["S1"]["id"]]
        assert len(joined) == 3
        carried = [c for c in feed if c["entity_type"] == "card"
                   and (c["changes"].get("sprint_id") or {}).get("new") == sprints["S2"]["id"]]
        assert sorted((c["data"] or {}).get("key") for c in carried) == ["WEB-1", "WEB-2"]  # moved once each
        assert ok("status", "--json").json()["queued"] == 0
    finally:
        private.stop()


@pytest.fixture
def demo_home():
    """A clean home under /tmp: the embedded PostgreSQL must not live below root's home."""
    home = Path(tempfile.mkdtemp(prefix="taskly-demo-sprint-", dir="/tmp"))
    env = {"TASKLY_HOME": str(home)}
    yield env
    run_taskly("demo", "--stop", env=env, timeout=60)
    shutil.rmtree(home, ignore_errors=True)


def test_the_demo_has_an_active_sprint_with_a_real_burndown(demo_home) -> None:
    env = demo_home
    first = run_taskly("demo", "--no-tui", env=env, timeout=240)
    assert first.code == 0, first.stderr
    cards = ok("ls", "--json", env=env).json()
    sprint = ok("sprint", "show", "--json", env=env).json()
    assert sprint["status"] == "active" and sprint["goal"]
    assert 0.5 <= len(sprint["cards"]) / len(cards) <= 0.8  # about two-thirds of the cards
    days = sprint["burndown"]
    assert len(days) >= 5 and days[0]["date"] == sprint["start_date"] and days[-1]["date"] == str(utc_today())
    completed = [day["completed_points"] for day in days]
    assert completed == sorted(completed) and completed[0] < completed[-1]  # cards were done on earlier days
    assert len({day["completed_points"] for day in days}) >= 3
    assert len({day["scope_points"] for day in days}) >= 2  # scope changed mid-sprint
    chart = ok("sprint", "burndown", env=env).stdout
    assert "burndown" in chart and "┌" in chart and "remaining" in chart

    again = run_taskly("demo", "--no-tui", env=env, timeout=240)  # nothing duplicated
    assert again.code == 0, again.stderr
    assert [s["name"] for s in ok("sprint", "ls", "--json", env=env).json()] == [sprint["name"]]
    assert ok("sprint", "burndown", "--json", env=env).json()["days"] == days
