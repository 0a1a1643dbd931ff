"""Realtime fan-out: 1,000 WebSocket clients on one server process, one change at a time.

    UV_COMPILE_BYTECODE=1 uv run python tests/bench/bench_fanout.py [--clients 1000] [--changes 20]

Starts a fresh database and one `taskly-server run` process (Postgres LISTEN/NOTIFY, or Redis
with --redis), connects the clients (all subscribed to one workspace), then commits changes one
by one through REST and measures, for every client, the latency from the commit to the receipt
of its `change` event, two ways: from the moment just before the PATCH was sent (t0, includes
the HTTP request) and from the Change's `created_at` stamped by the server on this same machine.
Prints min/p50/p99/max per change and over all receipts. Goal: p99 ≤ 30 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import sys
import time
from datetime import datetime
from pathlib import Path
from tempfile import mkdtemp

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402

from tests.support.processes import start_server  # noqa: E402
from tests.support.services import REDIS_URL, create_database, drop_database  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef"


def raise_fd_limit(needed: int) -> int:
    """Each client costs one descriptor here and one in the server (which inherits the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def summary(values_ms: list[float]) -> str:
    return (f"min {min(values_ms):5.1f}  p50 {percentile(values_ms, 50):5.1f}  "
            f"p99 {percentile(values_ms, 99):5.1f}  max {max(values_ms):5.1f} ms")


class Arrivals:
    """Counts the clients that got each seq; wakes the driver when all have."""

    def __init__(self, clients: int) -> None:
        self.clients = clients
        self.counts: dict[int, int] = {}
        self.complete: dict[int, asyncio.Event] = {}

    def event(self, seq: int) -> asyncio.Event:
        return self.complete.setdefault(seq, asyncio.Event())

    def arrived(self, seq: int) -> None:
        self.counts[seq] = self.counts.get(seq, 0) + 1
        if self.counts[seq] == self.clients:
            self.event(seq).set()


class BenchClient:
    """One subscribed socket; stamps the receipt time of each change before parsing it."""

    def __init__(self, sock: ClientConnection, arrivals: Arrivals) -> None:
        self.sock = sock
        self.arrivals = arrivals
        self.received: dict[int, tuple[float, float]] = {}
        self.task: asyncio.Task | None = None

    async def start(self, token: str, workspace_id: str, since: int) -> None:
        await self.sock.send(json.dumps({"type": "auth", "token": token}))
        assert json.loads(await self.sock.recv())["type"] == "authenticated"
        await self.sock.send(json.dumps({"type": "subscribe", "workspace_id": workspace_id, "since": since}))
        assert json.loads(await self.sock.recv())["type"] == "subscribed"
        self.task = asyncio.create_task(self.read())

    async def read(self) -> None:
        """Only the seq is read from a change (a full parse would add client time to the figures)."""
        async for raw in self.sock:
            wall, mono = time.time(), time.perf_counter()
            if raw.startswith('{"type":"change"'):
                start = raw.index('"seq":') + 6
                seq = int(raw[start:raw.index(",", start)])
                self.received[seq] = (wall, mono)
                self.arrivals.arrived(seq)
            elif json.loads(raw)["type"] == "ping":
                await self.sock.send('{"type":"pong"}')


async def open_clients(url: str, token: str, workspace_id: str, since: int, count: int,
                       arrivals: Arrivals, batch: int = 100) -> list[BenchClient]:
    clients: list[BenchClient] = []

    async def one() -> BenchClient:
        client = BenchClient(await connect(url, open_timeout=60, max_queue=None), arrivals)
        await client.start(token, workspace_id, since)
        return client

    for start in range(0, count, batch):
        clients += await asyncio.gather(*(one() for _ in range(min(batch, count - start))))
    return clients


async def run(args: argparse.Namespace) -> None:
    fd_limit = raise_fd_limit(2 * args.clients + 512)
    name, database_url = await asyncio.to_thread(create_database, "taskly_bench")
    env = {"TASKLY_DATABASE_URL": database_url, "TASKLY_SECRET_KEY": SECRET, "TASKLY_DEV_LOGIN": "1",
           "TASKLY_DB_POOL_SIZE": "20"}
    if args.redis:
        env["TASKLY_REDIS_URL"] = REDIS_URL
        env["TASKLY_QUEUE_NAME"] = f"bench-{name}"
    server = await asyncio.to_thread(start_server, env, Path(mkdtemp(prefix="taskly-bench-")))
    clients: list[BenchClient] = []
    try:
        async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=30) as http:
            login = (await http.post("/auth/dev-login", json={"username": "bench"})).json()
            http.headers["Authorization"] = f"Bearer {login['access_token']}"
            workspace = (await http.post("/workspaces", json={"name": "Bench"})).json()
            board = (await http.post(f"/workspaces/{workspace['id']}/boards",
                                     json={"name": "Bench", "key": "BEN"})).json()
            card = (await http.post(f"/boards/{board['id']}/cards", json={"title": "fan me out"})).json()
            head = (await http.get(f"/workspaces/{workspace['id']}")).json()["seq"]

            started = time.perf_counter()
            ws_url = server.url.replace("http://", "ws://") + "/api/v1/ws"
            arrivals = Arrivals(args.clients)
            clients = await open_clients(ws_url, login["access_token"], workspace["id"], head,
                                         args.clients, arrivals)
            print(f"server pid {server.process.pid}; backend {'redis' if args.redis else 'postgres'}; fd limit {fd_limit}; "
                  f"{len(clients)} clients connected and subscribed in {time.perf_counter() - started:.1f} s")

            from_t0: list[float] = []
            from_created: list[float] = []
            for i in range(1, args.changes + 1):
                await asyncio.sleep(args.pause)
                t0 = time.perf_counter()
                response = await http.patch(f"/cards/{card['key']}", json={"points": i % 99})
                response.raise_for_status()
                seq = head + i
                change = (await http.get(f"/workspaces/{workspace['id']}/changes",
                                         params={"since": seq - 1, "limit": 1})).json()["changes"][0]
                created = datetime.fromisoformat(change["created_at"]).timestamp()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(arrivals.event(seq).wait(), 10)
                missing = sum(seq not in c.received for c in clients)
                t0_ms = [(c.received[seq][1] - t0) * 1000 for c in clients if seq in c.received]
                created_ms = [(c.received[seq][0] - created) * 1000 for c in clients if seq in c.received]
                from_t0 += t0_ms
                from_created += created_ms
                print(f"change {i:3d} seq {seq}: from t0 {summary(t0_ms)} | from created_at "
                      f"{summary(created_ms)}" + (f"  MISSING {missing}" if missing else ""))
            print(f"\nall {len(from_t0)} receipts ({len(clients)} clients x {args.changes} changes):")
            print(f"  t0 (before PATCH) -> receipt:   {summary(from_t0)}")
            print(f"  Change.created_at -> receipt:   {summary(from_created)}")
    finally:
        for client in clients:
            if client.task is not None:
                client.task.cancel()
        await asyncio.gather(*(c.sock.close() for c in clients), return_exceptions=True)
        await asyncio.to_thread(server.stop)
        await asyncio.to_thread(drop_database, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--pause", type=float, default=0.3, help="seconds between changes")
    parser.add_argument("--redis", action="store_true", help="fan out through Redis pub/sub")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
