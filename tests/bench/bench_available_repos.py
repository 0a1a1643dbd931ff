"""`taskly repo ls --available` end to end, whole-process wall time (a script, not a test).

    UV_COMPILE_BYTECODE=1 uv run python tests/bench/bench_available_repos.py [--runs 10] [--repos 250]

Creates a fresh database, starts the fake GitHub (its own process, no added latency), one
`taskly-server run` and one worker, signs a user in with GitHub, logs the CLI in with an API token
in a scratch TASKLY_HOME and creates a workspace. The user administers `--repos` repositories minus
one in six (on those they may only push), so GitHub's `GET /user/repos` takes several pages of 100.
It times `taskly repo ls --available --json` (the server reads every page with the user's token
and keeps the admin ones) beside `taskly repo ls --json` (a plain read of the server) and
`taskly --version` (the floor of any command), in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.bench_start import precompile, summary  # noqa: E402
from tests.support.fake_github_process import FakeGitHubProcess  # noqa: E402
from tests.support.github_stack import GitHubStack  # noqa: E402
from tests.support.processes import BIN  # noqa: E402
from tests.support.services import create_database, drop_database  # noqa: E402

TASKLY = BIN / "taskly"


def taskly(env: dict[str, str], *args: str, input: str = "") -> tuple[float, str]:
    """Run the CLI; its wall time in seconds and stdout (a failure stops the benchmark)."""
    started = time.perf_counter()
    done = subprocess.run([str(TASKLY), *args], env=env, input=input, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"taskly {' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}")
    return elapsed, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--repos", type=int, default=250)
    args = parser.parse_args()
    precompile()
    work = Path(tempfile.mkdtemp(prefix="taskly-bench-available-"))
    name, database_url = create_database("taskly_bench")
    fake = FakeGitHubProcess.start(work / "github")
    stack = None
    try:
        login = "bench-octo"
        fake.add_user(login)
        admin = 0
        for number in range(args.repos):
            level = "write" if number % 6 == 5 else "admin"
            admin += level == "admin"
            fake.add_repo(f"acme/repo-{number:04}", collaborators={login: level})
        stack = GitHubStack.start(work, database_url, fake)
        with stack.github_login(login).http as http:
            api_token = http.post("/tokens", json={"name": "bench"}).json()["token"]
        env = {**os.environ, "TASKLY_HOME": str(work / "home"), "NO_COLOR": "1",
               "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
        for variable in ("TASKLY_TOKEN", "TASKLY_SERVER", "TASKLY_WORKSPACE", "TASKLY_BOARD"):
            env.pop(variable, None)
        taskly(env, "login", "--server", stack.url, "--with-token", input=api_token + "\n")
        taskly(env, "workspace", "create", "Bench")
        _, listed = taskly(env, "repo", "ls", "--available", "--json")  # warm-up, and the check
        assert len(json.loads(listed)) == admin, f"{len(json.loads(listed))} listed, {admin} expected"
        available = [taskly(env, "repo", "ls", "--available", "--json")[0] for _ in range(args.runs)]
        connected = [taskly(env, "repo", "ls", "--json")[0] for _ in range(args.runs)]
        version = [taskly(env, "--version")[0] for _ in range(args.runs)]
        pages = (args.repos + 99) // 100
        print(f"taskly repo ls --available ({args.runs} runs each; {args.repos} repositories on the fake "
              f"GitHub, {admin} administered: {pages} pages of /user/repos):")
        print(summary("repo ls --available --json", available))
        print(summary("repo ls --json (reference)", connected))
        print(summary("taskly --version", version))
        print(f"  --available costs {statistics.median(available) - statistics.median(connected):.3f} s "
              "more than the plain read (median)")
    finally:
        if stack is not None:
            stack.stop()
        fake.stop()
        drop_database(name)


if __name__ == "__main__":
    main()
