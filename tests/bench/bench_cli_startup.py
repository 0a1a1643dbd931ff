"""Whole-process start-up time of the `taskly` CLI beside `python -c pass` and `gh --version`.

    UV_COMPILE_BYTECODE=1 uv run python tests/bench/bench_cli_startup.py [--runs 21] [--cards 500]

Installs `gh` (Debian package) when missing and apt-get can (else gh is skipped, with a note),
precompiles the workspace's sources (this machine sets PYTHONDONTWRITEBYTECODE=1 and editable
installs have no bytecode), starts one `taskly-server run` on a fresh database, creates a board
with `--cards` cards over the API, fills a fresh cache with `taskly login` + `taskly sync`, stops
the server, then times each command `--runs` times (after warm-up, round-robin so load on the
machine hits every command alike) and prints the medians and their ratio to `gh --version`.
Goals: `taskly --version` ≤ 2.5x gh, `taskly ls --offline --json` ≤ 4x gh.
"""

from __future__ import annotations

import argparse
import compileall
import json
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

from tests.support.api import Api  # noqa: E402
from tests.support.processes import start_server  # noqa: E402
from tests.support.services import create_database, drop_database  # noqa: E402

TASKLY = Path(sys.executable).parent / "taskly"
GOALS = {"taskly --version": 2.5, "taskly ls --offline --json": 4.0}


def ensure_gh() -> str | None:
    found = shutil.which("gh")
    if found:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        print("note: gh is not installed and apt-get is unavailable (or not root): gh is skipped",
              file=sys.stderr)
        return None
    print("installing gh (apt-get install -y gh)…", file=sys.stderr)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run(["apt-get", "install", "-y", "gh"], **quiet)
    if shutil.which("gh") is None:  # the package lists may be missing on a fresh box
        subprocess.run(["apt-get", "update"], **quiet)
        subprocess.run(["apt-get", "install", "-y", "gh"], **quiet)
    found = shutil.which("gh")
    if found is None:
        print("note: apt-get could not install gh: gh is skipped", file=sys.stderr)
    return found


def precompile() -> None:
    """Bytecode for our editable sources and the venv, as UV_COMPILE_BYTECODE=1 gives installs."""
    import sysconfig

    venv = Path(sysconfig.get_paths()["purelib"])
    for folder in (ROOT / "cli" / "src", ROOT / "shared" / "src", venv):
        compileall.compile_dir(folder, quiet=2, workers=1)


def seed(url: str, count: int) -> tuple[str, str, str]:
    """A user with a workspace and a board of `count` cards; (username, workspace, board key)."""
    api = Api.login(url)
    workspace = api.workspace("Bench")
    board = api.board(workspace["id"], "BEN", "Bench")
    columns = [column["name"] for column in board["columns"]]
    labels = ["bug", "feature", "frontend", "backend", "infra"]
    priorities = ["none", "low", "medium", "high", "urgent"]

    def create(index: int) -> None:
        api.ok("POST", f"/boards/{board['id']}/cards", json={
            "title": f"Card {index}: make the thing number {index} faster",
            "column": columns[index % len(columns)], "description": "Some *markdown* text.\n" * 3,
            "labels": [labels[index % 5], labels[(index + 2) % 5]],
            "priority": priorities[index % 5], "points": index % 13, "assignees": [api.username]})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(create, range(count)))
    return api.username, "Bench", "BEN"


def taskly(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(TASKLY), *args], env=env, capture_output=True, text=True,
                          timeout=120)


def measure(commands: dict[str, list[str]], env: dict[str, str], runs: int,
            warmup: int = 3) -> dict[str, list[float]]:
    """Wall times per command, round-robin (so the machine's load hits every command alike)."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(warmup + runs):
        for name, argv in commands.items():
            started = time.perf_counter()
            code = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL).returncode
            elapsed = time.perf_counter() - started
            if code != 0:
                raise SystemExit(f"{name} exited with {code}")
            if round_ >= warmup:
                times[name].append(elapsed)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=21, help="timed runs per command (≥ 11)")
    parser.add_argument("--cards", type=int, default=500)
    args = parser.parse_args()
    runs = max(11, args.runs)
    gh = ensure_gh()
    precompile()

    home = Path(tempfile.mkdtemp(prefix="taskly-bench-cli-"))
    env = {**os.environ, "TASKLY_HOME": str(home), "NO_COLOR": "1",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    for name in ("TASKLY_TOKEN", "TASKLY_SERVER", "TASKLY_DEBUG"):
        env.pop(name, None)
    name, database_url = create_database("taskly_bench_cli")
    server_env = {"TASKLY_DATABASE_URL": database_url, "TASKLY_DEV_LOGIN": "1",
                  "TASKLY_SECRET_KEY": "bench-secret-key-0123456789", "TASKLY_LOG_LEVEL": "WARNING"}
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
        listed = taskly(env, "ls", "--offline", "--json")
        cards = json.loads(listed.stdout)
        if len(cards) != args.cards:
            raise SystemExit(f"the cache holds {len(cards)} cards, expected {args.cards}")
        key = cards[len(cards) // 2]["key"]
    finally:
        server.stop()
        drop_database(name)

    commands = {"python -c pass": [sys.executable, "-c", "pass"]}
    if gh:
        commands["gh --version"] = [gh, "--version"]
    commands |= {
        "taskly --version": [str(TASKLY), "--version"],
        "taskly --help": [str(TASKLY), "--help"],
        "taskly ls --offline --json": [str(TASKLY), "ls", "--offline", "--json"],
        f"taskly show {key} --offline": [str(TASKLY), "show", key, "--offline"],
    }
    times = measure(commands, env, runs)
    shutil.rmtree(home, ignore_errors=True)

    base = statistics.median(times["gh --version"]) if gh else None
    print(f"\n{args.cards} cards cached; median of {runs} runs each (after 3 warm-up rounds), "
          "wall time\n")
    print("| command | median ms | min ms | x gh --version |\n| --- | ---: | ---: | ---: |")
    failed = []
    for command, samples in times.items():
        median = statistics.median(samples)
        ratio = f"{median / base:.2f}x" if base else "n/a"
        print(f"| `{command}` | {median * 1000:.0f} | {min(samples) * 1000:.0f} | {ratio} |")
        goal = GOALS.get(command)
        if goal and base and median / base > goal:
            failed.append(f"{command}: {median / base:.2f}x gh (goal ≤ {goal}x)")
    print()
    for line in failed:
        print(f"goal missed: {line}")
    if not failed and base:
        print("goals met: " + ", ".join(f"{c} ≤ {g}x gh" for c, g in GOALS.items()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
