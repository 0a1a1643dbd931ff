"""`taskly ls` from the cache (the fast reads of issue 19) beside taskwarrior's `task list`, in one run.

    UV_COMPILE_BYTECODE=1 uv run python tests/bench/bench_ls.py [--runs 21] [--cards 500]

Needs taskwarrior (`apt-get install -y taskwarrior`). Starts one `taskly-server run` on a fresh
database, creates a board of `--cards` cards over the API, fills a fresh cache with `taskly login`
+ `taskly sync`, and imports as many tasks into a temporary TASKDATA/TASKRC. Then times, round-robin
after warm-up (so the machine's load hits each alike):

- `task list` on a terminal (a pseudo-terminal of 160x50, as a person runs it)
- `taskly ls --offline` on that terminal (the table), and `--json` into a pipe
- `taskly ls` online with TASKLY_FRESH_SECONDS=0: one delta request that finds nothing new
- the same three on the typer path (TASKLY_FAST=0), for reference
- `python -c pass`

Goals (issue 19): ls --offline table ≤ 2.5x `task list`, --json ≤ 2x, online with an empty delta ≤ 4x.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.bench_cli_startup import TASKLY, precompile, seed, taskly  # noqa: E402
from tests.support.processes import start_server  # noqa: E402
from tests.support.services import create_database, drop_database  # noqa: E402

GOALS = {"taskly ls --offline (table)": 2.5, "taskly ls --offline --json": 2.0, "taskly ls (online, empty delta)": 4.0}


def run_once(argv: list[str], env: dict[str, str], terminal: bool) -> float:
    """Wall time of one run; on a pseudo-terminal (drained by a thread) or into a pipe."""
    if not terminal:
        started = time.perf_counter()
        completed = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        elapsed = time.perf_counter() - started
        if completed.returncode != 0:
            raise SystemExit(f"{argv} exited with {completed.returncode}")
        return elapsed
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    received = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            received.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.DEVNULL)
    code = process.wait()
    elapsed = time.perf_counter() - started
    os.close(slave)
    reader.join(5)
    os.close(master)
    if code != 0 or not received:
        raise SystemExit(f"{argv} exited with {code}")
    return elapsed


def taskwarrior(home: Path, count: int) -> dict[str, str]:
    """A TASKDATA with `count` pending tasks (projects, tags, priorities, due dates); its env."""
    data = home / "task"
    data.mkdir()
    rc = home / "taskrc"
    rc.write_text(f"data.location={data}\nconfirmation=off\nnews.version=2.6.0\n")
    env = {**os.environ, "TASKRC": str(rc), "TASKDATA": str(data)}
    tasks = [{"description": f"Card {i}: make the thing number {i} faster", "status": "pending",
              "project": ["web", "api", "infra"][i % 3], "tags": [["bug"], ["feature", "frontend"], []][i % 3],
              "priority": ["", "L", "M", "H"][i % 4] or None, "due": f"2027-{1 + i % 12:02d}-{1 + i % 28:02d}"}
             for i in range(count)]
    for task in tasks:
        if task["priority"] is None:
            del task["priority"]
    subprocess.run(["task", "import"], input=json.dumps(tasks), env=env, text=True, check=True,
                   capture_output=True)
    listed = subprocess.run(["task", "list"], env=env, capture_output=True, text=True, check=True)
    if f"{count} tasks" not in listed.stdout:
        raise SystemExit(f"task list does not show {count} tasks: {listed.stdout[-300:]}")
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=21, help="timed runs per command (≥ 7)")
    parser.add_argument("--cards", type=int, default=500)
    args = parser.parse_args()
    runs = max(7, args.runs)
    if shutil.which("task") is None:
        raise SystemExit("taskwarrior is needed: apt-get install -y taskwarrior")
    precompile()
    home = Path(tempfile.mkdtemp(prefix="taskly-bench-ls-"))
    env = {**os.environ, "TASKLY_HOME": str(home), "TERM": "xterm-256color",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    for name in ("TASKLY_TOKEN", "TASKLY_SERVER", "TASKLY_DEBUG", "TASKLY_WORKSPACE", "TASKLY_BOARD", "NO_COLOR",
                 "TASKLY_FAST", "COLUMNS", "LINES"):
        env.pop(name, None)
    name, database_url = create_database("taskly_bench_ls")
    server_env = {"TASKLY_DATABASE_URL": database_url, "TASKLY_DEV_LOGIN": "1",
                  "TASKLY_SECRET_KEY": "bench-secret-key-0123456789", "TASKLY_LOG_LEVEL": "WARNING"}
    server = start_server(server_env, home / "server")
    try:
        username, workspace, board = seed(server.url, args.cards)
        env.update(TASKLY_WORKSPACE=workspace, TASKLY_BOARD=board, TASKLY_FRESH_SECONDS="0")
        for step in (["login", "--server", server.url, "--dev", username], ["sync"]):
            result = taskly(env, *step)
            if result.returncode != 0:
                raise SystemExit(f"taskly {' '.join(step)} failed: {result.stderr}")
        listed = taskly(env, "ls", "--json")
        if len(json.loads(listed.stdout)) != args.cards or listed.stderr:
            raise SystemExit(f"taskly ls: {listed.stderr}")
        task_env = taskwarrior(home, args.cards)
        typer = {**env, "TASKLY_FAST": "0"}
        ls = [str(TASKLY), "ls"]
        commands = {  # name: (argv, env, on a terminal)
            "python -c pass": ([sys.executable, "-c", "pass"], env, False),
            "task list": (["task", "list"], task_env, True),
            "taskly ls --offline (table)": ([*ls, "--offline"], env, True),
            "taskly ls --offline --json": ([*ls, "--offline", "--json"], env, False),
            "taskly ls (online, empty delta)": (ls, env, True),
            "typer path: ls --offline (table)": ([*ls, "--offline"], typer, True),
            "typer path: ls --offline --json": ([*ls, "--offline", "--json"], typer, False),
            "typer path: ls (online)": (ls, typer, True),
        }
        times: dict[str, list[float]] = {command: [] for command in commands}
        for round_ in range(3 + runs):
            for command, (argv, command_env, terminal) in commands.items():
                elapsed = run_once(argv, command_env, terminal)
                if round_ >= 3:
                    times[command].append(elapsed)
    finally:
        server.stop()
        drop_database(name)
        shutil.rmtree(home, ignore_errors=True)

    load = os.getloadavg()
    base = statistics.median(times["task list"])
    print(f"\n{args.cards} cards / tasks; median of {runs} runs each (after 3 warm-up rounds), wall time; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")
    print("| command | median ms | min ms | x task list |\n| --- | ---: | ---: | ---: |")
    for command, samples in times.items():
        median = statistics.median(samples)
        print(f"| `{command}` | {median * 1000:.0f} | {min(samples) * 1000:.0f} | {median / base:.2f}x |")
    met = True
    for command, goal in GOALS.items():
        ratio = statistics.median(times[command]) / base
        met &= ratio <= goal
        print(f"{'goal met' if ratio <= goal else 'goal missed'}: {command} {ratio:.2f}x task list (goal ≤ {goal}x)")
    return 0 if met else 1


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"({time.monotonic() - started:.0f} s)", file=sys.stderr)
    sys.exit(code)
