"""Card moves per second against one real server process (a script, not a test).

    UV_COMPILE_BYTECODE=1 uv run python tests/bench/bench_moves.py [--duration 10] [--concurrency 50]

Creates a fresh database, starts one `taskly-server run` on it, creates a workspace, a board and
~200 cards, then `--concurrency` clients (one keep-alive HTTP/1.1 connection each, one signed-in
user shared) move random cards to random columns
(`POST /api/v1/cards/{id}/move {"column": …, "position": "top"}`) for `--duration` seconds, and
print moves/s, p50 and p99; then the same for `GET /health/live`. The clients run in
`--client-processes` processes, on a minimal HTTP client, so that they are not the bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402

from tests.support.processes import start_server  # noqa: E402
from tests.support.services import create_database, drop_database  # noqa: E402

COLUMNS = ["Backlog", "Todo", "In Progress", "In Review", "Done"]


@dataclass
class Load:
    base_url: str
    token: str
    card_ids: list[str]
    kind: str  # "move" | "live"
    concurrency: int
    duration: float


def run_clients(load: Load) -> tuple[int, int, list[float]]:
    """One client process: `load.concurrency` clients until the deadline; (ok, errors, latencies)."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    return asyncio.run(_clients(load))


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection that sends a request and reads its whole answer.

    Written for the bench so that the clients cost little CPU next to the server they measure
    (httpx spent ~1 ms of CPU per request, as much as a move costs the server): the requests are
    pre-built bytes, and an answer is complete when its Content-Length bytes have arrived.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        status_line, *headers = bytes(self.buffer[:end]).split(b"\r\n")
        length = 0
        for header in headers:
            name, _, value = header.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        if len(self.buffer) >= end + 4 + length:
            del self.buffer[:end + 4 + length]
            self.waiter.set_result(int(status_line[9:12]))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("server closed the connection"))

    async def request(self, data: bytes) -> int:
        """Send one request; its status code."""
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter


def build_request(method: str, path: str, host: str, token: str, body: bytes = b"") -> bytes:
    head = (f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def _clients(load: Load) -> tuple[int, int, list[float]]:
    host, port = load.base_url.removeprefix("http://").split(":")
    moves = [build_request("POST", f"/api/v1/cards/{card_id}/move", f"{host}:{port}", load.token,
                           json.dumps({"column": column, "position": "top"}).encode())
             for card_id in load.card_ids for column in COLUMNS]
    live = build_request("GET", "/health/live", f"{host}:{port}", load.token)
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + load.duration

    async def client(rng: random.Random) -> None:
        nonlocal errors
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(Connection, host, int(port))
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            status = await connection.request(rng.choice(moves) if load.kind == "move" else live)
            if status == 200:
                latencies.append(time.perf_counter() - start)
            else:
                errors += 1
        connection.transport.close()

    await asyncio.gather(*(client(random.Random(i)) for i in range(load.concurrency)))
    return len(latencies), errors, latencies


def measure(load: Load, processes: int) -> dict[str, float]:
    share = [load.concurrency // processes + (i < load.concurrency % processes) for i in range(processes)]
    loads = [Load(load.base_url, load.token, load.card_ids, load.kind, n, load.duration) for n in share]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        results = pool.map(run_clients, loads)
    ok = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    latencies = sorted(x for r in results for x in r[2])
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {"rate": ok / load.duration, "ok": ok, "errors": errors,
            "p50_ms": quantiles[49] * 1000, "p99_ms": quantiles[98] * 1000}


def database_sessions(database: str) -> int:
    """Connections ever opened to `database` (pool churn shows here)."""
    import psycopg

    from tests.support.services import postgres_admin_url

    with psycopg.connect(postgres_admin_url(), autocommit=True) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        row = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", (database,)).fetchone()
    return int(row[0]) if row else 0


def moves_recorded(database_url: str) -> int:
    """Change rows of moves in the feed: the moves that really placed a card somewhere new."""
    import psycopg

    with psycopg.connect(database_url.replace("+asyncpg", ""), autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM changes WHERE op = 'move'").fetchone()[0]


def seed(base_url: str, cards: int) -> tuple[str, list[str]]:
    with httpx.Client(base_url=f"{base_url}/api/v1", timeout=30) as http:
        login = http.post("/auth/dev-login", json={"username": "bench"}).raise_for_status().json()
        http.headers["Authorization"] = f"Bearer {login['access_token']}"
        workspace = http.post("/workspaces", json={"name": "Bench"}).raise_for_status().json()
        board = http.post(f"/workspaces/{workspace['id']}/boards",
                          json={"name": "Bench", "key": "BENCH"}).raise_for_status().json()
        card_ids = [
            http.post(f"/boards/{board['id']}/cards",
                      json={"title": f"Card {i}", "column": COLUMNS[i % len(COLUMNS)]}).raise_for_status().json()["id"]
            for i in range(cards)
        ]
    return login["access_token"], card_ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--cards", type=int, default=200)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--log-level", default="INFO", help="the server's TASKLY_LOG_LEVEL")
    parser.add_argument("--only", choices=["move", "live"], help="run one of the two measurements")
    args = parser.parse_args()

    name, database_url = create_database("taskly_bench")
    log_dir = Path(tempfile.mkdtemp(prefix="taskly-bench-"))
    env = {"TASKLY_DATABASE_URL": database_url, "TASKLY_SECRET_KEY": "bench-secret-0123456789abcdef",
           "TASKLY_DEV_LOGIN": "1", "TASKLY_LOG_LEVEL": args.log_level, "TASKLY_HOME": str(log_dir)}
    server = start_server(env, log_dir)
    try:
        token, card_ids = seed(server.url, args.cards)
        print(f"server pid {server.process.pid}, {len(card_ids)} cards, {args.concurrency} clients "
              f"in {args.client_processes} processes, {args.duration:.0f} s each, {os.cpu_count()} CPUs",
              flush=True)
        server_process = psutil.Process(server.process.pid)
        for kind, label in (("move", "moves"), ("live", "GET /health/live")):
            if args.only and kind != args.only:
                continue
            measure(Load(server.url, token, card_ids, kind, args.concurrency, 1.0), args.client_processes)
            sessions_before = database_sessions(name)
            recorded_before = moves_recorded(database_url)
            cpu_before = server_process.cpu_times()
            result = measure(Load(server.url, token, card_ids, kind, args.concurrency, args.duration),
                             args.client_processes)
            cpu_after = server_process.cpu_times()
            cpu = cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system
            per_request = cpu / max(result["ok"] + result["errors"], 1)
            print(f"{label:>17}: {result['rate']:7.0f}/s  p50 {result['p50_ms']:6.1f} ms  "
                  f"p99 {result['p99_ms']:6.1f} ms  ({result['ok']} ok, {result['errors']} errors; "
                  f"server CPU {cpu / args.duration:.0%}, {per_request * 1000:.2f} ms per request "
                  f"= {1 / per_request if per_request else 0:,.0f}/s per busy core; "
                  f"{database_sessions(name) - sessions_before} new DB connections)", flush=True)
            if kind == "move":
                print(f"{'':>19}{moves_recorded(database_url) - recorded_before} moves recorded in the "
                      f"change feed; load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
                      flush=True)
    finally:
        server.stop()
        drop_database(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
