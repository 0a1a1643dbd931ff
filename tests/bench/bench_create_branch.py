"""create_branch jobs per second with one worker against the fake GitHub (a script, not a test).

    UV_COMPILE_BYTECODE=1 uv run python tests/bench/bench_create_branch.py [--jobs 600] [--redis]

Creates a fresh database, starts the fake GitHub (its own process), one `taskly-server run` and
one `taskly-server worker` (SAQ on Postgres, or on Redis with --redis), signs a user in through
the device flow and connects a repository. With the worker stopped it creates `--jobs` cards and
asks for each card's branch (`POST /cards/{key}/create-branch`), then starts the worker and
measures, from the SAQ job records, the time from the first job's start to the last job's end:
each job reads the base branch and creates the ref on the fake GitHub (two HTTP calls, PyGithub
in a thread) and commits the card's change (branch, assignee, move) with its Change row.
It also prints the worker's CPU time per job, and the fake GitHub's own ceiling for those two
calls (20 threads, no Taskly): every fake ref operation runs git subprocesses under one lock, so
on a small machine the fake, not the worker, bounds the end-to-end rate.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402
from taskly_server.domain.github.breaker import CircuitBreaker  # noqa: E402
from taskly_server.domain.github.client import GitHubClient  # noqa: E402
from taskly_server.settings import Settings  # noqa: E402
from taskly_server.worker import create_queue  # noqa: E402

from tests.support.fake_github_process import FakeGitHubProcess  # noqa: E402
from tests.support.processes import free_port, start_server, start_worker  # noqa: E402
from tests.support.services import REDIS_URL, create_database, drop_database  # noqa: E402

SECRET = "bench-secret-0123456789abcdef0123456789"


def profile_prefix(profile: str | None) -> tuple[str, ...]:
    """Run the worker under cProfile, writing to `profile`, when asked."""
    return (sys.executable, "-m", "cProfile", "-o", profile) if profile else ()


def fake_ceiling(fake: FakeGitHubProcess, token: str, full_name: str, calls: int = 300) -> float:
    """Branch creations per second the fake GitHub itself sustains (read base, create ref)."""
    client = GitHubClient(fake.api_url, token, CircuitBreaker("bench"))

    def one(i: int) -> None:
        client.create_branch(full_name, f"ceiling-{i}", client.branch_sha(full_name, "main"))

    with ThreadPoolExecutor(20) as pool:
        started = time.perf_counter()
        list(pool.map(one, range(calls)))
        return calls / (time.perf_counter() - started)


def sign_in(http: httpx.Client, fake: FakeGitHubProcess, login: str) -> dict:
    device = http.post("/auth/github/device").json()
    fake.approve_device(device["user_code"], login)
    tokens = http.post("/auth/github/device/poll", json={"device_code": device["device_code"]})
    tokens.raise_for_status()
    return tokens.json()


async def job_records(settings: Settings, keys: list[str]) -> list:
    queue = create_queue(settings, max_connections=2)
    await queue.connect()
    try:
        return [job for job in await queue.jobs(keys)]
    finally:
        await queue.disconnect()


async def count_done(settings: Settings, keys: list[str]) -> int:
    return sum(1 for job in await job_records(settings, keys)
               if job is not None and job.status.value in ("complete", "failed", "aborted"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=600)
    parser.add_argument("--redis", action="store_true", help="SAQ on Redis instead of Postgres")
    parser.add_argument("--profile", metavar="FILE", help="run the measured worker under cProfile")
    args = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="taskly-bench-branch-"))
    name, database_url = create_database("taskly_bench")
    fake = FakeGitHubProcess.start(log_dir / "github")
    server = worker = None
    try:
        login = "bench-octo"
        gh_user = fake.add_user(login)
        full_name = "acme/bench"
        fake.add_repo(full_name, collaborators={login: "admin"})
        app = fake.add_oauth_app(device_interval=0)
        port = free_port()
        env = {"TASKLY_DATABASE_URL": database_url, "TASKLY_SECRET_KEY": SECRET,
               "TASKLY_QUEUE_NAME": f"bench-{uuid.uuid4().hex[:8]}", "TASKLY_WORKER_IN_PROCESS": "false",
               "TASKLY_PUBLIC_URL": f"http://127.0.0.1:{port}",
               "TASKLY_GITHUB_API_URL": fake.api_url, "TASKLY_GITHUB_OAUTH_URL": fake.url,
               "TASKLY_GITHUB_CLIENT_ID": app.client_id, "TASKLY_GITHUB_CLIENT_SECRET": app.client_secret}
        if args.redis:
            env["TASKLY_REDIS_URL"] = REDIS_URL
        settings = Settings(database_url=database_url, redis_url=env.get("TASKLY_REDIS_URL"),
                            secret_key=SECRET, queue_name=env["TASKLY_QUEUE_NAME"])
        server = start_server({**env, "TASKLY_LOG_LEVEL": "WARNING"}, log_dir, port=port)
        worker = start_worker(env, log_dir / "worker.log")
        with httpx.Client(base_url=f"{server.url}/api/v1", timeout=60) as http:
            tokens = sign_in(http, fake, login)
            http.headers["Authorization"] = f"Bearer {tokens['access_token']}"
            workspace = http.post("/workspaces", json={"name": "Bench"}).json()
            board = http.post(f"/workspaces/{workspace['id']}/boards", json={"name": "Bench", "key": "BEN"}).json()
            connect = http.post(f"/workspaces/{workspace['id']}/repositories",
                                json={"full_name": full_name, "board_id": board["id"]}).json()
            while http.get(f"/jobs/{connect['job_id']}").json()["status"] != "complete":
                time.sleep(0.05)
            worker.stop()
            worker = None
            cards = [http.post(f"/boards/{board['id']}/cards", json={"title": f"Bench card {i}"}).json()
                     for i in range(args.jobs)]
            keys = []
            for card in cards:
                accepted = http.post(f"/cards/{card['key']}/create-branch", json={})
                accepted.raise_for_status()
                keys.append(accepted.json()["job_id"])
        print(f"{len(keys)} create_branch jobs queued ({'redis' if args.redis else 'postgres'} queue); "
              "starting one worker (concurrency 10)", flush=True)
        worker = start_worker(env, log_dir / "worker.log", profile_prefix(args.profile))
        print(f"worker pid {worker.pid}", flush=True)
        cpu = psutil.Process(worker.pid)
        cpu_before = sum(cpu.cpu_times()[:2])
        deadline = time.monotonic() + 600
        while asyncio.run(count_done(settings, keys)) < len(keys):
            if time.monotonic() > deadline:
                raise RuntimeError("the jobs did not finish within 10 minutes")
            time.sleep(0.5)
        cpu_used = sum(cpu.cpu_times()[:2]) - cpu_before
        jobs = asyncio.run(job_records(settings, keys))
        complete = [job for job in jobs if job.status.value == "complete"]
        first = min(job.started for job in jobs)
        last = max(job.completed for job in jobs)
        elapsed = (last - first) / 1000
        durations = sorted(job.duration("process") for job in complete)
        created = sum(1 for job in complete if job.result and job.result.get("created"))
        print(f"  complete {len(complete)}/{len(jobs)} (branches created {created}, attempts "
              f"{sum(job.attempts for job in jobs)})")
        print(f"  first start -> last end: {elapsed:.2f} s  =>  {len(complete) / elapsed:.0f} jobs/s")
        print(f"  per job (ms): p50 {statistics.median(durations):.0f}  "
              f"p99 {durations[int(len(durations) * 0.99) - 1]:.0f}  max {durations[-1]:.0f}")
        print(f"  worker CPU: {cpu_used * 1000 / len(jobs):.1f} ms per job (user+system) => one worker "
              f"core would sustain ~{len(jobs) / cpu_used:.0f} jobs/s against an instant GitHub")
        refs = fake.refs(full_name)
        print(f"  refs in the bare repository: {sum(1 for ref in refs if ref.startswith('refs/heads/ben-'))}")
        worker.stop()
        worker = None
        print(f"fake GitHub alone (20 threads, read base + create ref): "
              f"{fake_ceiling(fake, gh_user.token, full_name):.0f} branches/s")
    finally:
        if worker is not None:
            worker.stop()
        if server is not None:
            server.stop()
        fake.stop()
        drop_database(name)


if __name__ == "__main__":
    main()
