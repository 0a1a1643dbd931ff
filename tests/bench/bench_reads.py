"""The reads of issue 19 against one real server process, in one run (a script, not a test).

    UV_COMPILE_BYTECODE=1 uv run python tests/bench/bench_reads.py [--duration 5] [--concurrency 10]
        [--mixed-clients 200] [--reconnect-clients 1000] [--behind 500] [--big-cards 10000]

Creates a fresh database, starts one `taskly-server run` on it, creates a workspace with a board
of `--cards` cards (labels, descriptions, an assignee on some), then measures:

1. Each for `--duration` seconds with `--concurrency` keep-alive clients (bench_moves' minimal
   HTTP/1.1 client, in `--client-processes` processes, no Accept-Encoding so no gzip, no
   If-None-Match so no 304):

       GET /health/live                         the reference
       GET /api/v1/cards/BENCH-{n}              a random card by key
       GET /api/v1/boards/{id}/cards            the whole board
       GET /api/v1/workspaces/{id}/snapshot     the whole workspace
       GET /api/v1/workspaces/{id}/changes?since=0&limit=100

   req/s, p50/p99, the server's CPU per request, and both ratios to /health/live (by rate, and by
   server CPU per request: the latter holds up better on a loaded machine). Goals: card ≤ 2.5x,
   board and snapshot of 500 cards ≤ 15x, changes page of 100 ≤ 6x.
2. The mixed load (tests/bench/reads_load.py): `--mixed-clients` clients, open loop, together
   offering `--mixed-share` of the /health/live rate: 50% card reads, 15% board reads (`GET
   /boards/{id}`), 10% changes pages, 25% writes (PATCH a card's points); p99 from when each
   request was due, and errors. Goal: p99 ≤ 100 ms, no error, at ≥ 30% of the /health/live rate.
3. The reconnect after a restart: the server is restarted, then `--reconnect-clients` WebSocket
   clients connect at once, each subscribing with `since` a random 1 to `--behind` changes behind
   the head; the time until every one has every change up to its `subscribed` head (in order,
   once), the server's CPU meanwhile, and — from another process — the latency of a change made
   every `--write-every` s (PATCH sent → read off an already subscribed socket). Goals: all caught
   up ≤ 5 s, live p99 ≤ 100 ms.
4. The snapshot of a workspace of `--big-cards` cards (made through the API), one request at a
   time: its time with a card created before each request (rendered each time: the goal's
   figure), with a card changed before each (the process brings the snapshot it holds forward by
   the change), and with nothing changed (the process sends the document it holds). Goal: ≤ 300 ms.

Quote the load average printed with each figure: the machine is shared.
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
import uvloop  # noqa: E402

from tests.bench.bench_moves import COLUMNS, Connection, build_request  # noqa: E402
from tests.bench.reads_load import (  # noqa: E402
    SNAPSHOT_CASES,
    mixed,
    reconnect,
    seed_big,
    snapshot_times,
)
from tests.support.processes import start_server  # noqa: E402
from tests.support.services import create_database, drop_database  # noqa: E402


@dataclass
class Load:
    base_url: str
    token: str
    paths: list[str] | list[tuple[str, str, bytes]]
    """GET paths, or (method, path, body) requests."""
    concurrency: int
    duration: float


def run_clients(load: Load) -> tuple[int, int, list[float], int]:
    """One client process: `load.concurrency` clients until the deadline; (ok, errors, latencies)."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    return asyncio.run(_clients(load))


async def _clients(load: Load) -> tuple[int, int, list[float], int]:
    host, port = load.base_url.removeprefix("http://").split(":")
    requests = [build_request(path[0], path[1], f"{host}:{port}", load.token, path[2])
                if isinstance(path, tuple) else build_request("GET", path, f"{host}:{port}", load.token)
                for path in load.paths]
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + load.duration

    async def client(rng: random.Random) -> None:
        nonlocal errors
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(Connection, host, int(port))
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            status = await connection.request(rng.choice(requests))
            if status == 200:
                latencies.append(time.perf_counter() - start)
            else:
                errors += 1
        connection.transport.close()

    await asyncio.gather(*(client(random.Random(i)) for i in range(load.concurrency)))
    return len(latencies), errors, latencies, 0


def measure(load: Load, processes: int) -> dict[str, float]:
    share = [load.concurrency // processes + (i < load.concurrency % processes) for i in range(processes)]
    loads = [Load(load.base_url, load.token, load.paths, n, load.duration) for n in share if n]
    with multiprocessing.get_context("spawn").Pool(len(loads)) as pool:
        results = pool.map(run_clients, loads)
    ok = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    latencies = sorted(x for r in results for x in r[2])
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {"rate": ok / load.duration, "ok": ok, "errors": errors,
            "p50_ms": quantiles[49] * 1000, "p99_ms": quantiles[98] * 1000}


def seed(base_url: str, cards: int) -> tuple[str, str, str, int]:
    """(token, workspace id, board id, bytes of the board's cards)."""
    with httpx.Client(base_url=f"{base_url}/api/v1", timeout=30) as http:
        login = http.post("/auth/dev-login", json={"username": "bench"}).raise_for_status().json()
        http.headers["Authorization"] = f"Bearer {login['access_token']}"
        workspace = http.post("/workspaces", json={"name": "Bench"}).raise_for_status().json()
        board = http.post(f"/workspaces/{workspace['id']}/boards",
                          json={"name": "Bench", "key": "BENCH"}).raise_for_status().json()
        for i in range(cards):
            body = {"title": f"Card {i}: make the thing work", "column": COLUMNS[i % len(COLUMNS)],
                    "description": "Some words about the card. " * (i % 4),
                    "labels": ["bug", "ui"][: i % 3], "priority": ["none", "low", "high"][i % 3]}
            if i % 2:
                body["assignees"] = ["bench"]
            http.post(f"/boards/{board['id']}/cards", json=body).raise_for_status()
        size = len(http.get(f"/boards/{board['id']}/cards").raise_for_status().content)
    return login["access_token"], workspace["id"], board["id"], size


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def workspace_seq(base_url: str, token: str, workspace_id: str) -> int:
    return httpx.get(f"{base_url}/api/v1/workspaces/{workspace_id}", timeout=30,
                     headers={"Authorization": f"Bearer {token}"}).raise_for_status().json()["seq"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--cards", type=int, default=500)
    parser.add_argument("--client-processes", type=int, default=1)
    parser.add_argument("--log-level", default="WARNING", help="the server's TASKLY_LOG_LEVEL")
    parser.add_argument("--mixed-clients", type=int, default=200, help="0 skips the mixed load")
    parser.add_argument("--mixed-share", type=float, default=0.3,
                        help="the mixed load's offered rate, as a share of the /health/live rate")
    parser.add_argument("--reconnect-clients", type=int, default=1000, help="0 skips the reconnect")
    parser.add_argument("--behind", type=int, default=500, help="how far behind a reconnecting socket is")
    parser.add_argument("--write-every", type=float, default=0.2,
                        help="seconds between the live changes made during the reconnect")
    parser.add_argument("--big-cards", type=int, default=10_000, help="0 skips the big snapshot")
    args = parser.parse_args()

    name, database_url = create_database("taskly_bench")
    log_dir = Path(tempfile.mkdtemp(prefix="taskly-bench-"))
    env = {"TASKLY_DATABASE_URL": database_url, "TASKLY_SECRET_KEY": "bench-secret-0123456789abcdef",
           "TASKLY_DEV_LOGIN": "1", "TASKLY_LOG_LEVEL": args.log_level, "TASKLY_HOME": str(log_dir)}
    server = start_server(env, log_dir)
    try:
        token, workspace_id, board_id, size = seed(server.url, args.cards)
        print(f"server pid {server.process.pid}, a board of {args.cards} cards ({size / 1000:.0f} KB), "
              f"{args.concurrency} clients in {args.client_processes} processes, "
              f"{args.duration:.0f} s each, {os.cpu_count()} CPUs", flush=True)
        kinds = [
            ("GET /health/live", ["/health/live"]),
            ("GET /cards/{key}", [f"/api/v1/cards/BENCH-{n}" for n in range(1, args.cards + 1)]),
            (f"board ({args.cards} cards)", [f"/api/v1/boards/{board_id}/cards"]),
            (f"snapshot ({args.cards} cards)", [f"/api/v1/workspaces/{workspace_id}/snapshot"]),
            ("changes page of 100", [f"/api/v1/workspaces/{workspace_id}/changes?since=0&limit=100"]),
            ("PATCH /cards/{key}", [("PATCH", f"/api/v1/cards/BENCH-{n}", json.dumps({"points": n % 14}).encode())
                                    for n in range(1, args.cards + 1)]),
        ]
        server_process = psutil.Process(server.process.pid)
        rows = []
        for label, paths in kinds:
            measure(Load(server.url, token, paths, args.concurrency, 1.0), args.client_processes)
            cpu_before = server_process.cpu_times()
            result = measure(Load(server.url, token, paths, args.concurrency, args.duration),
                             args.client_processes)
            cpu_after = server_process.cpu_times()
            cpu = cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system
            result["cpu_ms"] = cpu / max(result["ok"] + result["errors"], 1) * 1000
            rows.append((label, result))
            print(f"{label:>22}: {result['rate']:8.1f}/s  p50 {result['p50_ms']:7.1f} ms  "
                  f"p99 {result['p99_ms']:7.1f} ms  server CPU {result['cpu_ms']:.3f} ms/request  "
                  f"({result['ok']} ok, {result['errors']} errors)", flush=True)
        live = rows[0][1]
        print(f"\nload average {load_average()}\n")
        print("| request | req/s | x /health/live (rate) | x /health/live (server CPU) | p99 ms |")
        print("|---|---|---|---|---|")
        for label, result in rows:
            by_rate = live["rate"] / result["rate"] if result["rate"] else float("inf")
            by_cpu = result["cpu_ms"] / live["cpu_ms"] if live["cpu_ms"] else float("inf")
            print(f"| {label} | {result['rate']:,.1f} | {by_rate:.1f} | {by_cpu:.1f} | "
                  f"{result['p99_ms']:.1f} |", flush=True)
        errors = sum(result["errors"] for _, result in rows)

        if args.mixed_clients:
            head = workspace_seq(server.url, token, workspace_id)
            rate = live["rate"] * args.mixed_share
            result = mixed(server.url, token, board_id, workspace_id, args.cards, head,
                           args.mixed_clients, rate, args.duration, args.client_processes)
            errors += result["errors"]
            print(f"\nmixed load: {args.mixed_clients} clients offering {rate:,.0f} req/s "
                  f"({args.mixed_share:.0%} of the /health/live rate; 50% card, 15% board, 10% changes, "
                  f"25% writes): {result['rate']:,.0f} answered/s over {result['elapsed']:.1f} s, p50 {result['p50_ms']:.1f} ms, "
                  f"p99 {result['p99_ms']:.1f} ms (card {result['p99_card_ms']:.1f}, board "
                  f"{result['p99_board_ms']:.1f}, changes {result['p99_changes_ms']:.1f}, write "
                  f"{result['p99_write_ms']:.1f}), {result['errors']} errors; load average "
                  f"{load_average()}", flush=True)

        if args.reconnect_clients:
            server.stop()  # the restart: every client reconnects with its own `since`
            server = start_server(env, log_dir)
            head = workspace_seq(server.url, token, workspace_id)
            result = uvloop.run(reconnect(server.url, token, workspace_id, "BENCH-1", head,
                                          args.reconnect_clients, args.behind, args.write_every,
                                          server.process.pid))
            errors += result["failed"] + result["problems"] + result["live_lost"] + result["write_errors"]
            print(f"\nreconnect after a restart: {result['clients']} sockets at once, each up to "
                  f"{args.behind} changes behind seq {head}: all caught up in "
                  f"{result['all_caught_up_s']:.2f} s (half in {result['p50_caught_up_s']:.2f} s); "
                  f"server CPU {result['server_cpu_s']:.1f} s, clients' CPU {result['client_cpu_s']:.1f} s; "
                  f"{result['live_changes']} live changes meanwhile: p50 {result['live_p50_ms']:.1f} "
                  f"ms, p99 {result['live_p99_ms']:.1f} ms, max {result['live_max_ms']:.1f} ms; "
                  f"failed {result['failed']}, out of order {result['problems']}, live lost "
                  f"{result['live_lost']}, writes failed {result['write_errors']} {result['first_problem']}; load average {load_average()}",
                  flush=True)

        if args.big_cards:
            big = asyncio.run(seed_big(server.url, token, args.big_cards))
            for case, how in SNAPSHOT_CASES.items():
                first_bytes, whole, size = snapshot_times(server.url, token, big, case)
                print(f"\nsnapshot of {args.big_cards:,} cards ({size / 1e6:.1f} MB), {len(whole)} requests "
                      f"one at a time, {how}: server time (until the headers) median "
                      f"{statistics.median(first_bytes) * 1000:.0f} ms, best {min(first_bytes) * 1000:.0f} ms; "
                      f"whole body read median {statistics.median(whole) * 1000:.0f} ms; load average "
                      f"{load_average()}", flush=True)
        if errors:
            print("errors: some requests did not answer 200", file=sys.stderr)
            return 1
    finally:
        server.stop()
        drop_database(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
