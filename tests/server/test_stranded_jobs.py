"""A worker killed (SIGKILL) with 20 create_branch jobs in flight: one sweep of the next worker
takes all of them back, on the Postgres and on the Redis queue (SAQ's own sweep took them back
one every 5 s, the last ~96 s after the kill), and each job's effect happens once: one branch,
the card started once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.server.test_create_branch import World, branch_changes, build_world, ls_remote, start
from tests.support.fake_github import FakeGitHub
from tests.support.github_stack import GitHubStack
from tests.support.services import REDIS_URL, require

pytestmark = pytest.mark.timeout(240)

JOBS = 20
"""As many as one worker runs at once (worker.CONCURRENCY)."""
SLOW = 8.0
"""Seconds the fake GitHub holds each of the jobs' ref POSTs: they are all in flight at the kill."""
BOUND = 30.0
"""Seconds from the kill by which every job has finished (issue 13: was ~96 s)."""


@pytest.fixture(params=["postgres", "redis"])
def stack(request: pytest.FixtureRequest, fake: FakeGitHub, github_database: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHubStack]:
    """Server and worker on one queue backend (a queue name of their own)."""
    redis_url = None
    if request.param == "redis":
        require(REDIS_URL, 6379, "Redis")
        redis_url = REDIS_URL
    stack = GitHubStack.start(tmp_path_factory.mktemp(f"stranded-{request.param}"), github_database,
                              fake, redis_url=redis_url)
    yield stack
    stack.stop()
    fake.reset_faults()


def strand_branch_jobs(world: World, fake: FakeGitHub, cards: list[dict], slow: float,
                       timeout: float = 30) -> list[dict]:
    """create_branch for each of `cards`, every ref POST held `slow` seconds by the fake GitHub;
    the accepted jobs, once all of them are in flight (the set-up of bench_faults.py too)."""
    fake.clear_requests()
    fake.latency(slow, method="POST", path_regex=r"/git/refs$", times=len(cards))
    accepted = [start(world.owner, card) for card in cards]
    deadline = time.monotonic() + timeout
    while (in_flight := sum(r.method == "POST" and r.path.endswith("/git/refs") for r in fake.requests)) < len(cards):
        assert time.monotonic() < deadline, f"{in_flight} of {len(cards)} jobs in flight after {timeout} s"
        time.sleep(0.02)
    return accepted


def test_a_dead_workers_jobs_are_all_retried_at_once(stack: GitHubStack, fake: FakeGitHub) -> None:
    world = build_world(stack, fake)
    cards = [world.card(f"Stranded {n}") for n in range(JOBS)]
    accepted = strand_branch_jobs(world, fake, cards, SLOW)
    assert {world.owner.ok("GET", f"/jobs/{job['job_id']}")["status"] for job in accepted} == {"active"}

    stack.worker.kill()
    killed = time.monotonic()
    stack.start_worker()
    jobs = [stack.wait_job(world.owner, job["job_id"], timeout=BOUND + 30) for job in accepted]
    elapsed = time.monotonic() - killed
    print(f"{JOBS} stranded jobs finished {elapsed:.1f} s after the kill")
    assert [job["status"] for job in jobs] == ["complete"] * JOBS, jobs
    assert [job["attempts"] for job in jobs] == [2] * JOBS
    assert elapsed < BOUND, f"the last job finished {elapsed:.1f} s after the kill"
    swept = [line for line in stack.worker.log().splitlines() if '"jobs_swept"' in line]
    assert len(swept) == 1 and f'"requeued":{JOBS}' in swept[0].replace(" ", ""), swept

    refs = ls_remote(world.clone_url)
    for card, request in zip(cards, accepted, strict=True):
        branch = request["branch"]
        assert [ref for ref in refs if ref.endswith(branch)] == [f"refs/heads/{branch}"]
        [change] = branch_changes(world.owner, card)
        assert change["changes"]["column"] == {"old": "Backlog", "new": "In Progress"}
        after = world.owner.ok("GET", f"/cards/{card['key']}")
        assert (after["branch"], after["column"], after["version"]) == (
            branch, "In Progress", card["version"] + 1)
