"""`taskly start CARD` end to end, whole-process wall time (a script, not a test).

    UV_COMPILE_BYTECODE=1 uv run python tests/bench/bench_start.py [--runs 10]

Creates a fresh database, starts the fake GitHub (its own process, no added latency), one
`taskly-server run` and one `taskly-server worker` (SAQ on Postgres), signs a user in with GitHub
(device flow over the API), logs the CLI in with an API token in a scratch TASKLY_HOME, creates a
workspace and board, connects a repository with `taskly repo connect`, and clones the fake's bare
repository. Then, for `--runs` fresh cards (after one warm-up), it times `taskly start KEY` run in
the clone: the request, the worker's job on the fake GitHub (read the base, create the ref),
the card change back over the WebSocket, `git fetch` and `git switch --track`. It also times
`taskly start` again on a card that has its branch (only fetch and switch) and `taskly --version`
as the floor of any command. Goal: median of `taskly start` ≤ 1 s.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


from tests.support.fake_github_process import FakeGitHubProcess  # noqa: E402
from tests.support.github_stack import GitHubStack  # noqa: E402
from tests.support.processes import BIN  # noqa: E402
from tests.support.services import create_database, drop_database  # noqa: E402

TASKLY = BIN / "taskly"
GOAL = 1.0


def precompile() -> None:
    """Bytecode for our editable sources and the venv (what UV_COMPILE_BYTECODE=1 gives an install)."""
    import sysconfig

    for folder in (ROOT / "cli" / "src", ROOT / "shared" / "src", Path(sysconfig.get_paths()["purelib"])):
        compileall.compile_dir(folder, quiet=2, workers=1)


def taskly(env: dict[str, str], *args: str, cwd: Path | None = None, input: str = "") -> float:
    """Run the CLI; its wall time in seconds (a failure stops the benchmark)."""
    started = time.perf_counter()
    done = subprocess.run([str(TASKLY), *args], env=env, cwd=cwd, input=input, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"taskly {' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}")
    return elapsed


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def summary(name: str, times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    return (f"  {name:<34} median {statistics.median(ms):6.0f} ms   min {ms[0]:5.0f}   max {ms[-1]:5.0f}"
            f"   (n={len(ms)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    precompile()
    work = Path(tempfile.mkdtemp(prefix="taskly-bench-start-"))
    name, database_url = create_database("taskly_bench")
    fake = FakeGitHubProcess.start(work / "github")
    stack = None
    try:
        login = "bench-octo"
        fake.add_user(login)
        full_name = "acme/bench"
        repo = fake.add_repo(full_name, collaborators={login: "admin"})
        stack = GitHubStack.start(work, database_url, fake)
        with stack.github_login(login).http as http:
            api_token = http.post("/tokens", json={"name": "bench"}).json()["token"]
            cli_env = {**os.environ, "TASKLY_HOME": str(work / "home"), "NO_COLOR": "1",
                       "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
                       "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
                       "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
            for variable in ("TASKLY_TOKEN", "TASKLY_SERVER", "TASKLY_WORKSPACE", "TASKLY_BOARD"):
                cli_env.pop(variable, None)
            taskly(cli_env, "login", "--server", stack.url, "--with-token", input=api_token + "\n")
            taskly(cli_env, "workspace", "create", "Bench")
            taskly(cli_env, "board", "create", "Bench", "--key", "BEN")
            taskly(cli_env, "repo", "connect", full_name)
            clone = work / "clone"
            git("clone", "--quiet", repo.clone_url, str(clone), cwd=work)
            board = http.get(f"/workspaces/{http.get('/workspaces').json()[0]['id']}/boards").json()[0]
            cards = [http.post(f"/boards/{board['id']}/cards", json={"title": f"Bench card {i}"}).json()["key"]
                     for i in range(args.runs + 1)]
        taskly(cli_env, "sync", cwd=clone)
        warmup, measured = cards[0], cards[1:]
        taskly(cli_env, "start", warmup, cwd=clone)
        first: list[float] = []
        for key in measured:
            first.append(taskly(cli_env, "start", key, cwd=clone))
        again: list[float] = []
        for key in measured:
            git("switch", "--quiet", "main", cwd=clone)
            again.append(taskly(cli_env, "start", key, cwd=clone))
        version = [taskly(cli_env, "--version") for _ in measured]
        print(f"taskly start, end to end ({args.runs} runs each; fake GitHub without added latency):")
        print(summary("taskly start KEY (new branch)", first))
        print(summary("taskly start KEY (branch exists)", again))
        print(summary("taskly --version", version))
        median = statistics.median(first)
        verdict = "meets" if median <= GOAL else "misses"
        print(f"  goal: median ≤ {GOAL:g} s -> {median:.2f} s ({verdict} it)")
    finally:
        if stack is not None:
            stack.stop()
        fake.stop()
        drop_database(name)


if __name__ == "__main__":
    main()
