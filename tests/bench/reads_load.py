"""The loads of bench_reads.py beyond the per-endpoint ratios: the 200-client mixed load (open
loop), the 10,000-card snapshot and the 1,000-socket reconnect after a restart."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import random
import statistics
import time
from dataclasses import dataclass

import httpx
import psutil
import uvloop

from tests.bench.bench_fanout import (
    Arrivals,
    BenchClient,
    Parser,
    cpu_seconds,
    percentile,
    raise_fd_limit,
)
from tests.bench.bench_moves import Connection, build_request

MIX = (("card", 0.50), ("board", 0.15), ("changes", 0.10), ("write", 0.25))


@dataclass
class Mixed:
    base_url: str
    token: str
    board_id: str
    workspace_id: str
    cards: int
    head: int
    clients: int
    rate: float
    """Requests per second offered by all the clients of this process together."""
    duration: float
    seed: int


def run_mixed(load: Mixed) -> tuple[dict[str, list[float]], int, float]:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    return asyncio.run(_mixed(load))


async def _mixed(load: Mixed) -> tuple[dict[str, list[float]], int, float]:
    """Open loop: each client sends at its own fixed pace whatever the answers take; a latency runs
    from when the request was due (a request that waits for the one before it counts its wait)."""
    host, port = load.base_url.removeprefix("http://").split(":")
    address = f"{host}:{port}"
    latencies: dict[str, list[float]] = {kind: [] for kind, _ in MIX}
    errors = 0
    interval = load.clients / load.rate
    start = time.perf_counter() + 0.2
    deadline = start + load.duration

    def request(rng: random.Random) -> tuple[str, bytes]:
        draw, kind = rng.random(), MIX[-1][0]
        for name, share in MIX:
            if draw < share:
                kind = name
                break
            draw -= share
        number = rng.randint(1, load.cards)
        if kind == "card":
            return kind, build_request("GET", f"/api/v1/cards/BENCH-{number}", address, load.token)
        if kind == "board":
            return kind, build_request("GET", f"/api/v1/boards/{load.board_id}", address, load.token)
        if kind == "changes":
            since = max(0, load.head - rng.randint(0, 100))
            return kind, build_request(
                "GET", f"/api/v1/workspaces/{load.workspace_id}/changes?since={since}&limit=100",
                address, load.token)
        body = json.dumps({"points": rng.randint(0, 13)}).encode()
        return kind, build_request("PATCH", f"/api/v1/cards/BENCH-{number}", address, load.token, body)

    async def client(rng: random.Random) -> None:
        nonlocal errors
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(Connection, host, int(port))
        due = start + rng.random() * interval
        while due < deadline:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            kind, data = request(rng)
            try:
                status = await connection.request(data)
            except ConnectionError:
                errors += 1
                return
            if status == 200:
                latencies[kind].append(time.perf_counter() - due)
            else:
                errors += 1
            due += interval
        connection.transport.close()

    await asyncio.gather(*(client(random.Random(load.seed * 10_000 + i)) for i in range(load.clients)))
    return latencies, errors, time.perf_counter() - start


def mixed(base_url: str, token: str, board_id: str, workspace_id: str, cards: int, head: int,
          clients: int, rate: float, duration: float, processes: int) -> dict[str, float]:
    share = [clients // processes + (i < clients % processes) for i in range(processes)]
    loads = [Mixed(base_url, token, board_id, workspace_id, cards, head, n, rate * n / clients,
                   duration, i) for i, n in enumerate(share) if n]
    with multiprocessing.get_context("spawn").Pool(len(loads)) as pool:
        results = pool.map(run_mixed, loads)
    every = sorted(x for r in results for values in r[0].values() for x in values)
    errors = sum(r[1] for r in results)
    by_kind = {kind: sorted(x for r in results for x in r[0][kind]) for kind, _ in MIX}
    quantiles = statistics.quantiles(every, n=100) if len(every) > 1 else [0.0] * 99
    elapsed = max(max(r[2] for r in results), duration)  # past `duration` when the server fell behind
    return {"rate": len(every) / elapsed, "ok": len(every), "errors": errors, "elapsed": elapsed,
            "p50_ms": quantiles[49] * 1000, "p99_ms": quantiles[98] * 1000,
            **{f"p99_{kind}_ms": percentile(values, 99) * 1000 if values else 0.0
               for kind, values in by_kind.items()}}


# --- the 10,000-card snapshot ------------------------------------------------------------------


async def seed_big(base_url: str, token: str, cards: int, parallel: int = 16) -> str:
    """A workspace with one board of `cards` cards (created `parallel` at a time); its id."""
    async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", timeout=60,
                                 headers={"Authorization": f"Bearer {token}"}) as http:
        workspace = (await http.post("/workspaces", json={"name": "Big"})).raise_for_status().json()
        board = (await http.post(f"/workspaces/{workspace['id']}/boards",
                                 json={"name": "Big", "key": "BIG"})).raise_for_status().json()
        numbers = iter(range(cards))

        async def worker() -> None:
            for i in numbers:
                body = {"title": f"Card {i}: make the thing work", "labels": ["bug", "ui"][: i % 3],
                        "description": "Some words about the card. " * (i % 4)}
                (await http.post(f"/boards/{board['id']}/cards", json=body)).raise_for_status()

        await asyncio.gather(*(worker() for _ in range(parallel)))
    return workspace["id"]


SNAPSHOT_CASES = {
    "rendered": "a card created before each (a held snapshot cannot be brought forward by that): rendered",
    "brought forward": "a card changed before each: the held snapshot brought forward by the change",
    "held": "nothing changed: the held snapshot from the second on",
}


def snapshot_times(base_url: str, token: str, workspace_id: str, case: str,
                   times: int = 7) -> tuple[list[float], list[float], int]:
    """Per GET of the snapshot, one at a time (unzipped): seconds until the answer's headers arrive
    (the server's time: it sends them once the whole body is made; same machine) and until the
    whole body is read; and its size. Before each GET (not timed), as `case` says
    (`SNAPSHOT_CASES`): a card is created in the workspace, so the snapshot is rendered; a card
    (BIG-1) is changed, so the process brings the snapshot it holds forward (lib/rendered.py); or
    nothing."""
    first_bytes, whole = [], []
    with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {token}",
                                           "Accept-Encoding": "identity"}) as http:
        board = http.get(f"{base_url}/api/v1/cards/BIG-1").raise_for_status().json()["board_id"]
        for n in range(times):
            if case == "rendered":
                http.post(f"{base_url}/api/v1/boards/{board}/cards",
                          json={"title": f"Made before snapshot {n}"}).raise_for_status()
            elif case == "brought forward":
                http.patch(f"{base_url}/api/v1/cards/BIG-1", json={"points": n + 1}).raise_for_status()
            started = time.perf_counter()
            with http.stream("GET", f"{base_url}/api/v1/workspaces/{workspace_id}/snapshot") as response:
                first_bytes.append(time.perf_counter() - started)
                response.raise_for_status()
                size = len(response.read())
            whole.append(time.perf_counter() - started)
    return first_bytes, whole, size


# --- the reconnect after a restart -------------------------------------------------------------


class CatchingUp(BenchClient):
    """A socket that subscribes with its own `since` and checks the catch-up: every seq from
    since + 1 on, in order, once; caught up at the `subscribed` head."""

    def __init__(self, url: str, parser: Parser, arrivals: Arrivals) -> None:
        super().__init__(url, parser, arrivals)
        self.target: int | None = None
        self.caught_up: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.versions: dict[tuple[str, int], float] = {}
        """When each (entity id, version) arrived."""

    def _message(self, stamp: float, message: dict) -> None:
        if message["type"] == "subscribed":
            self.target = message["seq"]
            self._check(stamp)
        elif message["type"] == "change":
            seq = message["seq"]
            if seq != self.last_seq + 1:
                self.problems.append(f"seq {seq} after {self.last_seq}")
            self.last_seq = max(self.last_seq, seq)
            self.received[seq] = stamp
            change = message["change"]
            self.versions[(change["entity_id"], change["version"])] = stamp
            self._check(stamp)
        else:
            super()._message(stamp, message)

    def _check(self, stamp: float) -> None:
        if self.target is not None and self.last_seq >= self.target and not self.caught_up.done():
            self.caught_up.set_result(stamp)

    async def catch_up(self, token: str, workspace_id: str, since: int) -> float:
        await asyncio.wait_for(self.open, 60)
        self.send({"type": "auth", "token": token})
        answer = await asyncio.wait_for(self.messages.get(), 60)
        assert answer["type"] == "authenticated", answer
        self.last_seq = since
        self.send({"type": "subscribe", "workspace_id": workspace_id, "since": since})
        return await asyncio.wait_for(self.caught_up, 120)


@dataclass
class Observer:
    base_url: str
    token: str
    workspace_id: str
    card_key: str
    head: int
    write_every: float
    seconds: float


def observe(job: Observer) -> list[tuple[float, float]]:
    """In a process of its own (its loop is not the one parsing the thousand catch-ups): change a
    card every `write_every` s for `seconds` and time each change from just before its PATCH until
    an already subscribed socket reads it; (t0, latency in ms) per change, -1 for a change that
    never arrived, -2 for a write that failed."""
    return uvloop.run(_observe(job))


async def _observe(job: Observer) -> list[tuple[float, float]]:
    loop = asyncio.get_running_loop()
    ws_url = job.base_url.replace("http://", "ws://") + "/api/v1/ws"
    host, port = job.base_url.removeprefix("http://").split(":")
    _, observer = await loop.create_connection(lambda: CatchingUp(ws_url, Parser(loop), Arrivals(1)),
                                               host, int(port))
    try:
        await observer.catch_up(job.token, job.workspace_id, job.head)
        sent: dict[tuple[str, int], float] = {}
        failed: list[float] = []
        async with httpx.AsyncClient(base_url=f"{job.base_url}/api/v1", timeout=30,
                                     headers={"Authorization": f"Bearer {job.token}"}) as http:
            deadline = time.time() + job.seconds
            card = (await http.get(f"/cards/{job.card_key}")).raise_for_status().json()
            points, version = card["points"] or 0, card["version"]
            while time.time() < deadline:
                points = (points + 1) % 13
                t0 = time.time()
                try:
                    response = await http.patch(f"/cards/{job.card_key}", json={"points": points})
                    card = response.raise_for_status().json()
                except httpx.HTTPError:
                    failed.append(t0)
                else:  # a new version, with its change (the points differ from the last ones)
                    if card["version"] > version:
                        sent[(card["id"], card["version"])] = t0
                    version = card["version"]
                await asyncio.sleep(job.write_every)
        await asyncio.sleep(2)
        return [(t0, (observer.versions[key] - t0) * 1000 if key in observer.versions else -1.0)
                for key, t0 in sent.items()] + [(t0, -2.0) for t0 in failed]
    finally:
        observer.close()


async def reconnect(base_url: str, token: str, workspace_id: str, card_key: str, head: int,
                    clients: int, behind: int, write_every: float, server_pid: int) -> dict[str, float]:
    """`clients` sockets connecting at once, each `since` up to `behind` changes behind the head,
    while another process changes a card every `write_every` s and times each change's way to an
    already subscribed socket (PATCH sent → the change read off that socket)."""
    raise_fd_limit(2 * clients + 512)
    loop = asyncio.get_running_loop()
    parser = Parser(loop)
    ws_url = base_url.replace("http://", "ws://") + "/api/v1/ws"
    host, port = base_url.removeprefix("http://").split(":")
    arrivals = Arrivals(clients)
    rng = random.Random(7)
    sockets: list[CatchingUp] = []
    pool = multiprocessing.get_context("spawn").Pool(1)
    try:
        window = 30.0
        observing = pool.apply_async(observe, (Observer(base_url, token, workspace_id, card_key, head,
                                                        write_every, window),))
        await asyncio.sleep(3.0)  # the observer's process starts, subscribes and writes

        async def one() -> float:
            _, socket = await loop.create_connection(lambda: CatchingUp(ws_url, parser, arrivals),
                                                     host, int(port))
            sockets.append(socket)
            return await socket.catch_up(token, workspace_id, head - rng.randint(1, behind))

        server, this = psutil.Process(server_pid), psutil.Process()
        cpu_before = cpu_seconds(server), cpu_seconds(this)
        started = time.time()
        done = await asyncio.gather(*(one() for _ in range(clients)), return_exceptions=True)
        finished = time.time()
        server_cpu, client_cpu = cpu_seconds(server) - cpu_before[0], cpu_seconds(this) - cpu_before[1]
        timed = await asyncio.to_thread(observing.get, window + 60)
        failures = [d for d in done if isinstance(d, BaseException)]
        stamps = sorted(d - started for d in done if not isinstance(d, BaseException))
        live = [ms for t0, ms in timed if started <= t0 <= finished and ms >= 0]
        lost = sum(1 for _, ms in timed if ms == -1.0)
        write_errors = sum(1 for _, ms in timed if ms == -2.0)
        problems = [p for s in sockets for p in s.problems]
        return {"clients": clients, "failed": len(failures), "problems": len(problems), "live_lost": lost, "write_errors": write_errors,
                "all_caught_up_s": stamps[-1] if stamps else float("inf"),
                "p50_caught_up_s": percentile(stamps, 50) if stamps else float("inf"),
                "server_cpu_s": server_cpu, "client_cpu_s": client_cpu,
                "live_changes": len(live), "live_p50_ms": percentile(live, 50) if live else 0.0,
                "live_p99_ms": percentile(live, 99) if live else 0.0,
                "live_max_ms": max(live) if live else 0.0,
                "first_problem": problems[0] if problems else (repr(failures[0]) if failures else "")}
    finally:
        pool.terminate()
        for socket in sockets:
            socket.close()
        await asyncio.sleep(0.1)
