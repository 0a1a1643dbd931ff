"""Issue 13: the CLI never loses a write to a database outage.

While the server's PostgreSQL (a cluster of the test's own) is stopped, the server answers 503
`service_unavailable`, and while it is frozen the server, then the CLI, run out of time: either way
`taskly add` exits 0 with the write queued, and `taskly sync` after the outage lands it exactly
once (its mutation id makes a repeated push a replay).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.support import cli_board, ok
from tests.conftest import SECRET
from tests.support.api import Api
from tests.support.outages import ThrowawayPostgres
from tests.support.processes import ServerProcess, start_server

pytestmark = pytest.mark.timeout(120)

WRITE_BOUND = 8.0
"""Seconds `taskly add` may take against a hung server: start-up, the 1.5 s pull before it, the
1.5 s push (it took 12 s when writes waited out the full HTTP timeout), and a busy machine."""


@pytest.fixture(scope="module")
def pg() -> Iterator[ThrowawayPostgres]:
    with ThrowawayPostgres.create() as pg:
        yield pg


@pytest.fixture
def server(pg: ThrowawayPostgres, tmp_path: Path) -> Iterator[ServerProcess]:
    process = start_server({"TASKLY_DATABASE_URL": pg.url, "TASKLY_SECRET_KEY": SECRET,
                            "TASKLY_DEV_LOGIN": "1", "TASKLY_WORKER_IN_PROCESS": "false",
                            "TASKLY_REQUEST_TIMEOUT": "2"}, tmp_path)
    yield process
    process.stop()


def server_titles(server: ServerProcess, username: str) -> Counter:
    """How many cards of each title the server has in the user's workspace."""
    api = Api.login(server.url, username)
    [workspace] = api.ok("GET", "/workspaces")
    snapshot = api.ok("GET", f"/workspaces/{workspace['id']}/snapshot")
    return Counter(card["title"] for card in snapshot["cards"])


def sync_until_pushed(attempts: int = 10) -> None:
    """`taskly sync` until the outbox is empty (the first push may meet a connection the
    server's pool has not yet found dead: a 503, and the write stays queued)."""
    for _ in range(attempts):
        ok("sync")
        if ok("status", "--json", "--offline").json()["queued"] == 0:
            return
        time.sleep(0.5)
    raise AssertionError("queued writes were never pushed")


@pytest.mark.parametrize("outage", ["stopped", "frozen"])
def test_a_write_during_a_database_outage_is_queued_and_lands_once(
        outage: str, server: ServerProcess, pg: ThrowawayPostgres) -> None:
    username = cli_board(server.url)
    ok("add", "Before the outage")
    pg.stop() if outage == "stopped" else pg.freeze()
    try:
        started = time.monotonic()
        added = ok("add", "During the outage", "--json")
        elapsed = time.monotonic() - started
        assert "queued" in added.stderr, added.stderr
        assert added.json()["key"] == ""
        assert elapsed < WRITE_BOUND, f"taskly add took {elapsed:.1f} s"
        cached = ok("ls", "--json")
        assert "showing cached data" in cached.stderr
        assert sorted(card["title"] for card in cached.json()) == ["Before the outage", "During the outage"]
    finally:
        pg.start() if outage == "stopped" else pg.thaw()

    sync_until_pushed()
    titles = server_titles(server, username)
    assert titles == {"Before the outage": 1, "During the outage": 1}, titles
    assert sorted(card["key"] for card in ok("ls", "--json").json()) == ["WEB-1", "WEB-2"]
    assert "Traceback" not in server.log()
