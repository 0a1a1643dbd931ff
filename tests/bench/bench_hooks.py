"""What taskly's git hooks add to `git switch -c` and `git commit`, beside the same git commands
without hooks and `taskly --version`, in one run (a script, not a test).

    UV_COMPILE_BYTECODE=1 uv run python tests/bench/bench_hooks.py [--runs 11]

Starts one `taskly-server run` on a fresh database, signs a fresh user in with a board of
cards, and makes two repositories: one with `taskly hooks install`, one without. Then, for the
server up, stopped and frozen (SIGSTOP: it accepts connections and answers nothing), it times
`git switch -c web-N-…` (post-checkout moves card N) and `git commit --allow-empty` (the
commit-msg hooks prefix the key), round-robin with the plain repository and `taskly --version`
so load on the machine hits them alike, and prints medians and each one's ratio to
`taskly --version`. The hooks must never wait for the network: the frozen-server figures should
match the stopped-server ones. Goal: each hook ≤ 1 s on a quiet machine (the tests only check
that git is never blocked; this is where the budget is measured).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import SECRET  # noqa: E402
from tests.support.processes import RATE_LIMITS_OFF, start_server  # noqa: E402
from tests.support.services import create_database, drop_database  # noqa: E402

TASKLY = Path(sys.executable).parent / "taskly"
GIT_ENV = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}


def run(*args: str, cwd: Path | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=120,
                   env={**os.environ, **GIT_ENV, "NO_COLOR": "1"})
    return time.perf_counter() - started


def new_repo(path: Path, hooks: bool) -> Path:
    path.mkdir(parents=True)
    run("git", "init", "--quiet", "--initial-branch=main", cwd=path)
    run("git", "commit", "--quiet", "--allow-empty", "-m", "initial", cwd=path)
    if hooks:
        run(str(TASKLY), "hooks", "install", cwd=path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    options = parser.parse_args()
    name, database_url = create_database("taskly_bench")
    with tempfile.TemporaryDirectory(prefix="taskly-bench-hooks-") as tmp:
        os.environ.update({"TASKLY_HOME": f"{tmp}/home", "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
        env = {"TASKLY_DATABASE_URL": database_url, "TASKLY_SECRET_KEY": SECRET, "TASKLY_DEV_LOGIN": "1",
               **RATE_LIMITS_OFF}
        server = start_server(env, Path(tmp) / "server")
        try:
            run(str(TASKLY), "login", "--server", server.url, "--dev", "bench-hooks")
            run(str(TASKLY), "workspace", "create", "Bench hooks")
            run(str(TASKLY), "board", "create", "Web", "--key", "WEB")
            cards = 3 * (options.runs + 2)
            for number in range(1, cards + 1):
                run(str(TASKLY), "add", f"Card {number}")
            hooked = new_repo(Path(tmp) / "hooked", hooks=True)
            plain = new_repo(Path(tmp) / "plain", hooks=False)
            card = iter(range(1, cards + 1))
            results: dict[str, list[float]] = {}
            load_before = os.getloadavg()[0]
            for state in ("up", "stopped", "frozen"):
                if state == "stopped":
                    port = server.url.rsplit(":", 1)[1]
                    server.stop()
                if state == "frozen":
                    server = start_server(env, Path(tmp) / "server-2", port=int(port))
                    run(str(TASKLY), "sync")
                    os.kill(server.process.pid, signal.SIGSTOP)
                for _ in range(options.runs):
                    number = next(card)
                    samples = {
                        f"git switch -c, hooks, server {state}":
                            run("git", "switch", "--quiet", "-c", f"web-{number}-bench", cwd=hooked),
                        f"git commit, hooks, server {state}":
                            run("git", "commit", "--quiet", "--allow-empty", "-m", "bench", cwd=hooked),
                        "git switch -c, no hooks":
                            run("git", "switch", "--quiet", "-c", f"web-{number}-{state}", cwd=plain),
                        "git commit, no hooks": run("git", "commit", "--quiet", "--allow-empty", "-m", "b", cwd=plain),
                        "taskly --version": run(str(TASKLY), "--version"),
                    }
                    for label, seconds in samples.items():
                        results.setdefault(label, []).append(seconds)
            os.kill(server.process.pid, signal.SIGCONT)
        finally:
            server.stop()
            drop_database(name)
    reference = statistics.median(results["taskly --version"])
    print(f"load average {load_before:.2f} -> {os.getloadavg()[0]:.2f}; {options.runs} runs each, medians")
    for label, samples in results.items():
        median = statistics.median(samples)
        print(f"  {label:40} {median * 1000:8.0f} ms  {median / reference:5.2f}x taskly --version")
    return 0


if __name__ == "__main__":
    sys.exit(main())
