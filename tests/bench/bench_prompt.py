"""`taskly status --prompt` wall time beside `taskly --version`, in the same run.

    UV_COMPILE_BYTECODE=1 uv run python tests/bench/bench_prompt.py [--runs 31] [--cards 500]

Starts one `taskly-server run` on a fresh database, creates a board with `--cards` cards over the
API (a notification's worth of state is not needed: the prompt counts rows), fills a fresh cache
with `taskly login` + `taskly sync`, queues one offline write, stops the server, then times, in a
git repository on the branch of one card, `taskly --version`, `taskly status --prompt` and
`python -c pass`, round-robin after warm-up (so the machine's load hits each alike). Goal: the
prompt's median ≤ 1.5 times `taskly --version`'s.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.bench_cli_startup import TASKLY, measure, precompile, seed, taskly  # noqa: E402
from tests.support.processes import start_server  # noqa: E402
from tests.support.services import create_database, drop_database  # noqa: E402

GOAL = 1.5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=31, help="timed runs per command (≥ 11)")
    parser.add_argument("--cards", type=int, default=500)
    args = parser.parse_args()
    runs = max(11, args.runs)
    precompile()

    home = Path(tempfile.mkdtemp(prefix="taskly-bench-prompt-"))
    env = {**os.environ, "TASKLY_HOME": str(home), "NO_COLOR": "1",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    for name in ("TASKLY_TOKEN", "TASKLY_SERVER", "TASKLY_DEBUG", "TASKLY_WORKSPACE", "TASKLY_BOARD"):
        env.pop(name, None)
    name, database_url = create_database("taskly_bench_prompt")
    server_env = {"TASKLY_DATABASE_URL": database_url, "TASKLY_DEV_LOGIN": "1",
                  "TASKLY_SECRET_KEY": "bench-secret-key-0123456789", "TASKLY_LOG_LEVEL": "WARNING"}
    server = start_server(server_env, home / "server")
    repo = home / "repo"
    try:
        username, workspace, board = seed(server.url, args.cards)
        env.update(TASKLY_WORKSPACE=workspace, TASKLY_BOARD=board)
        for step in (["login", "--server", server.url, "--dev", username], ["sync"],
                     ["edit", f"{board}-7", "--title", "Queued while offline", "--offline"]):
            result = taskly(env, *step)
            if result.returncode != 0:
                raise SystemExit(f"taskly {' '.join(step)} failed: {result.stderr}")
    finally:
        server.stop()
        drop_database(name)
    repo.mkdir()
    for git in (["init", "-q", "-b", "main"], ["checkout", "-q", "-b", f"{board.lower()}-7-queued"]):
        subprocess.run(["git", *git], cwd=repo, check=True)
    segment = subprocess.run([str(TASKLY), "status", "--prompt"], env=env, cwd=repo, capture_output=True,
                             text=True, check=True).stdout.strip()
    print(f"prompt segment: {segment!r}", file=sys.stderr)
    if not segment.startswith(f"{board}-7 ▸ ") or "⇡ 1" not in segment:
        raise SystemExit(f"unexpected segment {segment!r}")

    commands = {"python -c pass": [sys.executable, "-c", "pass"],
                "taskly --version": [str(TASKLY), "--version"],
                "taskly status --prompt": [str(TASKLY), "status", "--prompt"]}
    os.chdir(repo)
    times = measure(commands, env, runs)
    os.chdir(ROOT)
    shutil.rmtree(home, ignore_errors=True)

    load = os.getloadavg()
    base = statistics.median(times["taskly --version"])
    print(f"\n{args.cards} cards cached; median of {runs} runs each (after 3 warm-up rounds), wall time; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")
    print("| command | median ms | min ms | x taskly --version |\n| --- | ---: | ---: | ---: |")
    for command, samples in times.items():
        median = statistics.median(samples)
        print(f"| `{command}` | {median * 1000:.0f} | {min(samples) * 1000:.0f} | {median / base:.2f}x |")
    ratio = statistics.median(times["taskly status --prompt"]) / base
    print(f"\n{'goal met' if ratio <= GOAL else 'goal missed'}: status --prompt {ratio:.2f}x taskly --version "
          f"(goal ≤ {GOAL}x)")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"({time.monotonic() - started:.0f} s)", file=sys.stderr)
    sys.exit(code)
