"""create_branch jobs per second with one worker against the fake GitHub (a script, not a test).

    UV_COMPILE_BYTECODE=1 uv run python tests/bench/bench_create_branch.py [--jobs 600] [--redis]
        [--latency S]

Creates a fresh database, starts the fake GitHub (its own process), one `taskly-server run` and
one `taskly-server worker` (SAQ on Postgres, or on Redis with --redis), signs a user in through
the device flow and connects a repository. With the worker stopped it creates `--jobs` cards and
asks for each card's branch (`POST /cards/{key}/create-branch`), then starts the worker and
measures, from the SAQ job records, the time from the first job's start to the last job's end:
each job reads the base branch and creates the ref on the fake GitHub (two HTTP calls, PyGithub
in a thread) and commits the card's change (branch, assignee, move) with its Change row. With
`--latency S` the fake answers every call S seconds late, as GitHub itself would (default: at
once). It also prints the longest pause with no job running (a stalled queue shows there).

The machine is small and shared, so rates are noisy: it also prints the CPU time each process
spent per job (user+system, from psutil) — the worker, the fake GitHub, and the Postgres
backends of this bench's database (plus redis-server with --redis, which other programs may
share) — and the load average. Last, the fake GitHub's own ceiling for those two calls without
Taskly: `--ceiling-calls` branches from 20 threads of a plain keep-alive HTTP client, and the
fake's CPU per branch.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
from taskly_server.settings import Settings  # noqa: E402
from taskly_server.worker import CONCURRENCY, create_queue  # noqa: E402

from tests.conftest import SECRET  # noqa: E402
from tests.support.fake_github_process import FakeGitHubProcess  # noqa: E402
from tests.support.github_stack import GitHubStack  # noqa: E402
from tests.support.services import REDIS_URL, create_database, drop_database  # noqa: E402


def profile_prefix(profile: str | None) -> tuple[str, ...]:
    """Run the worker under cProfile, writing to `profile`, when asked."""
    return (sys.executable, "-m", "cProfile", "-o", profile) if profile else ()


class CpuMeter:
    """CPU seconds (user, system) that a set of processes spent between `start` and `read`.

    Processes are found again at every reading (Postgres backends come and go); one that started
    in between counts from zero, one that ended in between is missing from the total.
    """

    def __init__(self, find: Callable[[], list[psutil.Process]]) -> None:
        self.find = find
        self.before: dict[int, tuple[float, float]] = {}

    @staticmethod
    def times(processes: list[psutil.Process]) -> dict[int, tuple[float, float]]:
        found = {}
        for process in processes:
            with contextlib.suppress(psutil.Error):
                cpu = process.cpu_times()
                found[process.pid] = (cpu.user, cpu.system)
        return found

    def start(self) -> None:
        self.before = self.times(self.find())

    def read(self) -> tuple[float, float]:
        after = self.times(self.find())
        user = sum(u - self.before.get(pid, (0.0, 0.0))[0] for pid, (u, _) in after.items())
        system = sum(s - self.before.get(pid, (0.0, 0.0))[1] for pid, (_, s) in after.items())
        return user, system


def processes_named(fragment: str) -> Callable[[], list[psutil.Process]]:
    """Processes whose command line contains `fragment` (a Postgres backend shows its database)."""
    def find() -> list[psutil.Process]:
        found = []
        for process in psutil.process_iter(["cmdline"]):
            cmdline = " ".join(process.info["cmdline"] or [])
            if fragment in cmdline:
                found.append(process)
        return found
    return find


def one_process(pid: int) -> Callable[[], list[psutil.Process]]:
    return lambda: [psutil.Process(pid)]


def load_average() -> str:
    return "load average " + ", ".join(f"{value:.2f}" for value in os.getloadavg())


def fake_ceiling(fake: FakeGitHubProcess, token: str, full_name: str, calls: int) -> tuple[float, float]:
    """Branches per second the fake GitHub sustains alone (read the base, create the ref), from 20
    threads each on one keep-alive connection; and the fake's CPU ms per branch."""
    url = urlsplit(fake.api_url)
    headers = {"Authorization": f"token {token}", "Accept": "application/vnd.github+json",
               "Content-Type": "application/json"}
    local = threading.local()

    def call(method: str, path: str, body: dict | None = None) -> dict:
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        local.connection.request(method, f"{url.path}/repos/{full_name}/{path}",
                                 json.dumps(body) if body else None, headers)
        response = local.connection.getresponse()
        answer = json.loads(response.read())
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {answer}")
        return answer

    def one(i: int) -> None:
        sha = call("GET", "git/ref/heads/main")["object"]["sha"]
        call("POST", "git/refs", {"ref": f"refs/heads/ceiling-{i}", "sha": sha})

    meter = CpuMeter(one_process(fake.process.pid))
    with ThreadPoolExecutor(20) as pool:
        meter.start()
        started = time.perf_counter()
        list(pool.map(one, range(calls)))
        elapsed = time.perf_counter() - started
        user, system = meter.read()
    return calls / elapsed, (user + system) * 1000 / calls


def longest_idle(jobs: list) -> float:
    """The longest time (s) between the first start and the last end when no job was running."""
    idle, busy_until = 0.0, None
    for job in sorted(jobs, key=lambda job: job.started):
        if busy_until is not None and job.started > busy_until:
            idle = max(idle, (job.started - busy_until) / 1000)
        busy_until = job.completed if busy_until is None else max(busy_until, job.completed)
    return idle


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
    parser.add_argument("--latency", type=float, default=0.0, metavar="S",
                        help="the fake GitHub answers every call after S seconds (GitHub's own "
                             "round trip; default: none)")
    parser.add_argument("--ceiling-calls", type=int, default=1000,
                        help="branches created to measure the fake GitHub alone (0: skip)")
    args = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="taskly-bench-branch-"))
    name, database_url = create_database("taskly_bench")
    fake = FakeGitHubProcess.start(log_dir / "github")
    stack = None
    try:
        login = "bench-octo"
        gh_user = fake.add_user(login)
        full_name = "acme/bench"
        fake.add_repo(full_name, collaborators={login: "admin"})
        stack = GitHubStack.start(log_dir, database_url, fake, redis_url=REDIS_URL if args.redis else None)
        settings = Settings(database_url=database_url, redis_url=stack.env.get("TASKLY_REDIS_URL"),
                            secret_key=SECRET, queue_name=stack.env["TASKLY_QUEUE_NAME"])
        with stack.github_login(login).http as http:
            workspace = http.post("/workspaces", json={"name": "Bench"}).json()
            board = http.post(f"/workspaces/{workspace['id']}/boards", json={"name": "Bench", "key": "BEN"}).json()
            connect = http.post(f"/workspaces/{workspace['id']}/repositories",
                                json={"full_name": full_name, "board_id": board["id"]}).json()
            while http.get(f"/jobs/{connect['job_id']}").json()["status"] != "complete":
                time.sleep(0.05)
            stack.worker.stop()
            cards = [http.post(f"/boards/{board['id']}/cards", json={"title": f"Bench card {i}"}).json()
                     for i in range(args.jobs)]
            keys = []
            for card in cards:
                accepted = http.post(f"/cards/{card['key']}/create-branch", json={})
                accepted.raise_for_status()
                keys.append(accepted.json()["job_id"])
        if args.latency:
            fake.latency(args.latency)
        print(f"{len(keys)} create_branch jobs queued ({'redis' if args.redis else 'postgres'} queue); "
              f"starting one worker (concurrency {CONCURRENCY}); GitHub latency {args.latency * 1000:.0f} ms",
              flush=True)
        worker = stack.start_worker(profile_prefix(args.profile))
        print(f"worker pid {worker.pid}; {load_average()}", flush=True)
        meters = {"worker": CpuMeter(one_process(worker.pid)),
                  "fake GitHub": CpuMeter(one_process(fake.process.pid)),
                  "Postgres (this database)": CpuMeter(processes_named(f" {name} "))}
        if args.redis:
            meters["redis-server (shared)"] = CpuMeter(processes_named("redis-server"))
        for meter in meters.values():
            meter.start()
        deadline = time.monotonic() + 600
        while asyncio.run(count_done(settings, keys)) < len(keys):
            if time.monotonic() > deadline:
                raise RuntimeError("the jobs did not finish within 10 minutes")
            time.sleep(0.5)
        used = {label: meter.read() for label, meter in meters.items()}
        jobs = asyncio.run(job_records(settings, keys))
        complete = [job for job in jobs if job.status.value == "complete"]
        first = min(job.started for job in jobs)
        last = max(job.completed for job in jobs)
        elapsed = (last - first) / 1000
        durations = sorted(job.duration("process") for job in complete)
        created = sum(1 for job in complete if job.result and job.result.get("created"))
        print(f"  complete {len(complete)}/{len(jobs)} (branches created {created}, attempts "
              f"{sum(job.attempts for job in jobs)})")
        print(f"  first start -> last end: {elapsed:.2f} s  =>  {len(complete) / elapsed:.0f} jobs/s "
              f"({load_average()})")
        print(f"  per job (ms): p50 {statistics.median(durations):.0f}  "
              f"p99 {durations[int(len(durations) * 0.99) - 1]:.0f}  max {durations[-1]:.0f}; "
              f"longest time with no job running {longest_idle(jobs) * 1000:.0f} ms")
        print("  CPU per job (ms, user+system):")
        for label, (user, system) in used.items():
            print(f"    {label:<26} {(user + system) * 1000 / len(jobs):5.2f}  "
                  f"(user {user * 1000 / len(jobs):.2f}, system {system * 1000 / len(jobs):.2f})")
        worker_cpu = sum(used["worker"])
        print(f"  one worker core would sustain ~{len(jobs) / worker_cpu:.0f} jobs/s at this CPU per job")
        refs = fake.refs(full_name)
        print(f"  refs in the bare repository: {sum(1 for ref in refs if ref.startswith('refs/heads/ben-'))}")
        worker.stop()
        if args.ceiling_calls:
            fake.reset_faults()
            rate, cpu_ms = fake_ceiling(fake, gh_user.token, full_name, args.ceiling_calls)
            print(f"fake GitHub alone (read base + create ref, 20 keep-alive client threads): "
                  f"{rate:.0f} branches/s; fake CPU {cpu_ms:.2f} ms per branch "
                  f"(~{1000 / cpu_ms:.0f} branches/s per core) ({load_average()})")
    finally:
        if stack is not None:
            stack.stop()
        fake.stop()
        drop_database(name)


if __name__ == "__main__":
    main()
