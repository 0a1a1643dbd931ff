"""Feed consumers' lag (a script, not a test): how fast one worker's consumers catch up.

    UV_COMPILE_BYTECODE=1 uv run python tests/bench/bench_consumers.py [--moves 10000] [--workspaces 10] [--redis]

A fresh database, one `taskly-server run` and one `taskly-server worker` (Postgres queue and
LISTEN/NOTIFY notices; `--redis`: Redis for both). Per workspace a board of 100 cards (10 of them
recurring, all assigned), made through the API while the worker runs. Then two measurements:

- **backlog**: while this script holds every consumer cursor row (`FOR UPDATE`: the running worker
  skips them), `--moves` card moves are made through the API (bulk updates of 100 cards between
  Todo and In Progress, the one move function); then the rows are released: time until every
  consumer's cursor is at its workspace's head, from the first cursor that moves (the worker
  wakes at its sweep, ≤ 2 s later, or the retry of a held cursor), and the worker's CPU time;
- **live**: the same number of moves while the worker runs; time from the last answered move until
  the cursors have caught up (the lag left behind), and the consumed rate over the whole span.

Reference in the same run: the same changes read by the consumers' own query alone (pages of 500,
no handler, no transaction), the floor of what a consumer can do. Goal: ≥ 2,000 changes/s
consumed (each change is handled by both consumers, recurrence and notifications).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from tests.support.processes import start_server, start_worker  # noqa: E402
from tests.support.services import REDIS_URL, create_database, drop_database  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef"
BULK = 100
LAGGING = """
SELECT coalesce(sum(w.seq - coalesce(cc.seq, 0)), 0) FROM feed_consumers c CROSS JOIN workspaces w
LEFT JOIN consumer_cursors cc ON cc.consumer = c.name AND cc.workspace_id = w.id
WHERE w.deleted_at IS NULL
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.name, self.url = create_database("taskly_bench_consumers")
        self.libpq = self.url.replace("postgresql+asyncpg://", "postgresql://")
        self.env = {"TASKLY_DATABASE_URL": self.url, "TASKLY_SECRET_KEY": SECRET, "TASKLY_DEV_LOGIN": "1",
                    "TASKLY_QUEUE_NAME": f"bench-{uuid.uuid4().hex[:8]}", "TASKLY_WORKER_IN_PROCESS": "false",
                    "TASKLY_LOG_LEVEL": "WARNING"}
        self.worker_env: dict[str, str | None] = {**self.env, "TASKLY_LOG_LEVEL": "INFO",
                                                  "TASKLY_REDIS_URL": REDIS_URL if args.redis else None}
        if args.redis:
            self.env["TASKLY_REDIS_URL"] = REDIS_URL
        self.server = start_server(self.env, tmp)
        self.worker = None
        self.workers = 0
        self.boards: list[tuple[httpx.Client, list[dict], dict]] = []
        self._probe: psycopg.Connection | None = None

    def start_worker(self):
        self.workers += 1
        self.worker = start_worker(self.worker_env, self.tmp / f"worker-{self.workers}.log")
        return self.worker

    def lag(self) -> int:
        """The consumers' lag in all, on one kept connection (a new connection per look cost the
        database a process start every 10 ms, as much CPU as the worker's)."""
        if self._probe is None or self._probe.closed:
            self._probe = psycopg.connect(self.libpq, autocommit=True)
        return int(self._probe.execute(LAGGING).fetchone()[0])

    def wait_caught_up(self, timeout: float = 600) -> float:
        deadline = time.monotonic() + timeout
        while self.lag() > 0:
            if time.monotonic() > deadline:
                raise SystemExit(f"consumers still behind after {timeout} s: {self.lag()}")
            time.sleep(0.02)
        return time.monotonic()

    def setup(self) -> None:
        for n in range(self.args.workspaces):
            login = httpx.post(f"{self.server.url}/api/v1/auth/dev-login",
                               json={"username": f"bench-{n}-{uuid.uuid4().hex[:6]}"}, timeout=30).json()
            http = httpx.Client(base_url=f"{self.server.url}/api/v1", timeout=60,
                                headers={"Authorization": f"Bearer {login['access_token']}"})
            workspace = http.post("/workspaces", json={"name": f"Bench {n}"}).json()
            board = http.post(f"/workspaces/{workspace['id']}/boards", json={"name": "Bench", "key": "BEN"}).json()
            cards = []
            for i in range(100):
                body = {"title": f"Card {i}", "column": "Todo", "assignees": [login["user"]["username"]]}
                if i % 10 == 0:
                    body.update(recurrence="daily", due="2030-01-01")
                response = http.post(f"/boards/{board['id']}/cards", json=body)
                response.raise_for_status()
                cards.append(response.json())
            self.boards.append((http, cards, board))

    def moves(self, count: int) -> float:
        """`count` moves, workspace by workspace in bulk updates; returns when the last was answered."""
        per_workspace = count // len(self.boards)
        for http, cards, _ in self.boards:
            made = 0
            while made < per_workspace:
                batch = cards[: min(BULK, per_workspace - made, len(cards))]
                for card in batch:
                    card["column"] = "In Progress" if card["column"] == "Todo" else "Todo"
                response = http.post("/cards/bulk-update", json={"cards": [
                    {"card": card["id"], "column": card["column"]} for card in batch]})
                response.raise_for_status()
                made += len(batch)
        return time.monotonic()

    def reference(self) -> float:
        """Seconds to read every workspace's changes with the consumers' query (no handlers)."""
        started = time.monotonic()
        with psycopg.connect(self.libpq, autocommit=True) as conn:
            for (workspace_id,) in conn.execute("SELECT id FROM workspaces").fetchall():
                after = 0
                while True:
                    rows = conn.execute("SELECT * FROM changes WHERE workspace_id = %s AND seq > %s "
                                        "ORDER BY seq LIMIT 500", (workspace_id, after)).fetchall()
                    if not rows:
                        break
                    after = rows[-1][2]
        return time.monotonic() - started

    def total_changes(self) -> int:
        with psycopg.connect(self.libpq, autocommit=True) as conn:
            return int(conn.execute("SELECT count(*) FROM changes").fetchone()[0])

    def stop(self) -> None:
        if self._probe is not None:
            self._probe.close()
        if self.worker is not None:
            self.worker.stop()
        self.server.stop()
        drop_database(self.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=10_000)
    parser.add_argument("--workspaces", type=int, default=10)
    parser.add_argument("--redis", action="store_true", help="Redis queue and notices")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(args, Path(tmp))
        try:
            run(bench, args)
        finally:
            bench.stop()


def run(bench: Bench, args: argparse.Namespace) -> None:
    print(f"load before: {os.getloadavg()}", file=sys.stderr)
    bench.start_worker()
    bench.setup()
    bench.wait_caught_up()

    # backlog: moves made while the (running, warm) worker finds every cursor held by this
    # script's transaction, then released at once
    worker = bench.worker
    with psycopg.connect(bench.libpq) as holder:
        holder.execute("SELECT 1 FROM consumer_cursors FOR UPDATE").fetchall()
        moving = time.monotonic()
        moved = bench.moves(args.moves) - moving
        backlog = bench.lag()
        print(f"{args.moves} moves through the API (bulk updates of {BULK}) took {moved:.2f} s, "
              f"consumers held")
        started_cpu = cpu_seconds(worker.pid)
        started = time.monotonic()
        holder.rollback()
    while bench.lag() >= backlog:  # the worker's wake-up: its retries or its sweep (≤ 2 s)
        time.sleep(0.02)
    woke = time.monotonic()
    done = bench.wait_caught_up()
    cpu = cpu_seconds(worker.pid) - started_cpu
    print(f"released: the first cursor moved {woke - started:.2f} s later")
    started = woke
    per_consumer = backlog // 2
    backlog_s = done - started
    print(f"backlog: {per_consumer} changes per consumer (2 consumers) caught up in {backlog_s:.2f} s: "
          f"{per_consumer / backlog_s:,.0f} changes/s, {2 * per_consumer / backlog_s:,.0f} handlings/s; "
          f"worker CPU {cpu:.2f} s ({1e3 * cpu / max(1, 2 * per_consumer):.3f} ms a handling)")

    # live: moves while the worker runs
    first = time.monotonic()
    last_answer = bench.moves(args.moves)
    left = bench.lag()
    caught = bench.wait_caught_up()
    print(f"live: {args.moves} moves in {last_answer - first:.2f} s; lag at the last answer {left} handlings, "
          f"caught up {caught - last_answer:.2f} s later; consumed {args.moves / (caught - first):,.0f} changes/s "
          f"over the whole span (bounded by the rate of moves)")

    reference = bench.reference()
    total = bench.total_changes()
    print(f"reference: the consumers' query alone read all {total} changes in {reference:.2f} s "
          f"({total / reference:,.0f} changes/s)")
    print(f"load after: {os.getloadavg()}", file=sys.stderr)


if __name__ == "__main__":
    main()
