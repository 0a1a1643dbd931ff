"""`taskly sprint show --offline` beside `taskly ls --offline`, 500 cards in the cache.

    UV_COMPILE_BYTECODE=1 uv run python tests/bench/bench_sprint_show.py [--runs 21] [--cards 500]

Starts one `taskly-server run` on a fresh database, creates a board with `--cards` cards over the
API (two-thirds of them in one active sprint), fills a fresh cache with `taskly login` +
`taskly sync`, stops the server, then times the commands `--runs` times each, round-robin after
warm-up (the machine's load hits each alike), whole-process wall time, output to a pipe.
Goal: `taskly sprint show --offline` ≤ 1.5x `taskly ls --offline` (median).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.bench_cli_startup import TASKLY, measure, precompile, taskly  # noqa: E402
from tests.support.api import Api  # noqa: E402
from tests.support.processes import start_server  # noqa: E402
from tests.support.services import create_database, drop_database  # noqa: E402

GOAL = 1.5


def seed(url: str, count: int) -> tuple[str, str, str]:
    """A user with a board of `count` cards, two-thirds of them in the active sprint "Bench sprint"."""
    api = Api.login(url)
    workspace = api.workspace("Bench")
    board = api.board(workspace["id"], "BEN", "Bench")
    columns = [column["name"] for column in board["columns"]]
    sprint = api.ok("POST", f"/boards/{board['id']}/sprints", json={
        "name": "Bench sprint", "start_date": str(date.today() - timedelta(days=3)),
        "end_date": str(date.today() + timedelta(days=10)), "goal": "Make every thing faster",
        "capacity_points": 400})

    def create(index: int) -> None:
        api.ok("POST", f"/boards/{board['id']}/cards", json={
            "title": f"Card {index}: make the thing number {index} faster",
            "column": columns[index % len(columns)], "description": "Some *markdown* text.\n" * 3,
            "labels": ["bug", "feature"][index % 2:], "points": index % 13, "assignees": [api.username],
            "sprint_id": sprint["id"] if index % 3 else None})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(create, range(count)))
    return api.username, "Bench", "BEN"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=21, help="timed runs per command (≥ 11)")
    parser.add_argument("--cards", type=int, default=500)
    args = parser.parse_args()
    runs = max(11, args.runs)
    precompile()

    home = Path(tempfile.mkdtemp(prefix="taskly-bench-sprint-"))
    env = {**os.environ, "TASKLY_HOME": str(home), "NO_COLOR": "1",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    for name in ("TASKLY_TOKEN", "TASKLY_SERVER", "TASKLY_DEBUG"):
        env.pop(name, None)
    name, database_url = create_database("taskly_bench_sprint")
    server_env = {"TASKLY_DATABASE_URL": database_url, "TASKLY_DEV_LOGIN": "1",
                  "TASKLY_SECRET_KEY": "bench-secret-key-0123456789", "TASKLY_LOG_LEVEL": "WARNING",
                  "TASKLY_RATE_LIMIT_USER": "0", "TASKLY_RATE_LIMIT_IP": "0"}
    server = start_server(server_env, home / "server")
    try:
        started = time.monotonic()
        username, workspace, board = seed(server.url, args.cards)
        print(f"created {args.cards} cards in {time.monotonic() - started:.1f} s", file=sys.stderr)
        env.update(TASKLY_WORKSPACE=workspace, TASKLY_BOARD=board)
        for step in (["login", "--server", server.url, "--dev", username], ["sync"]):
            result = taskly(env, *step)
            if result.returncode != 0:
                raise SystemExit(f"taskly {' '.join(step)} failed: {result.stderr}")
        shown = taskly(env, "sprint", "show", "--offline")
        if shown.returncode != 0 or shown.stdout.count("\n") < args.cards * 2 // 3:
            raise SystemExit(f"sprint show printed too little: {shown.stderr}")
    finally:
        server.stop()
        drop_database(name)

    commands = {
        "taskly ls --offline": [str(TASKLY), "ls", "--offline"],
        "taskly sprint show --offline": [str(TASKLY), "sprint", "show", "--offline"],
        "taskly ls --offline --json": [str(TASKLY), "ls", "--offline", "--json"],
        "taskly sprint show --offline --json": [str(TASKLY), "sprint", "show", "--offline", "--json"],
    }
    load = os.getloadavg()
    times = measure(commands, env, runs)
    load_after = os.getloadavg()
    shutil.rmtree(home, ignore_errors=True)

    base = statistics.median(times["taskly ls --offline"])
    print(f"\n{args.cards} cards cached ({args.cards - args.cards // 3} in the sprint); median of {runs} runs "
          f"each (after 3 warm-up rounds), wall time; load average {load[0]:.2f} before, "
          f"{load_after[0]:.2f} after\n")
    print("| command | median ms | min ms | x `taskly ls --offline` |\n| --- | ---: | ---: | ---: |")
    for command, samples in times.items():
        median = statistics.median(samples)
        print(f"| `{command}` | {median * 1000:.0f} | {min(samples) * 1000:.0f} | {median / base:.2f}x |")
    ratio = statistics.median(times["taskly sprint show --offline"]) / base
    print()
    print(f"goal {'met' if ratio <= GOAL else 'missed'}: sprint show --offline {ratio:.2f}x ls --offline "
          f"(goal ≤ {GOAL}x)")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
