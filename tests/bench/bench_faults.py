"""Recovery from faults, and the health probe under hostile bodies (a script, not a test).

    UV_COMPILE_BYTECODE=1 uv run python tests/bench/bench_faults.py [--rounds 3] [--outage 3]
        [--skip db,redis,worker,hostile]

- **database returns**: a server on a PostgreSQL cluster of the bench's own (initdb + pg_ctl,
  `tests.support.outages`); `--outage` seconds stopped while a client writes a card every 50 ms
  (every answer is counted: all must be 503), then `pg_ctl start` (it returns once Postgres
  accepts connections) → the first card create answered 201 by the same server process.
- **Redis returns**: a server and a worker on a redis-server of the bench's own (queue and
  realtime), a second server with a WebSocket client subscribed, the fake GitHub; Redis stopped
  for `--outage` seconds (create-branch every 50 ms, all 503; a card changed on the first server),
  then restarted → the first create-branch answered 202 (from Redis answering PING); the change
  made during the outage on the other replica's socket (the reconnection's feed check; from
  redis-server's start); a new change's trip across replicas.
- **worker killed**: `tests/server/test_stranded_jobs.py`'s set-up — 20 create_branch jobs held
  in flight by a slow fake GitHub, the worker SIGKILLed, a new one started and a fresh job queued
  → the fresh job done, the first and the last stranded job done, on the Postgres and the Redis
  queue (the shared Redis on 6379).
- **hostile bodies**: `tests/server/test_protection.py`'s payloads (a 9.7 MB JSON of 700k keys to
  /auth/refresh, plain and chunked; 16 MB unsigned and forged webhooks) sent while a probe process
  calls `GET /health/live` back to back → its p50/p99 beside a quiet run's.

Prints the figures and the load average (the machine is small and shared).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.conftest import SECRET  # noqa: E402
from tests.server.test_create_branch import build_world, start  # noqa: E402
from tests.server.test_protection import Prober, in_chunks, keys_body, p99, yield_the_cpu  # noqa: E402
from tests.server.test_stranded_jobs import strand_branch_jobs  # noqa: E402
from tests.support.api import Api  # noqa: E402
from tests.support.fake_github import FakeGitHub  # noqa: E402
from tests.support.github_stack import GitHubStack  # noqa: E402
from tests.support.outages import ThrowawayPostgres, ThrowawayRedis  # noqa: E402
from tests.support.processes import start_server  # noqa: E402
from tests.support.services import REDIS_URL, answers, create_database, drop_database  # noqa: E402

MB = 1024 * 1024
WRITE_EVERY = 0.05


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def hammer(send: Callable[[], httpx.Response], seconds: float) -> tuple[Counter, float]:
    """`send()` every WRITE_EVERY s for `seconds`: the statuses, and the slowest answer."""
    statuses: Counter = Counter()
    slowest = 0.0
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        started = time.monotonic()
        statuses[send().status_code] += 1
        slowest = max(slowest, time.monotonic() - started)
        time.sleep(WRITE_EVERY)
    return statuses, slowest


def first_success(send: Callable[[], httpx.Response], limit: float = 60) -> tuple[float, int]:
    """Seconds until `send()` first answers 2xx (retried at once), and how many failed before."""
    started, failed = time.monotonic(), 0
    while not send().is_success:
        failed += 1
        if time.monotonic() - started > limit:
            raise RuntimeError(f"no success within {limit} s")
        time.sleep(0.01)
    return time.monotonic() - started, failed


# --- database ---------------------------------------------------------------------------------


def bench_database(rounds: int, outage: float, log_dir: Path) -> None:
    print(f"\n== database stopped {outage:g} s, then started (load {load()})")
    with ThrowawayPostgres.create() as pg:
        env = {"TASKLY_DATABASE_URL": pg.url, "TASKLY_SECRET_KEY": SECRET, "TASKLY_DEV_LOGIN": "1",
               "TASKLY_WORKER_IN_PROCESS": "false"}
        server = start_server(env, log_dir / "database")
        try:
            api = Api.login(server.url)
            board = api.board(api.workspace("Faults")["id"], "DB")

            def write() -> httpx.Response:
                return api.post(f"/boards/{board['id']}/cards", json={"title": "write"},
                                headers={"Idempotency-Key": uuid.uuid4().hex})

            api.ok("POST", f"/boards/{board['id']}/cards", json={"title": "warm"})
            for round_ in range(1, rounds + 1):
                pg.stop()
                statuses, slowest = hammer(write, outage)
                pg.start()
                back, failed = first_success(write)
                print(f"round {round_}: during the outage {dict(statuses)} (slowest {ms(slowest)}); "
                      f"first write {ms(back)} after Postgres accepts connections "
                      f"({failed} answered 503 before it)")
                time.sleep(0.5)
        finally:
            server.stop()
        log = server.log()
        print(f"server log: {log.count('dependency_unavailable')} dependency_unavailable warnings, "
              f"{log.count('Traceback')} tracebacks, exit code {server.process.returncode}")


# --- Redis --------------------------------------------------------------------------------------


class SocketClient(threading.Thread):
    """A WebSocket client on its own thread: authenticates, subscribes, timestamps every change."""

    def __init__(self, url: str, token: str, workspace_id: str, since: int) -> None:
        super().__init__(daemon=True)
        self.url = url.replace("http://", "ws://") + "/api/v1/ws"
        self.hello = [{"type": "auth", "token": token},
                      {"type": "subscribe", "workspace_id": workspace_id, "since": since}]
        self.changes: queue.Queue[tuple[float, dict]] = queue.Queue()
        self.subscribed = threading.Event()
        self.start()
        assert self.subscribed.wait(10), "the socket never subscribed"

    def run(self) -> None:
        from websockets.sync.client import connect

        with contextlib.suppress(Exception), connect(self.url) as sock:
            for message in self.hello:
                sock.send(json.dumps(message))
            for raw in sock:
                message = json.loads(raw)
                if message["type"] == "ping":
                    sock.send('{"type": "pong"}')
                elif message["type"] == "subscribed":
                    self.subscribed.set()
                elif message["type"] == "change":
                    self.changes.put((time.monotonic(), message))

    def change_titled(self, title: str, timeout: float = 30) -> float:
        """When the change that set `title` arrived."""
        deadline = time.monotonic() + timeout
        while True:
            at, message = self.changes.get(timeout=max(0.01, deadline - time.monotonic()))
            if (message["change"].get("data") or {}).get("title") == title:
                return at


def bench_redis(rounds: int, outage: float, log_dir: Path) -> None:
    print(f"\n== Redis stopped {outage:g} s, then restarted (load {load()})")
    name, database_url = create_database("taskly_bench_faults")
    with ThrowawayRedis.start() as redis, FakeGitHub(log_dir / "fake-github-redis") as fake:
        stack = GitHubStack.start(log_dir / "redis", database_url, fake, redis_url=redis.url,
                                  extra_env={"TASKLY_FEED_POLL_INTERVAL": "30"})
        other = start_server(stack.env, log_dir / "redis-b")
        try:
            world = build_world(stack, fake)
            api = world.owner
            card = world.card("followed")
            head = api.ok("GET", f"/workspaces/{world.workspace_id}")["seq"]
            client = SocketClient(other.url, api.token, world.workspace_id, head)
            for round_ in range(1, rounds + 1):
                cards = iter([world.card(f"branch {round_}.{n}") for n in range(200)])

                def create_branch(cards=cards) -> httpx.Response:
                    return api.post(f"/cards/{next(cards)['key']}/create-branch", json={})

                redis.stop()
                missed = f"changed during outage {round_}"
                api.ok("PATCH", f"/cards/{card['key']}", json={"title": missed})
                statuses, slowest = hammer(create_branch, outage)
                restarted = time.monotonic()
                redis.restart()
                back = time.monotonic()
                took, failed = first_success(create_branch)
                healed = client.change_titled(missed) - restarted
                after = f"changed after outage {round_}"
                sent = time.monotonic()
                api.ok("PATCH", f"/cards/{card['key']}", json={"title": after})
                across = client.change_titled(after) - sent
                print(f"round {round_}: during the outage create-branch {dict(statuses)} (slowest "
                      f"{ms(slowest)}); first create-branch {ms(took)} after Redis answers ({failed} "
                      f"503 before it); change made during the outage on the other replica's socket "
                      f"{ms(healed)} after redis-server was started again (it answered after "
                      f"{ms(back - restarted)}); next change across replicas {ms(across)}")
                time.sleep(1)
        finally:
            other.stop()
            stack.stop()
            drop_database(name)
        logs = stack.server.log() + other.log()
        print(f"server logs: {logs.count('realtime_redis_reconnected')} realtime reconnections, "
              f"{logs.count('Traceback')} tracebacks, {logs.count(chr(34) + 'status' + chr(34) + ':500')} "
              "answers 500")


# --- a worker killed with 20 jobs in flight ---------------------------------------------------------


def bench_worker(log_dir: Path) -> None:
    jobs, slow = 20, 8.0
    backends = ["postgres"] + (["redis"] if answers(REDIS_URL, 6379) else [])
    for backend in backends:
        print(f"\n== a worker killed with {jobs} create_branch jobs in flight, {backend} queue "
              f"(load {load()})")
        name, database_url = create_database("taskly_bench_faults")
        with FakeGitHub(log_dir / f"fake-github-{backend}") as fake:
            stack = GitHubStack.start(log_dir / f"worker-{backend}", database_url, fake,
                                      redis_url=REDIS_URL if backend == "redis" else None)
            try:
                world = build_world(stack, fake)
                cards = [world.card(f"Stranded {n}") for n in range(jobs)]
                accepted = strand_branch_jobs(world, fake, cards, slow)
                fresh_card = world.card("Fresh after the kill")
                stack.worker.kill()
                killed = time.monotonic()
                stack.start_worker()
                fresh = start(world.owner, fresh_card)
                accepted.append(fresh)
                done: dict[str, float] = {}
                while len(done) < len(accepted) and time.monotonic() - killed < 120:
                    for job in accepted:
                        if job["job_id"] not in done:
                            status = world.owner.ok("GET", f"/jobs/{job['job_id']}")["status"]
                            if status in ("complete", "failed", "aborted"):
                                done[job["job_id"]] = time.monotonic() - killed
                    time.sleep(0.05)
                statuses = Counter(world.owner.ok("GET", f"/jobs/{j['job_id']}")["status"] for j in accepted)
                fresh_done = done.pop(fresh["job_id"], float("nan"))
                times = sorted(done.values())
                print(f"a job queued after the kill done {fresh_done:.1f} s after it; stranded jobs: "
                      f"first done {times[0]:.1f} s after the kill, last {times[-1]:.1f} s; "
                      f"{dict(statuses)}")
            finally:
                stack.stop()
                drop_database(name)


# --- /health/live while hostile bodies arrive -----------------------------------------------------


def bench_hostile(log_dir: Path) -> None:
    print(f"\n== GET /health/live while hostile bodies arrive (load {load()})")
    name, database_url = create_database("taskly_bench_faults")
    env = {"TASKLY_DATABASE_URL": database_url, "TASKLY_SECRET_KEY": SECRET, "TASKLY_DEV_LOGIN": "1",
           "TASKLY_WORKER_IN_PROCESS": "false"}
    server = start_server(env, log_dir / "hostile")
    try:
        url = server.url
        many_keys = keys_body(700_000)
        unsigned = (b'{"action":"opened","pull_request":{"body":"' + b"x" * (16 * MB) + b'"},'
                    b'"repository":{"id":1,"full_name":"evil/repo"}}')

        def post(path: str, body, headers: dict[str, str]) -> int:
            return httpx.post(f"{url}{path}", content=body, timeout=60,
                              headers={"Content-Type": "application/json", **headers}).status_code

        def webhook(signature: str | None) -> int:
            headers = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": str(uuid.uuid4())}
            if signature is not None:
                headers["X-Hub-Signature-256"] = signature
            return post("/api/v1/webhooks/github", unsigned, headers)

        hostile: list[tuple[str, Callable[[], int]]] = [
            *[("refresh, 9.7 MB of 700k keys", lambda: post("/api/v1/auth/refresh", many_keys, {}))
              for _ in range(4)],
            *[("refresh, 700k keys chunked", lambda: post("/api/v1/auth/refresh", in_chunks(many_keys), {}))
              for _ in range(4)],
            *[("webhook, 16 MB unsigned", lambda: webhook(None)) for _ in range(8)],
            *[("webhook, 16 MB forged", lambda: webhook("sha256=" + "0" * 64)) for _ in range(8)],
        ]
        with tempfile.TemporaryDirectory() as tmp:
            quiet, _ = Prober(url, Path(tmp) / "never", count=1000).result()
            during = Prober(url, Path(tmp) / "stop")
            time.sleep(0.3)
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=len(hostile), initializer=yield_the_cpu) as pool:
                answered = Counter(zip([label for label, _ in hostile],
                                       pool.map(lambda item: item[1](), hostile), strict=True))
            elapsed = time.monotonic() - started
            latencies, statuses = during.result(stop=True)
        print(f"{len(hostile)} hostile requests in {elapsed:.1f} s: "
              + ", ".join(f"{label} → {status} x{n}" for (label, status), n in sorted(answered.items())))
        print(f"/health/live quiet: p50 {ms(statistics.median(quiet))}, p99 {ms(p99(quiet))} "
              f"({len(quiet)} calls); during: p50 {ms(statistics.median(latencies))}, p99 "
              f"{ms(p99(latencies))}, max {ms(max(latencies))} ({len(latencies)} calls, statuses "
              f"{sorted(statuses)})")
    finally:
        server.stop()
        drop_database(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--outage", type=float, default=3.0, help="seconds each outage lasts")
    parser.add_argument("--skip", default="", help="comma-separated: db, redis, worker, hostile")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    print(f"load average at start: {load()}")
    with tempfile.TemporaryDirectory(prefix="taskly-bench-faults-") as tmp:
        log_dir = Path(tmp)
        if "db" not in skip:
            bench_database(args.rounds, args.outage, log_dir)
        if "redis" not in skip:
            bench_redis(args.rounds, args.outage, log_dir)
        if "worker" not in skip:
            bench_worker(log_dir)
        if "hostile" not in skip:
            bench_hostile(log_dir)
    print(f"\nload average at the end: {load()}")


if __name__ == "__main__":
    main()
