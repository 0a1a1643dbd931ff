"""`taskly demo` on a clean TASKLY_HOME: a real background server on the embedded PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.cli.support import ok, run_taskly

COLUMNS = ["Backlog", "Todo", "In Progress", "In Review", "Done"]


def processes_mentioning(text: str) -> list[int]:
    """Pids whose command line contains `text` (the embedded postgres runs with `-D DATA_DIR`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text() if Path(f"/proc/{pid}/stat").exists() else ""
    return bool(stat) and stat.rsplit(")", 1)[-1].split()[0] != "Z"


@pytest.fixture
def demo_home():
    """A clean home under /tmp: the embedded PostgreSQL must not live below root's home."""
    home = Path(tempfile.mkdtemp(prefix="taskly-demo-test-", dir="/tmp"))
    env = {"TASKLY_HOME": str(home)}
    yield home, env
    run_taskly("demo", "--stop", env=env, timeout=60)
    shutil.rmtree(home, ignore_errors=True)


def test_demo_creates_reuses_and_stops(demo_home) -> None:
    home, env = demo_home
    first = run_taskly("demo", "--no-tui", env=env, timeout=180)
    assert first.code == 0, first.stderr
    assert first.stdout.startswith("DEMO · Demo\n")
    header = first.stdout.splitlines()[1].split("\t")  # in a pipe: the column names, as the README says
    assert [name.rsplit(" (", 1)[0] for name in header] == COLUMNS and header[0].startswith("Backlog (")
    keys = re.findall(r"\bDEMO-\d+\b", first.stdout)
    assert sorted(keys, key=lambda k: int(k.split("-")[1])) == [f"DEMO-{n}" for n in range(1, 16)]
    assert "created 15 cards" in first.stderr and "started" in first.stderr
    state = json.loads((home / "data" / "demo" / "demo.json").read_text())
    assert alive(state["pid"]) and state["url"] == f"http://127.0.0.1:{state['port']}"

    # The demo user is logged in and the demo board is the current one.
    status = ok("status", "--json", env=env).json()
    assert status["user"]["username"] == "demo" and status["server"]["url"] == state["url"]
    assert (status["workspace"]["name"], status["board"]["name"]) == ("Demo", "DEMO")
    cards = ok("ls", "--json", env=env).json()
    assert len(cards) == 15 and {card["column"] for card in cards} == set(COLUMNS)
    assert {name for card in cards for name in card["assignees"]} == {"demo", "maya", "lee"}
    assert all(card["labels"] and card["priority"] for card in cards)
    assert sum(card["due"] is not None for card in cards) >= 10
    assert sum(card["points"] or 0 for card in cards) > 40
    shown = ok("show", "DEMO-8", "--json", env=env).json()
    assert shown["title"] == "Fix login redirect loop on expired sessions"
    assert [c["author"] for c in shown["comments"]] == ["maya", "demo"]

    # Again: the same server process and the same cards, nothing duplicated.
    second = run_taskly("demo", "--no-tui", "--json", env=env, timeout=120)
    assert second.code == 0, second.stderr
    detail = second.json()
    assert detail["key"] == "DEMO" and [c["name"] for c in detail["columns"]] == COLUMNS
    assert sorted(c["key"] for c in detail["cards"]) == sorted(c["key"] for c in cards)
    assert "running" in second.stderr and "created" not in second.stderr
    assert json.loads((home / "data" / "demo" / "demo.json").read_text())["pid"] == state["pid"]

    # a card renamed since: another run creates nothing and says what it found
    ok("edit", "DEMO-3", "--title", "Renamed by hand", env=env)
    third = run_taskly("demo", "--no-tui", env=env, timeout=120)
    assert third.code == 0, third.stderr
    assert "demo data already present: 15 cards on DEMO" in third.stderr and "created" not in third.stderr
    assert "Renamed by hand" in third.stdout and len(ok("ls", "--json", env=env).json()) == 15

    pgdata = str(home / "data" / "demo" / "server" / "postgres")
    assert processes_mentioning(pgdata), "the embedded PostgreSQL should run in the demo's home"
    stopped = run_taskly("demo", "--stop", "--json", env=env, timeout=60)
    assert stopped.code == 0 and stopped.json() == {"server": state["url"], "stopped": True}
    assert not alive(state["pid"])
    assert processes_mentioning(pgdata) == []
    again = run_taskly("demo", "--stop", env=env)
    assert again.code == 0 and "not running" in again.stderr


def test_demo_stop_also_stops_the_postgres_of_a_killed_server(demo_home) -> None:
    home, env = demo_home
    assert run_taskly("demo", "--no-tui", env=env, timeout=180).code == 0
    state = json.loads((home / "data" / "demo" / "demo.json").read_text())
    pgdata = str(home / "data" / "demo" / "server" / "postgres")
    os.kill(state["pid"], 9)  # no exit hook: its PostgreSQL stays behind
    assert processes_mentioning(pgdata)
    assert run_taskly("demo", "--stop", env=env, timeout=60).code == 0
    assert processes_mentioning(pgdata) == []
    # and the next demo starts a server again on the same port, over the same data
    restarted = run_taskly("demo", "--no-tui", "--json", env=env, timeout=180)
    assert restarted.code == 0, restarted.stderr
    assert len(restarted.json()["cards"]) == 15
    assert json.loads((home / "data" / "demo" / "demo.json").read_text())["port"] == state["port"]


def test_demo_leaves_your_setup_alone(demo_home, server) -> None:
    _, env = demo_home
    env = {**env, "TASKLY_SERVER": None}
    ok("login", "--server", server.url, "--dev", f"own-{uuid.uuid4().hex[:8]}", env=env)
    ok("workspace", "create", "Mine", env=env)
    ok("board", "create", "Mine", "--key", "MINE", env=env)

    def timeless(value):
        """`taskly status --json` without its timing fields (latency, when it last synced)."""
        if isinstance(value, dict):
            return {k: timeless(v) for k, v in value.items() if k not in ("latency_ms", "last_sync", "ago")}
        return [timeless(v) for v in value] if isinstance(value, list) else value

    def status() -> dict:
        return timeless(ok("status", "--json", env=env).json())

    before = status()
    started = run_taskly("demo", "--no-tui", env=env, timeout=180)
    assert started.code == 0, started.stderr
    assert f"in place of {server.url}, workspace Mine, board MINE" in started.stderr
    assert ok("status", "--json", env=env).json()["board"]["name"] == "DEMO"
    stopped = run_taskly("demo", "--stop", env=env, timeout=60)
    assert stopped.code == 0 and "current again" in stopped.stderr
    assert status() == before
