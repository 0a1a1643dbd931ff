"""Reconcile of open pull requests across repositories against the fake GitHub (a script, not a test).

    UV_COMPILE_BYTECODE=1 uv run python tests/bench/bench_reconcile.py [--repos 10] [--pulls 50]

Creates a fresh database, the fake GitHub (in this process), one `taskly-server run` and one
`taskly-server worker`; signs a user in, connects `--repos` repositories and opens `--pulls` pull
requests in each (each naming a card of the board, one approval, one check run), with no webhook.
Then runs the reconcile cron's job twice, with every repository's last reconcile set 11 minutes
back: first every pull request changed (all are new), then nothing changed. For each run: the wall
time from enqueueing the cron to the last `reconcile_repository` done, the GitHub calls made, and
calls per changed pull request (goal ≤ 4) or per repository (goal: 1 list call per page).
Reference, measured in the same run: the same number of GitHub calls made straight to the fake
from 10 threads (the fake's own ceiling), and the load average.

The board's PR comment is off for those two runs (a comment touches its pull request's
`updated_at` on GitHub, so a reconcile after it reads the pull request again). Then it is switched
on and every card's title changed in one bulk update: the time until each pull request has its one
comment (the `pr_comments` consumer and the `sync_pr_comment` jobs of the worker), the calls they
made, and the calls of the reconcile after it (which reads back the pull requests the comments
touched). Every GitHub answer carries the rate-limit headers; the budget they leave is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from saq.job import Status  # noqa: E402
from taskly_server.domain.pulls.reconcile import RECONCILE_EVERY  # noqa: E402
from taskly_server.lib.jobs import JobQueue  # noqa: E402
from taskly_server.settings import Settings  # noqa: E402
from taskly_server.worker import create_queue  # noqa: E402

from tests.support.fake_github import FakeGitHub  # noqa: E402
from tests.support.github_stack import GitHubStack  # noqa: E402
from tests.support.github_webhooks import libpq  # noqa: E402
from tests.support.services import create_database, drop_database  # noqa: E402


async def run_cron(database_url: str, queue_name: str, repository_ids: list[str]) -> float:
    """Enqueue `reconcile_stale` and wait for every repository's `reconcile_repository`; seconds."""
    settings = Settings(database_url=database_url, secret_key="x" * 32, queue_name=queue_name)
    queue = JobQueue(create_queue(settings, max_connections=2))
    await queue.saq.connect()
    try:
        started = time.perf_counter()
        key = f"bench-stale:{uuid.uuid4().hex}"
        await queue.enqueue("reconcile_stale", key=key)
        result = await _wait(queue, key)
        assert sorted(result["queued"]) == sorted(repository_ids), result
        for job_key in await _reconcile_keys(queue, repository_ids):
            await _wait(queue, job_key)
        return time.perf_counter() - started
    finally:
        await queue.saq.disconnect()


async def _reconcile_keys(queue: JobQueue, repository_ids: list[str]) -> list[str]:
    """The keys of the `reconcile_repository` jobs the cron queued (one per repository and slot)."""
    slot = int(time.time() // RECONCILE_EVERY.total_seconds())
    keys = []
    for repository_id in repository_ids:  # the slot may have turned between enqueue and now
        for candidate in (slot, slot - 1):
            key = f"reconcile:{repository_id}:{candidate}"
            if await queue.job(key) is not None:
                keys.append(key)
                break
    return keys


async def _wait(queue: JobQueue, key: str) -> dict:
    while True:
        job = await queue.job(key)
        if job is not None and job.status in (Status.COMPLETE, Status.FAILED, Status.ABORTED):
            assert job.status == Status.COMPLETE, job
            return job.result
        await asyncio.sleep(0.05)


def reference(fake: FakeGitHub, token: str, paths: list[str]) -> float:
    """The same GitHub calls straight to the fake from 10 threads; seconds."""
    headers = {"Authorization": f"token {token}", "Accept": "application/vnd.github+json"}
    chunks = [paths[i::10] for i in range(10)]

    def worker(chunk: list[str]) -> None:
        with httpx.Client(base_url=fake.api_url, headers=headers, timeout=30) as client:
            for path in chunk:
                client.get(path).raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(10) as pool:
        list(pool.map(worker, chunks))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=10)
    parser.add_argument("--pulls", type=int, default=50, help="open pull requests per repository")
    args = parser.parse_args()
    name, database_url = create_database("taskly_bench_reconcile")
    tmp = Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    try:
        with FakeGitHub(tmp / "fake") as fake:
            stack = GitHubStack.start(tmp, database_url, fake)
            try:
                bench(stack, fake, database_url, args.repos, args.pulls)
            finally:
                stack.stop()
    finally:
        drop_database(name)


def bench(stack: GitHubStack, fake: FakeGitHub, database_url: str, repos: int, pulls: int) -> None:
    owner = stack.github_login("bench-owner")
    workspace = owner.workspace("Bench")
    board = owner.board(workspace["id"], "WEB")
    owner.ok("PUT", f"/boards/{board['id']}/automation", json={"pr_comment": False})
    print(f"creating {repos * pulls} cards ...", flush=True)
    for n in range(repos * pulls):
        owner.ok("POST", f"/boards/{board['id']}/cards", json={"title": f"Card {n + 1}"})
    repository_ids, names = [], []
    for r in range(repos):
        full_name = f"bench-{r}/web"
        fake.add_repo(full_name, collaborators={owner.username: "admin"})
        repository_ids.append(stack.connect(owner, workspace["id"], full_name)["repository"]["id"])
        names.append(full_name)
    card = 0
    for full_name in names:
        for _ in range(pulls):
            card += 1
            branch = f"web-{card}-work"
            fake.add_branch(full_name, branch)
            number = fake.add_pull(full_name, head=branch, title=f"Work {card}", user=owner.username)
            fake.add_review(full_name, number, owner.username, "APPROVED")
            fake.add_check_run(full_name, branch, "tests")
    # the reference's calls go out under a user of their own: they would spend the owner's budget
    # (5,000 an hour, which the reconcile and the comments use) and make the last reconcile wait
    reader = fake.add_user("bench-reference")
    for full_name in names:
        fake.grant(full_name, reader.login, "read")
    token = reader.token

    def stale() -> None:
        with psycopg.connect(libpq(database_url), autocommit=True) as db:
            db.execute("UPDATE repositories SET reconciled_at = now() - interval '11 minutes'")

    rows = []
    for label in ("all changed", "nothing changed"):
        stale()
        fake.clear_requests()
        seconds = asyncio.run(run_cron(database_url, stack.env["TASKLY_QUEUE_NAME"], repository_ids))
        requests = [r for r in fake.requests if r.path.startswith("/repos/")]
        lists = [r for r in requests if r.path.split("?")[0].endswith("/pulls")]
        rows.append((label, seconds, len(requests), len(lists), [r.path for r in requests]))
    with psycopg.connect(libpq(database_url), autocommit=True) as db:
        linked = db.execute("SELECT count(*) FROM card_pull_requests").fetchone()[0]
        done = db.execute("SELECT count(*) FROM cards c JOIN board_columns k ON k.id = c.column_id"
                          " WHERE k.kind = 'review'").fetchone()[0]
    changed_paths = rows[0][4]
    ref = reference(fake, token, changed_paths)
    load = os.getloadavg()
    print(f"\n{repos} repositories x {pulls} open pull requests = {repos * pulls}; "
          f"linked {linked}, cards in review {done}")
    for label, seconds, calls, lists, _ in rows:
        changed = repos * pulls if label == "all changed" else 0
        per = (f"{(calls - lists) / changed:.2f} calls per changed PR (+{lists} list calls)" if changed
               else f"{lists / repos:.2f} list calls per repository, {calls - lists} other calls")
        print(f"  {label:16s} {seconds:7.2f} s  {calls:5d} GitHub calls  {per}")
    print(f"  reference: the same {len(changed_paths)} calls straight to the fake from 10 threads: {ref:.2f} s")
    print(f"  load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)", flush=True)
    seconds, posted, calls, after_calls, after_lists, budget = bench_comments(
        stack, fake, owner, board, names, repository_ids, database_url)
    print(f"  PR comments: {posted} posted in {seconds:.2f} s with {calls} GitHub calls "
          f"({calls / max(posted, 1):.2f} per pull request); the reconcile after them: {after_calls} calls "
          f"({after_lists} list calls; it reads back the pull requests the comments touched)")
    print(f"  GitHub budget left (X-RateLimit-Remaining, as Taskly stored it): {budget}")
    load = os.getloadavg()
    print(f"  load average after the comments: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def bench_comments(stack: GitHubStack, fake: FakeGitHub, owner, board: dict, names: list[str],
                   repository_ids: list[str], database_url: str) -> tuple:
    """Switch the PR comment on, change every card's title in one bulk update, wait for every pull
    request's comment; then one reconcile. (seconds, comments, calls, calls after, lists after, budget)"""
    owner.ok("PUT", f"/boards/{board['id']}/automation", json={"pr_comment": True})
    cards = owner.ok("GET", f"/boards/{board['id']}/cards")
    cards = cards["cards"] if isinstance(cards, dict) else cards
    linked = [c for c in cards if c.get("pull_requests")]
    fake.clear_requests()
    started = time.perf_counter()
    for chunk in range(0, len(linked), 50):
        owner.ok("POST", "/cards/bulk-update", json={"cards": [
            {"card": c["key"], "title": f"{c['title']} (reviewed)"} for c in linked[chunk:chunk + 50]]})

    def posted() -> int:
        with fake.lock:
            return sum(len([c for c in repo.comments.values()]) for repo in fake.repos.values())

    deadline = time.monotonic() + 600
    while posted() < len(linked) and time.monotonic() < deadline:
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    time.sleep(2)  # a straggler would post a second comment now
    count = posted()
    calls = len([r for r in fake.requests if "/issues/" in r.path])
    with psycopg.connect(libpq(database_url), autocommit=True) as db:
        db.execute("UPDATE repositories SET reconciled_at = now() - interval '11 minutes'")
        budget = db.execute("SELECT remaining, \"limit\" FROM github_budgets").fetchall()
    fake.clear_requests()
    asyncio.run(run_cron(database_url, stack.env["TASKLY_QUEUE_NAME"], repository_ids))
    after = [r for r in fake.requests if r.path.startswith("/repos/")]
    lists = [r for r in after if r.path.split("?")[0].endswith("/pulls")]
    return seconds, count, calls, len(after), len(lists), budget


if __name__ == "__main__":
    main()
