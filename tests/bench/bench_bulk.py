"""`taskly mv --where FILTER COLUMN` of 100 cards (one bulk request) beside a single `taskly mv`.

    UV_COMPILE_BYTECODE=1 uv run python tests/bench/bench_bulk.py [--runs 11] [--cards 100]

Starts one `taskly-server run` on a fresh database, creates a board with `--cards` cards labelled
`bench` in Todo plus 100 others, signs in and syncs a cache, then times, round-robin after a
warm-up round (so the machine's load hits each alike), whole-process wall time with the server up:
`taskly mv --where 'label:bench column:todo' done` (and back, `column:done` → todo: each run moves
every bench card) beside `taskly mv BEN-1 done` (and back). Each bulk run is checked to be one
request: the server's change feed has one Change per card, all with one mutation id.
Goal: the bulk move ≤ 3x the single move (median).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.bench_cli_startup import TASKLY, precompile, taskly  # noqa: E402
from tests.support.api import Api  # noqa: E402
from tests.support.processes import start_server  # noqa: E402
from tests.support.services import create_database, drop_database  # noqa: E402

GOAL = 3.0


def seed(api: Api, count: int) -> tuple[dict, dict]:
    workspace = api.workspace("Bench")
    board = api.board(workspace["id"], "BEN", "Bench")

    def create(index: int) -> None:
        bench = index < count
        api.ok("POST", f"/boards/{board['id']}/cards", json={
            "title": f"Card {index}: make the thing number {index} faster",
            "column": "Todo" if bench else "Backlog", "labels": ["bench"] if bench else ["other"],
            "points": index % 13, "priority": "medium"})

    for index in range(2):  # BEN-1 and BEN-2 exist before the others (BEN-1: the single move)
        create(count + index)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(create, [*range(count), *range(count + 2, count + 100)]))
    return workspace, board


LAST: list[subprocess.CompletedProcess] = []


def run(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    result = subprocess.run([str(TASKLY), *args], env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"taskly {' '.join(args)} exited with {result.returncode}: {result.stderr}")
    LAST[:] = [result]
    if "queued" in result.stderr:
        raise SystemExit(f"taskly {' '.join(args)} was queued, not sent within the write timeout: "
                         f"{result.stderr.strip()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=11, help="timed runs per command (≥ 5)")
    parser.add_argument("--cards", type=int, default=100)
    args = parser.parse_args()
    runs = max(5, args.runs)
    precompile()

    home = Path(tempfile.mkdtemp(prefix="taskly-bench-bulk-"))
    env = {**os.environ, "TASKLY_HOME": str(home), "NO_COLOR": "1",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    for name in ("TASKLY_TOKEN", "TASKLY_SERVER", "TASKLY_DEBUG"):
        env.pop(name, None)
    name, database_url = create_database("taskly_bench_bulk")
    server_env = {"TASKLY_DATABASE_URL": database_url, "TASKLY_DEV_LOGIN": "1",
                  "TASKLY_SECRET_KEY": "bench-secret-key-0123456789", "TASKLY_LOG_LEVEL": "WARNING",
                  "TASKLY_RATE_LIMIT_USER": "0", "TASKLY_RATE_LIMIT_IP": "0"}
    server = start_server(server_env, home / "server")
    bulk: list[float] = []
    single: list[float] = []
    try:
        api = Api.login(server.url)
        started = time.monotonic()
        workspace, _ = seed(api, args.cards)
        print(f"created {args.cards + 100} cards in {time.monotonic() - started:.1f} s", file=sys.stderr)
        env.update(TASKLY_WORKSPACE="Bench", TASKLY_BOARD="BEN")
        for step in (["login", "--server", server.url, "--dev", api.username], ["sync"]):
            if taskly(env, *step).returncode != 0:
                raise SystemExit(f"taskly {' '.join(step)} failed")
        load = os.getloadavg()
        there = ("label:bench column:todo", "done"), ("label:bench column:done", "todo")
        for round_ in range(1 + runs):
            for where, target in there:
                seq = api.ok("GET", f"/workspaces/{workspace['id']}/changes?since=0&limit=1")
                head = seq.get("seq") if isinstance(seq, dict) else None
                elapsed = run(env, "mv", "--where", where, target)
                if round_:
                    bulk.append(elapsed)
                if head is not None:
                    changes = api.ok("GET", f"/workspaces/{workspace['id']}/changes?since={head}&limit=500")["changes"]
                    moved = [c for c in changes if c["entity_type"] == "card"]
                    if len(moved) != args.cards or len({c["mutation_id"] for c in moved}) != 1:
                        raise SystemExit(f"expected {args.cards} changes of one request, got {len(moved)} "
                                         f"from {len({c['mutation_id'] for c in moved})}: {LAST[0].stderr}"
                                         f"{LAST[0].stdout[:300]}")
                elapsed = run(env, "mv", "BEN-1", target)
                if round_:
                    single.append(elapsed)
        load_after = os.getloadavg()
    finally:
        server.stop()
        drop_database(name)
        shutil.rmtree(home, ignore_errors=True)

    ratio = statistics.median(bulk) / statistics.median(single)
    print(f"\nmedians of {len(bulk)} runs each, round-robin after a warm-up round, wall time, server up; "
          f"load average {load[0]:.2f} before, {load_after[0]:.2f} after\n")
    print("| command | median ms | min ms | max ms |\n| --- | ---: | ---: | ---: |")
    for label, samples in ((f"taskly mv --where 'label:bench column:…' COLUMN ({args.cards} cards, 1 request)", bulk),
                           ("taskly mv BEN-1 COLUMN", single)):
        print(f"| `{label}` | {statistics.median(samples) * 1000:.0f} | {min(samples) * 1000:.0f} | "
              f"{max(samples) * 1000:.0f} |")
    print(f"\ngoal {'met' if ratio <= GOAL else 'missed'}: bulk {ratio:.2f}x single (goal ≤ {GOAL}x)")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
