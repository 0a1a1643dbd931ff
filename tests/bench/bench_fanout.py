"""Realtime fan-out: 1,000 WebSocket clients on one server process, one change at a time.

    UV_COMPILE_BYTECODE=1 uv run python tests/bench/bench_fanout.py [--clients 1000] [--changes 20] [--redis]

Starts a fresh database and one `taskly-server run` process (Postgres LISTEN/NOTIFY, or Redis
with --redis), connects the clients (all subscribed to one workspace), then commits changes one
by one through REST (a PATCH of one card's points, 0.3 s apart) and measures, for every client,
the latency of its `change` event:

- from `Change.created_at` (the headline figure): the wall-clock instant the server stamps on the
  Change row as it writes it, the transaction's last statement before COMMIT — so the figure
  includes that INSERT, the COMMIT (a real, durable one) and everything after; same machine,
  same clock;
- from t0: the instant just before the bench sends the PATCH (adds the whole HTTP request).

The receipt instant is `time.time()` taken in the client's `data_received`, when the frame's
bytes are read off that client's socket. The chunks are parsed right after every socket that was
ready in that loop turn has been stamped (so parsing client 1's frame does not count against
client 1,000): each frame is decoded (RFC 6455 framing of what a server sends: unmasked text,
ping, close), its JSON parsed and its seq checked — every client must receive every change once,
in order. The clients are real WebSocket clients: the handshake and every client frame (masked:
`auth`, then `subscribe`, pongs) by the `websockets` library's sans-I/O client protocol, on
uvloop, with no task or queue per connection (that would measure the client library, not the
server).

The server runs on one CPU and the clients on the other(s) (`--no-pin` leaves both to the
scheduler, which tends to wake the clients on the server's CPU: they are woken by its writes).

Prints min/p50/p99/max per change and over all receipts, the CPU time per change of the server
process and of the clients (from just before the PATCH until every client has the change), and
the load average. Goal: p99 ≤ 30 ms from created_at.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from tempfile import mkdtemp
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import msgspec  # noqa: E402
import psutil  # noqa: E402
import uvloop  # noqa: E402
from websockets.client import ClientProtocol  # noqa: E402
from websockets.http11 import Response  # noqa: E402
from websockets.uri import parse_uri  # noqa: E402

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


def cpu_seconds(process: psutil.Process) -> float:
    """CPU time of all the process's threads: the scheduler's nanoseconds where Linux has them
    (psutil's user + system count 10 ms ticks, too coarse for one change)."""
    try:
        return sum(int(Path(f"/proc/{process.pid}/task/{tid}/schedstat").read_text().split()[0])
                   for tid in os.listdir(f"/proc/{process.pid}/task")) / 1e9
    except (OSError, ValueError, IndexError):
        times = process.cpu_times()
        return times.user + times.system


def pin(server_pid: int) -> str:
    """Server on one CPU, these clients on the others: the kernel otherwise often wakes the
    clients on the server's CPU (they are woken by its writes), and they take turns on one core
    while the other idles. Real clients sit on other machines."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return "not pinned (one CPU)"
    for pid, allowed in ((server_pid, cpus[:1]), (os.getpid(), cpus[1:])):
        for tid in os.listdir(f"/proc/{pid}/task"):
            os.sched_setaffinity(int(tid), allowed)
    return f"server pinned to CPU {cpus[0]}, clients to CPU {','.join(map(str, cpus[1:]))}"


def load() -> str:
    return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


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


class Parser:
    """Parses the stamped chunks of all clients once the ready sockets have all been stamped."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.pending: list[Callable[[], None]] = []

    def later(self, parse: Callable[[], None]) -> None:
        if not self.pending:
            self.loop.call_soon(self._run)
        self.pending.append(parse)

    def _run(self) -> None:
        pending, self.pending = self.pending, []
        for parse in pending:
            parse()


class BenchClient(asyncio.Protocol):
    """One WebSocket client on an asyncio protocol: the handshake and every frame it sends by
    websockets' sans-I/O client protocol; the server's frames (unmasked) parsed here, cheaply."""

    def __init__(self, url: str, parser: Parser, arrivals: Arrivals) -> None:
        self.conn = ClientProtocol(parse_uri(url), max_size=None)
        self.parser = parser
        self.arrivals = arrivals
        self.transport: asyncio.Transport | None = None
        self.chunks: list[tuple[float, bytes]] = []
        self.buffer = bytearray()
        self.fragments: list[bytes] = []
        self.messages: asyncio.Queue[dict] = asyncio.Queue()
        self.live = False
        self.last_seq = 0
        self.received: dict[int, float] = {}
        self.problems: list[str] = []
        self.open = asyncio.get_running_loop().create_future()

    # --- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.conn.send_request(self.conn.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        """The receipt instant: when the bytes are read off the socket (parsed a moment later)."""
        if not self.chunks:
            self.parser.later(self._parse)
        self.chunks.append((time.time(), data))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.open.done():
            self.open.set_exception(ConnectionError(f"closed during the handshake: {exc}"))

    # --- parsing ----------------------------------------------------------------------------

    def _parse(self) -> None:
        chunks, self.chunks = self.chunks, []
        for stamp, data in chunks:
            if not self.open.done():
                self._handshake(data)
            else:
                self.buffer += data
                self._frames(stamp)

    def _handshake(self, data: bytes) -> None:
        self.conn.receive_data(data)
        for event in self.conn.events_received():
            if not isinstance(event, Response):
                raise AssertionError(f"a frame before the handshake completed: {event}")
            if self.conn.handshake_exc is not None:
                self.open.set_exception(self.conn.handshake_exc)
            else:
                self.open.set_result(None)
        assert not self.conn.reader.buffer, "the server spoke before the client's auth message"

    def _frames(self, stamp: float) -> None:
        """RFC 6455 §5.2 for what a server sends: no mask; text, continuation, ping, pong, close."""
        buffer, at = self.buffer, 0
        while len(buffer) - at >= 2:
            first, second = buffer[at], buffer[at + 1]
            if second & 0x80:
                raise AssertionError("a masked frame from the server")
            length, header = second & 0x7F, 2
            if length == 126:
                length, header = int.from_bytes(buffer[at + 2:at + 4], "big"), 4
            elif length == 127:
                length, header = int.from_bytes(buffer[at + 2:at + 10], "big"), 10
            if len(buffer) - at < header + length:
                break
            payload = bytes(buffer[at + header:at + header + length])
            at += header + length
            opcode, final = first & 0x0F, first & 0x80
            if opcode in (0x1, 0x0):  # text, continuation
                self.fragments.append(payload)
                if final:
                    text, self.fragments = b"".join(self.fragments), []
                    self._message(stamp, msgspec.json.decode(text))
            elif opcode == 0x9:  # ping
                self.conn.send_pong(payload)
                self._flush()
            elif opcode == 0x8:  # close
                self.problems.append(f"closed by the server: {payload[:2].hex()} {payload[2:]!r}")
        del buffer[:at]

    def _message(self, stamp: float, message: dict) -> None:
        if message["type"] == "ping":
            self.send({"type": "pong"})
        elif self.live and message["type"] == "change":
            seq = message["seq"]
            if seq != self.last_seq + 1 or message["change"]["seq"] != seq:
                self.problems.append(f"seq {seq} after {self.last_seq}")
            self.last_seq = max(self.last_seq, seq)
            if seq in self.received:
                self.problems.append(f"seq {seq} twice")
            else:
                self.received[seq] = stamp
                self.arrivals.arrived(seq)
        else:
            self.messages.put_nowait(message)

    # --- sending ----------------------------------------------------------------------------

    def send(self, message: dict) -> None:
        self.conn.send_text(json.dumps(message).encode())
        self._flush()

    def _flush(self) -> None:
        assert self.transport is not None
        for data in self.conn.data_to_send():
            if data:
                self.transport.write(data)
            elif self.transport.can_write_eof():
                self.transport.write_eof()

    async def start(self, token: str, workspace_id: str, since: int) -> None:
        await asyncio.wait_for(self.open, 60)
        self.send({"type": "auth", "token": token})
        answer = await asyncio.wait_for(self.messages.get(), 60)
        assert answer["type"] == "authenticated", answer
        self.send({"type": "subscribe", "workspace_id": workspace_id, "since": since})
        answer = await asyncio.wait_for(self.messages.get(), 60)
        assert answer["type"] == "subscribed", answer
        self.last_seq = answer["seq"]
        self.live = True

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            with contextlib.suppress(Exception):
                self.conn.send_close(1000)
                self._flush()
            self.transport.close()


async def open_clients(url: str, token: str, workspace_id: str, since: int, count: int,
                       arrivals: Arrivals, batch: int = 100) -> list[BenchClient]:
    loop = asyncio.get_running_loop()
    parser = Parser(loop)
    parts = urlsplit(url)
    clients: list[BenchClient] = []

    async def one() -> BenchClient:
        _, client = await loop.create_connection(lambda: BenchClient(url, parser, arrivals),
                                                 parts.hostname, parts.port)
        clients.append(client)
        await client.start(token, workspace_id, since)
        return client

    for start in range(0, count, batch):
        await asyncio.gather(*(one() for _ in range(min(batch, count - start))))
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
            pinned = pin(server.process.pid) if args.pin else "not pinned"
            print(f"server pid {server.process.pid}; backend {'redis' if args.redis else 'postgres'}; "
                  f"fd limit {fd_limit}; {len(clients)} clients connected and subscribed in "
                  f"{time.perf_counter() - started:.1f} s; {pinned}; {load()}")

            server_process, this_process = psutil.Process(server.process.pid), psutil.Process()
            server_cpu: list[float] = []
            client_cpu: list[float] = []
            from_t0: list[float] = []
            from_created: list[float] = []
            change_p99s: list[float] = []
            missing_total = 0
            for i in range(1, args.changes + 1):
                await asyncio.sleep(args.pause)
                seq = head + i
                before = cpu_seconds(server_process), cpu_seconds(this_process)
                t0 = time.time()
                response = await http.patch(f"/cards/{card['key']}", json={"points": i % 99})
                response.raise_for_status()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(arrivals.event(seq).wait(), 10)
                server_cpu.append((cpu_seconds(server_process) - before[0]) * 1000)
                client_cpu.append((cpu_seconds(this_process) - before[1]) * 1000)
                # Asked only now, so the read does not compete with the fan-out it measures.
                change = (await http.get(f"/workspaces/{workspace['id']}/changes",
                                         params={"since": seq - 1, "limit": 1})).json()["changes"][0]
                assert change["seq"] == seq, change
                created = datetime.fromisoformat(change["created_at"]).timestamp()
                stamps = [c.received[seq] for c in clients if seq in c.received]
                missing = len(clients) - len(stamps)
                missing_total += missing
                if not stamps:
                    print(f"change {i:3d} seq {seq}: MISSING at every client")
                    continue
                t0_ms = [(stamp - t0) * 1000 for stamp in stamps]
                created_ms = [(stamp - created) * 1000 for stamp in stamps]
                from_t0 += t0_ms
                from_created += created_ms
                change_p99s.append(percentile(created_ms, 99))
                print(f"change {i:3d} seq {seq}: from created_at {summary(created_ms)} | from t0 "
                      f"{summary(t0_ms)} | server CPU {server_cpu[-1]:4.1f} ms"
                      + (f"  MISSING {missing}" if missing else ""))
            problems = [p for c in clients for p in c.problems]
            print(f"\nall {len(from_t0)} receipts ({len(clients)} clients x {args.changes} changes), "
                  f"each client's receipt stamped when its socket is read:")
            print(f"  Change.created_at (stamped before COMMIT)     -> receipt: {summary(from_created)}")
            print(f"    p99 of each change on its own: median {percentile(change_p99s, 50):.1f}, best "
                  f"{min(change_p99s):.1f}, worst {max(change_p99s):.1f} ms")
            print(f"  t0 (bench, just before the PATCH)            -> receipt: {summary(from_t0)}")
            print(f"  CPU per change, from before the PATCH until every client has the change: server "
                  f"p50 {percentile(server_cpu, 50):.1f} ms (min {min(server_cpu):.1f}), these "
                  f"{len(clients)} clients p50 {percentile(client_cpu, 50):.1f} ms")
            print(f"  missing {missing_total}; out of order or twice: {len(problems)} "
                  f"{problems[:3] if problems else ''}; {load()}")
    finally:
        for client in clients:
            client.close()
        await asyncio.sleep(0.1)
        await asyncio.to_thread(server.stop)
        await asyncio.to_thread(drop_database, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--pause", type=float, default=0.3, help="seconds between changes")
    parser.add_argument("--redis", action="store_true", help="fan out through Redis pub/sub")
    parser.add_argument("--no-pin", dest="pin", action="store_false",
                        help="leave the server and the clients to the scheduler (default: one CPU each)")
    uvloop.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
