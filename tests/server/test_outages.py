"""Issue 13: a failing dependency is a 503, never a 500, and the server recovers by itself.

PostgreSQL stopped or frozen (a cluster of the test's own: `tests.support.outages`), Redis stopped
and restarted (a redis-server of the test's own): every route answers 503 problem details
(`service_unavailable`, `Retry-After`) with one warning line and no traceback in the log, within
`TASKLY_REQUEST_TIMEOUT` when the database hangs; the same server process answers 200 once the
dependency is back; cross-replica realtime resubscribes by itself and delivers what it missed;
SIGTERM ends a server holding a WebSocket within `TASKLY_SHUTDOWN_TIMEOUT`, closing it with 1001.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import SECRET
from tests.server.test_create_branch import build_world
from tests.server.test_feed import add, setup_board
from tests.server.test_realtime import Client, call, head_of
from tests.support.api import Api
from tests.support.fake_github import FakeGitHub
from tests.support.github_stack import GitHubStack
from tests.support.outages import ThrowawayPostgres, ThrowawayRedis
from tests.support.processes import ServerProcess, replica_pair, start_server

pytestmark = pytest.mark.timeout(120)

SLACK = 8.0
"""Seconds allowed over a configured timeout (process scheduling on a busy 2-core machine)."""


@pytest.fixture(scope="module")
def pg() -> Iterator[ThrowawayPostgres]:
    with ThrowawayPostgres.create() as pg:
        yield pg


@pytest.fixture(scope="module")
def own_redis() -> Iterator[ThrowawayRedis]:
    with ThrowawayRedis.start() as redis:
        yield redis


@pytest.fixture
def redis(own_redis: ThrowawayRedis) -> ThrowawayRedis:
    """The module's redis-server, running (the test before may have left it stopped); each test
    uses queue names of its own."""
    if not own_redis.running:
        own_redis.restart()
    return own_redis


def pg_env(pg: ThrowawayPostgres, **extra: str) -> dict[str, str]:
    return {"TASKLY_DATABASE_URL": pg.url, "TASKLY_SECRET_KEY": SECRET, "TASKLY_DEV_LOGIN": "1",
            "TASKLY_WORKER_IN_PROCESS": "false", **extra}


def assert_unavailable(response: httpx.Response, what: str) -> None:
    assert response.status_code == 503, f"{what} -> {response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json"), what
    assert response.json()["code"] == "service_unavailable", f"{what}: {response.text}"
    assert int(response.headers["retry-after"]) > 0, what


def eventually_ok(send, seconds: float = 15) -> tuple[httpx.Response, float]:
    """The first 2xx of `send()` (retried), and how long it took."""
    started = time.monotonic()
    while True:
        response = send()
        if response.is_success:
            return response, time.monotonic() - started
        assert response.status_code == 503, response.text
        assert time.monotonic() - started < seconds, f"still {response.status_code}: {response.text}"
        time.sleep(0.2)


def outage_requests(api: Api, board: dict, card: dict, workspace_id: str) -> dict[str, httpx.Response]:
    """One of each kind of request the issue lists."""
    return {
        "me": api.get("/me"),
        "card read": api.get(f"/cards/{card['key']}"),
        "card create": api.post(f"/boards/{board['id']}/cards", json={"title": "during the outage"},
                                headers={"Idempotency-Key": uuid.uuid4().hex}),
        "card move": api.post(f"/cards/{card['key']}/move", json={"column": "Done"}),
        "changes": api.get(f"/workspaces/{workspace_id}/changes", params={"since": 0}),
        "dev-login": httpx.post(f"{api.base_url}/api/v1/auth/dev-login", json={"username": "someone"}),
        "refresh": httpx.post(f"{api.base_url}/api/v1/auth/refresh",
                              json={"refresh_token": api.refresh_token}),
    }


# --- PostgreSQL --------------------------------------------------------------------------------


REQUEST_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def pg_server(pg: ThrowawayPostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server on the module's cluster for the stopped and the frozen database (each test
    leaves the database running); it must still exit cleanly at the end."""
    server = start_server(pg_env(pg, TASKLY_REQUEST_TIMEOUT=str(REQUEST_TIMEOUT)),
                          tmp_path_factory.mktemp("pg-outages"))
    yield server
    server.stop()
    assert server.process.returncode == 0, server.log()[-3000:]
    assert "Traceback" not in server.log(), server.log()[-5000:]


def test_a_stopped_database_is_a_503_and_the_same_server_recovers(pg: ThrowawayPostgres,
                                                                   pg_server: ServerProcess) -> None:
    server, logged_before = pg_server, len(pg_server.log())
    api = Api.login(server.url)
    workspace, board = setup_board(api)
    card = add(api, board, "before the outage")
    pg.stop()
    try:
        for what, response in outage_requests(api, board, card, workspace["id"]).items():
            assert_unavailable(response, what)
        ready = httpx.get(f"{server.url}/health/ready")
        assert ready.status_code == 503 and ready.json()["database"].startswith("unreachable")
    finally:
        pg.start()
    me, _ = eventually_ok(lambda: api.get("/me"))
    assert me.json()["username"] == api.username
    created = api.ok("POST", f"/boards/{board['id']}/cards", json={"title": "after the outage"})
    assert created["key"] == "WEB-2"  # the card create during the outage never happened
    assert api.ok("POST", f"/cards/{card['key']}/move", json={"column": "Done"})["column"] == "Done"
    assert httpx.get(f"{server.url}/health/ready").status_code == 200
    log = server.log()[logged_before:]
    assert "Traceback" not in log, log[-5000:]
    assert log.count('"event":"dependency_unavailable"') >= 7
    assert '"status":500' not in log


def test_a_frozen_database_is_a_503_within_the_request_timeout(pg: ThrowawayPostgres,
                                                                pg_server: ServerProcess) -> None:
    server, logged_before, timeout = pg_server, len(pg_server.log()), REQUEST_TIMEOUT
    api = Api.login(server.url)
    _, board = setup_board(api)
    card = add(api, board, "before the freeze")
    pg.freeze()
    try:
        requests = {
            "card read": lambda: api.get(f"/cards/{card['key']}"),
            "card create": lambda: api.post(f"/boards/{board['id']}/cards", json={"title": "frozen"}),
            "card move": lambda: api.post(f"/cards/{card['key']}/move", json={"column": "Done"}),
        }

        def timed(send: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
            started = time.monotonic()
            return send(), time.monotonic() - started

        with ThreadPoolExecutor(len(requests)) as pool:  # side by side: each waits its timeout
            answers = dict(zip(requests, pool.map(timed, requests.values()), strict=True))
        for what, (response, elapsed) in answers.items():
            assert_unavailable(response, what)
            assert elapsed < timeout + SLACK, f"{what} answered after {elapsed:.1f} s"
        assert httpx.get(f"{server.url}/health/live", timeout=timeout + SLACK).status_code == 200
    finally:
        pg.thaw()
    eventually_ok(lambda: api.get(f"/cards/{card['key']}"))
    api.ok("POST", f"/boards/{board['id']}/cards", json={"title": "after the freeze"})
    log = server.log()[logged_before:]
    assert "Traceback" not in log, log[-5000:]
    assert log.count('"event":"request_timed_out"') >= len(requests), log[-5000:]


# --- Redis: the job queue ----------------------------------------------------------------------


@pytest.fixture
def redis_stack(fake: FakeGitHub, github_database: str, redis: ThrowawayRedis,
                tmp_path: Path) -> Iterator[GitHubStack]:
    """Server and worker on the test's own Redis (queue and realtime)."""
    stack = GitHubStack.start(tmp_path, github_database, fake, redis_url=redis.url)
    yield stack
    stack.stop()


def test_while_redis_is_down_queue_routes_answer_503_and_ready_names_it(
        redis_stack: GitHubStack, redis: ThrowawayRedis, fake: FakeGitHub) -> None:
    world = build_world(redis_stack, fake)
    started = world.owner.ok("POST", f"/cards/{world.card('first')['key']}/create-branch", json={})
    redis_stack.wait_job(world.owner, started["job_id"])
    second = world.card("second")
    assert httpx.get(f"{redis_stack.url}/health/ready").json()["redis"] == "ok"

    redis.stop()
    try:
        owner = world.owner
        assert_unavailable(owner.post(f"/cards/{second['key']}/create-branch", json={}), "create-branch")
        assert_unavailable(owner.get(f"/jobs/{started['job_id']}"), "GET /jobs/{id}")
        assert_unavailable(owner.post(f"/workspaces/{world.workspace_id}/repositories",
                                      json={"full_name": f"acme-{uuid.uuid4().hex[:6]}/api"}),
                           "repository connect")
        ready = httpx.get(f"{redis_stack.url}/health/ready")
        assert ready.status_code == 503, ready.text
        assert ready.json()["redis"].startswith("unreachable") and "redis" in ready.json()["detail"]
        assert ready.json()["database"] == "ok"
        assert owner.get(f"/cards/{second['key']}").status_code == 200  # the rest keeps working
    finally:
        redis.restart()
    job, _ = eventually_ok(lambda: world.owner.post(f"/cards/{second['key']}/create-branch", json={}))
    assert redis_stack.wait_job(world.owner, job.json()["job_id"])["status"] == "complete"
    assert httpx.get(f"{redis_stack.url}/health/ready").status_code == 200
    log = redis_stack.server.log()
    assert "Traceback" not in log and '"status":500' not in log, log[-5000:]


# --- Redis: realtime across replicas, and shutdown ---------------------------------------------


@pytest.fixture
def replicas(server_env: dict[str, str], redis: ThrowawayRedis,
             tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two servers fanning out through the test's own Redis; the safety poll slowed to 30 s, so
    what arrives sooner came through a notice or the reconnection's feed check."""
    env = {**server_env, "TASKLY_REDIS_URL": redis.url, "TASKLY_FEED_POLL_INTERVAL": "30",
           "TASKLY_QUEUE_NAME": f"outage-{uuid.uuid4().hex[:8]}", "TASKLY_WORKER_IN_PROCESS": "false"}
    with replica_pair(env, tmp_path) as pair:
        yield pair


async def test_realtime_across_replicas_recovers_after_a_redis_restart(
        replicas: tuple[ServerProcess, ServerProcess], redis: ThrowawayRedis) -> None:
    a, b = replicas
    alice = Api.login(a.url)
    workspace, board = setup_board(alice)
    head = await head_of(alice, workspace["id"])
    client = await Client.open(b, alice.token)
    try:
        await client.subscribe(workspace["id"], head)
        await call(alice, "POST", f"/boards/{board['id']}/cards", json={"title": "before"})
        assert (await client.expect("change", wait=1.0))["seq"] == head + 1

        redis.stop()
        await call(alice, "POST", f"/boards/{board['id']}/cards", json={"title": "while Redis is down"})
        await asyncio.sleep(0.5)
        await asyncio.to_thread(redis.restart)
        restarted = time.perf_counter()
        missed = await client.expect("change", wait=8.0)  # B's reconnection reads the feed
        assert missed["seq"] == head + 2 and missed["change"]["data"]["title"] == "while Redis is down"
        assert missed["_at"] - restarted < 5.0

        for n in range(3):
            started = time.perf_counter()
            await call(alice, "POST", f"/boards/{board['id']}/cards", json={"title": f"after {n}"})
            event = await client.expect("change", wait=1.5)
            assert event["seq"] == head + 3 + n and event["_at"] - started < 1.5
        await client.quiet(0.3)
    finally:
        await client.close()
    assert '"event":"realtime_redis_reconnected"' in b.log()
    assert "Traceback" not in a.log() + b.log()


async def test_sigterm_with_redis_down_closes_websockets_1001_and_exits_in_time(
        server_env: dict[str, str], redis: ThrowawayRedis, tmp_path: Path) -> None:
    budget = 4.0
    env = {**server_env, "TASKLY_REDIS_URL": redis.url, "TASKLY_SHUTDOWN_TIMEOUT": str(budget),
           "TASKLY_QUEUE_NAME": f"outage-{uuid.uuid4().hex[:8]}", "TASKLY_WORKER_IN_PROCESS": "false"}
    server = start_server(env, tmp_path)
    try:
        alice = Api.login(server.url)
        workspace, board = setup_board(alice)
        client = await Client.open(server, alice.token)
        await client.subscribe(workspace["id"], await head_of(alice, workspace["id"]))
        redis.stop()
        await call(alice, "POST", f"/boards/{board['id']}/cards", json={"title": "notice lost"})
        await asyncio.sleep(0.5)
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(server.process.wait, budget + SLACK + 5)
        except subprocess.TimeoutExpired:
            raise AssertionError("the server ignored SIGTERM") from None
        elapsed = time.monotonic() - started
        while True:  # what the socket got before the close: the card's change, then the close
            message = await asyncio.wait_for(client.inbox.get(), 5)
            if not isinstance(message, dict):
                break
        await client.reader
        assert client.sock.close_code == 1001, (client.sock.close_code, client.sock.close_reason)
        assert elapsed < budget + SLACK, f"exited {elapsed:.1f} s after SIGTERM"
        assert server.process.returncode == 0, server.log()[-3000:]
    finally:
        server.stop(timeout=5)
