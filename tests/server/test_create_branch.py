"""create-branch: the card's branch created on GitHub by a job in a separate worker process, the
card then recorded, assigned and moved in one attributed change; retries, failures, a killed
worker, the circuit breaker, and the realtime notice of a job's commit (Postgres and Redis)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from taskly_server.integrations.github.breaker import CircuitBreaker
from taskly_server.integrations.github.client import GitHubClient, GitHubError
from websockets.asyncio.client import connect

from tests.support.api import Api
from tests.support.authz import join
from tests.support.fake_github import FakeGitHub
from tests.support.github_stack import GitHubStack
from tests.support.services import REDIS_URL, require

pytestmark = pytest.mark.timeout(180)

STACK_ENV = {"TASKLY_FEED_POLL_INTERVAL": "60"}
"""Realtime notices only: the servers' safety poll would hide a missing notice for a minute."""


@pytest.fixture(scope="module")
def stack(fake: FakeGitHub, github_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHubStack]:
    """Server and worker on the Postgres queue (LISTEN/NOTIFY fan-out)."""
    stack = GitHubStack.start(tmp_path_factory.mktemp("branches"), github_database, fake, extra_env=STACK_ENV)
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def redis_stack(fake: FakeGitHub, github_database: str,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHubStack]:
    """Server and worker on the Redis queue (Redis pub/sub fan-out)."""
    require(REDIS_URL, 6379, "Redis")
    stack = GitHubStack.start(tmp_path_factory.mktemp("branches-redis"), github_database, fake,
                              redis_url=REDIS_URL, extra_env=STACK_ENV)
    yield stack
    stack.stop()


@pytest.fixture(autouse=True)
def _clean_faults(fake: FakeGitHub) -> Iterator[None]:
    yield
    fake.reset_faults()


@dataclass
class World:
    owner: Api
    workspace_id: str
    board: dict
    full_name: str
    clone_url: str

    def card(self, title: str = "Fix login redirect") -> dict:
        return self.owner.ok("POST", f"/boards/{self.board['id']}/cards", json={"title": title})


def build_world(stack: GitHubStack, fake: FakeGitHub, key: str = "WEB") -> World:
    owner = stack.github_login(f"octo-{uuid.uuid4().hex[:8]}")
    full_name = f"acme-{uuid.uuid4().hex[:8]}/web"
    repo = fake.add_repo(full_name, collaborators={owner.username: "admin"})
    workspace = owner.workspace("Branches")
    board = owner.board(workspace["id"], key)
    stack.connect(owner, workspace["id"], full_name, board_id=board["id"])
    return World(owner, workspace["id"], board, full_name, repo.clone_url)


def ls_remote(clone_url: str) -> dict[str, str]:
    output = subprocess.run(["git", "ls-remote", clone_url], check=True, capture_output=True,
                            text=True, timeout=30).stdout
    return {ref: sha for sha, ref in (line.split("\t") for line in output.splitlines())}


def start(api: Api, card: dict, **body: str) -> dict:
    return api.ok("POST", f"/cards/{card['key']}/create-branch", json=body)


def branch_changes(api: Api, card: dict) -> list[dict]:
    """The card's changes that set its branch (its creation lists every field, branch unset)."""
    return [c for c in api.ok("GET", f"/cards/{card['key']}/activity")
            if c["entity_type"] == "card" and (c["changes"].get("branch") or {}).get("new")]


def test_create_branch_end_to_end(stack: GitHubStack, fake: FakeGitHub) -> None:
    world = build_world(stack, fake)
    card = world.card("Fix login redirect")
    assert card["column"] == "Backlog" and card["assignees"] == []
    accepted = start(world.owner, card)
    assert accepted["job_id"] == f"branch:{card['id']}"
    assert accepted["branch"] == "web-1-fix-login-redirect" and accepted["key"] == "WEB-1"
    assert accepted["repository"] == world.full_name and accepted["base"] == "main"
    job = stack.wait_job(world.owner, accepted["job_id"])
    assert job["status"] == "complete" and job["function"] == "create_branch", job
    assert job["attempts"] == 1 and job["error"] is None
    result = job["result"]
    assert result["created"] is True and result["card_changed"] is True
    assert result["branch"] == "web-1-fix-login-redirect" and result["key"] == "WEB-1"

    refs = ls_remote(world.clone_url)
    assert refs["refs/heads/web-1-fix-login-redirect"] == refs["refs/heads/main"] == result["sha"]
    after = world.owner.ok("GET", f"/cards/{card['key']}")
    assert after["branch"] == "web-1-fix-login-redirect"
    assert after["column"] == "In Progress" and after["column_kind"] == "in_progress"
    assert after["assignees"] == [world.owner.username]
    assert after["version"] == card["version"] + 1
    [change] = branch_changes(world.owner, card)
    assert change["actor"]["type"] == "user" and change["actor"]["id"] == world.owner.user["id"]
    assert change["actor"]["name"] == world.owner.username
    assert {"branch", "assignees", "column", "column_id"} <= set(change["changes"])
    assert change["changes"]["column"] == {"old": "Backlog", "new": "In Progress"}
    assert change["data"]["branch"] == "web-1-fix-login-redirect"

    time.sleep(1.1)  # the Postgres queue takes a finished key again from the next second on
    rerun = start(world.owner, card)
    assert rerun["job_id"] == accepted["job_id"] and rerun["branch"] == accepted["branch"]
    again = stack.wait_job(world.owner, rerun["job_id"])
    assert again["status"] == "complete" and again["result"]["created"] is False
    assert again["result"]["card_changed"] is False
    assert world.owner.ok("GET", f"/cards/{card['key']}")["version"] == after["version"]
    assert len(branch_changes(world.owner, card)) == 1


def test_job_scoping_and_refusals(stack: GitHubStack, fake: FakeGitHub) -> None:
    world = build_world(stack, fake)
    member = stack.github_login(f"octo-{uuid.uuid4().hex[:8]}")
    viewer = stack.github_login(f"octo-{uuid.uuid4().hex[:8]}")
    outsider = stack.github_login(f"octo-{uuid.uuid4().hex[:8]}")
    join(world.owner, member, world.workspace_id, "member")
    join(world.owner, viewer, world.workspace_id, "viewer")
    card = world.card("Scoped")
    accepted = start(world.owner, card)
    assert outsider.get(f"/jobs/{accepted['job_id']}").status_code == 404
    assert viewer.get(f"/jobs/{accepted['job_id']}").status_code == 404
    assert member.get(f"/jobs/{accepted['job_id']}").status_code == 200  # a teammate may follow it
    assert world.owner.get("/jobs/branch:" + str(uuid.uuid4())).status_code == 404
    assert world.owner.get("/jobs/" + "x" * 400).status_code == 404
    assert stack.wait_job(member, accepted["job_id"])["status"] == "complete"

    other = world.card("Refusals")
    assert Api(stack.url).post(f"/cards/{other['key']}/create-branch", json={}).status_code == 401
    by_member = member.ok("POST", f"/cards/{world.card('By a member')['key']}/create-branch", json={})
    no_access = stack.wait_job(member, by_member["job_id"])  # not a collaborator on GitHub
    assert no_access["status"] == "failed" and no_access["attempts"] == 1
    assert no_access["error"] == (f"your GitHub account cannot see {world.full_name}: ask its owners "
                                  "for write access, or create the branch locally")
    fake.grant(world.full_name, member.username, "write")
    time.sleep(1.1)
    by_member = member.ok("POST", f"/cards/{by_member['key']}/create-branch", json={})
    member_job = stack.wait_job(member, by_member["job_id"])
    assert member_job["status"] == "complete", member_job
    assert member_job["result"]["card"]["assignees"] == [member.username]
    assert viewer.post(f"/cards/{other['key']}/create-branch", json={}).json()["code"] == "forbidden"
    assert outsider.post(f"/cards/{other['id']}/create-branch", json={}).status_code == 404
    dev = Api.login(stack.url)  # a member who never signed in with GitHub
    join(world.owner, dev, world.workspace_id, "member")
    unlinked = dev.post(f"/cards/{other['id']}/create-branch", json={})
    assert unlinked.status_code == 409 and unlinked.json()["code"] == "github_not_linked"
    bad_base = world.owner.post(f"/cards/{other['key']}/create-branch", json={"base": "a..b"})
    assert bad_base.status_code == 400 and bad_base.json()["code"] == "validation_error"
    plain = world.owner.board(world.workspace_id, "PLAIN")
    lonely = world.owner.ok("POST", f"/boards/{plain['id']}/cards", json={"title": "No repo"})
    no_repo = world.owner.post(f"/cards/{lonely['key']}/create-branch")
    assert no_repo.status_code == 409 and no_repo.json()["code"] == "no_repository"
    world.owner.ok("DELETE", f"/cards/{other['key']}")
    deleted = world.owner.post(f"/cards/{other['key']}/create-branch", json={})
    assert deleted.status_code == 409 and deleted.json()["code"] == "conflict"


def test_missing_base_fails_at_once_and_template_names_the_branch(stack: GitHubStack,
                                                                 fake: FakeGitHub) -> None:
    world = build_world(stack, fake)
    card = world.card("Use the develop base")
    job = stack.wait_job(world.owner, start(world.owner, card, base="develop")["job_id"])
    assert job["status"] == "failed" and job["attempts"] == 1
    assert job["error"] == f"base branch 'develop' not found in {world.full_name}"
    assert world.owner.ok("GET", f"/cards/{card['key']}")["branch"] is None

    world.owner.ok("PATCH", f"/boards/{world.board['id']}", json={"branch_template": "feature/{key}-{slug}"})
    templated = world.card("Templated branch name")
    accepted = start(world.owner, templated)
    assert accepted["branch"] == f"feature/{templated['key'].lower()}-templated-branch-name"
    assert stack.wait_job(world.owner, accepted["job_id"])["status"] == "complete"
    assert f"refs/heads/{accepted['branch']}" in ls_remote(world.clone_url)


def test_existing_ref_is_success(stack: GitHubStack, fake: FakeGitHub) -> None:
    world = build_world(stack, fake)
    card = world.card("Already pushed")
    branch = "web-1-already-pushed"
    git_dir = fake.repo_info(world.full_name).git_dir
    side = fake.commit(world.full_name, "main", "Another commit")  # the branch points elsewhere
    subprocess.run(["git", "--git-dir", git_dir, "update-ref", f"refs/heads/{branch}", side], check=True)
    job = stack.wait_job(world.owner, start(world.owner, card)["job_id"])
    assert job["status"] == "complete" and job["result"]["created"] is False
    assert ls_remote(world.clone_url)[f"refs/heads/{branch}"] == side
    after = world.owner.ok("GET", f"/cards/{card['key']}")
    assert after["branch"] == branch and after["column"] == "In Progress"


def test_github_5xx_is_retried_then_fails_cleanly(stack: GitHubStack, fake: FakeGitHub) -> None:
    world = build_world(stack, fake)
    card = world.card("GitHub is down")
    fake.clear_requests()
    fake.fail_next("POST", r"/git/refs$", 502, times=1000)
    job = stack.wait_job(world.owner, start(world.owner, card)["job_id"], timeout=60)
    assert job["status"] == "failed", job
    assert job["attempts"] == job["retries"] == 4
    assert job["error"] == (f"creating branch web-1-github-is-down in {world.full_name}: "
                            "GitHub answered 502 Server Error")
    posts = [r for r in fake.requests if r.method == "POST" and r.path.endswith("/git/refs")]
    assert len(posts) == 4 * 3  # 4 attempts of the job, each retried twice by PyGithub
    after = world.owner.ok("GET", f"/cards/{card['key']}")
    assert (after["branch"], after["column"], after["assignees"], after["version"]) == (
        None, "Backlog", [], card["version"])
    assert "refs/heads/web-1-github-is-down" not in ls_remote(world.clone_url)

    fake.reset_faults()  # GitHub is back: asking again works
    time.sleep(1.1)
    job = stack.wait_job(world.owner, start(world.owner, card)["job_id"])
    assert job["status"] == "complete" and job["attempts"] == 1


def test_duplicate_requests_collapse(stack: GitHubStack, fake: FakeGitHub) -> None:
    world = build_world(stack, fake)
    card = world.card("Twice")
    fake.clear_requests()
    fake.latency(1.0, method="POST", path_regex=r"/git/refs$", times=1)
    first = start(world.owner, card)
    second = start(world.owner, card)
    assert second["job_id"] == first["job_id"] and second["branch"] == first["branch"]
    assert stack.wait_job(world.owner, first["job_id"])["status"] == "complete"
    posts = [r for r in fake.requests if r.method == "POST" and r.path.endswith("/git/refs")]
    assert len(posts) == 1
    assert len(branch_changes(world.owner, card)) == 1


def test_jobs_that_start_together_each_get_their_own_card(stack: GitHubStack, fake: FakeGitHub) -> None:
    """Queued while no worker runs, the jobs start at once and read their rows in one query; a card
    deleted in the meantime fails its own job only."""
    world = build_world(stack, fake)
    cards = [world.card(f"Together {n}") for n in range(5)]
    stack.worker.stop()
    accepted = [start(world.owner, card) for card in cards]
    world.owner.ok("DELETE", f"/cards/{cards[1]['key']}")
    stack.start_worker()
    jobs = [stack.wait_job(world.owner, job["job_id"]) for job in accepted]
    assert [job["status"] for job in jobs] == ["complete", "failed", "complete", "complete", "complete"]
    assert jobs[1]["error"] == "the card was deleted; no branch was created"
    refs = ls_remote(world.clone_url)
    for card, job, request in zip(cards, jobs, accepted, strict=True):
        if job["status"] == "complete":
            assert (job["result"]["key"], job["result"]["branch"]) == (card["key"], request["branch"])
            assert job["result"]["card"]["branch"] == request["branch"]
            assert f"refs/heads/{request['branch']}" in refs
    assert f"refs/heads/{accepted[1]['branch']}" not in refs


def test_worker_killed_mid_branch(stack: GitHubStack, fake: FakeGitHub) -> None:
    """The worker dies (SIGKILL) while GitHub holds the ref POST; a new worker retries the job:
    exactly one branch, the card moved once."""
    world = build_world(stack, fake)
    card = world.card("Survive a crash")
    fake.clear_requests()
    fake.latency(6.0, method="POST", path_regex=r"/git/refs$", times=1)
    job_id = start(world.owner, card)["job_id"]
    deadline = time.monotonic() + 20
    while not any(r.method == "POST" and r.path.endswith("/git/refs") for r in fake.requests):
        assert time.monotonic() < deadline, stack.worker.log()[-2000:]
        time.sleep(0.02)
    assert world.owner.ok("GET", f"/jobs/{job_id}")["status"] == "active"
    stack.worker.kill()
    time.sleep(5.5)  # the job's heartbeat runs out
    stack.start_worker()
    job = stack.wait_job(world.owner, job_id, timeout=60)
    assert job["status"] == "complete", job
    assert job["attempts"] == 2
    branch = "web-1-survive-a-crash"
    assert [ref for ref in ls_remote(world.clone_url) if branch in ref] == [f"refs/heads/{branch}"]
    [change] = branch_changes(world.owner, card)
    assert change["changes"]["column"] == {"old": "Backlog", "new": "In Progress"}
    after = world.owner.ok("GET", f"/cards/{card['key']}")
    assert after["column"] == "In Progress" and after["version"] == card["version"] + 1


def test_circuit_breaker_opens_after_five_failures(tmp_path: Path) -> None:
    with FakeGitHub(tmp_path / "github") as fake:
        user = fake.add_user("breaker")
        fake.add_repo("acme/breaker", collaborators={"breaker": "admin"})
        breaker = CircuitBreaker("GitHub (test)", threshold=5, cooldown=1.0)
        client = GitHubClient(fake.api_url, user.token, breaker)
        assert client.branch_sha("acme/breaker", "main")
        fake.fail_next("GET", r"/git/ref/heads/main$", 503, times=1000)
        for _ in range(5):
            with pytest.raises(GitHubError) as failed:
                client.branch_sha("acme/breaker", "main")
            assert failed.value.status == 503 and failed.value.retryable
        assert breaker.state == "open"
        before = len(fake.requests)
        started = time.monotonic()
        with pytest.raises(GitHubError, match=r"calls are paused, retrying in \d+ s") as fast:
            client.create_branch("acme/breaker", "never", "0" * 40)
        assert fast.value.retryable and time.monotonic() - started < 0.05
        assert len(fake.requests) == before  # failed fast: GitHub was not asked
        with pytest.raises(GitHubError):  # a 404 does not count, but it is not let through either
            client.repository("acme/missing")
        assert len(fake.requests) == before
        fake.reset_faults()
        time.sleep(1.05)
        assert breaker.state == "half-open"
        assert client.branch_sha("acme/breaker", "main")  # the trial call succeeds: closed again
        assert breaker.state == "closed" and breaker.failures == 0
        assert fake.errors == []


# --- realtime: a job's commit reaches websocket clients at once ---------------------------------


async def watch_for_branch(stack: GitHubStack, world: World, card: dict) -> float:
    """Seconds from the request to the card's change arriving on a websocket."""
    seq = (await asyncio.to_thread(world.owner.ok, "GET", f"/workspaces/{world.workspace_id}/changes",
                                   params={"since": 0}))["seq"]
    async with connect(stack.url.replace("http://", "ws://") + "/api/v1/ws") as sock:
        await sock.send(json.dumps({"type": "auth", "token": world.owner.token}))
        await sock.send(json.dumps({"type": "subscribe", "workspace_id": world.workspace_id, "since": seq}))
        started = time.monotonic()
        await asyncio.to_thread(start, world.owner, card)
        while True:
            message = json.loads(await asyncio.wait_for(sock.recv(), 10))
            if message["type"] == "ping":
                await sock.send('{"type": "pong"}')
            change = message.get("change") or {}
            if change.get("entity_id") == card["id"] and (change["changes"].get("branch") or {}).get("new"):
                assert change["actor"]["name"] == world.owner.username
                return time.monotonic() - started


async def test_realtime_notice_from_the_worker_postgres(stack: GitHubStack, fake: FakeGitHub) -> None:
    world = await asyncio.to_thread(build_world, stack, fake)
    card = await asyncio.to_thread(world.card, "Live on Postgres")
    elapsed = await watch_for_branch(stack, world, card)
    assert elapsed < 30  # the servers' feed poll runs once a minute here: this was the notice (generous: a busy machine)


async def test_create_branch_on_redis(redis_stack: GitHubStack, fake: FakeGitHub) -> None:
    world = await asyncio.to_thread(build_world, redis_stack, fake)
    card = await asyncio.to_thread(world.card, "Live on Redis")
    elapsed = await watch_for_branch(redis_stack, world, card)
    assert elapsed < 30
    job = await asyncio.to_thread(redis_stack.wait_job, world.owner, f"branch:{card['id']}")
    assert job["status"] == "complete" and job["result"]["created"] is True
    assert f"refs/heads/{job['result']['branch']}" in ls_remote(world.clone_url)
    after = await asyncio.to_thread(world.owner.ok, "GET", f"/cards/{card['key']}")
    assert after["column"] == "In Progress" and after["assignees"] == [world.owner.username]
    outsider = await asyncio.to_thread(redis_stack.github_login, f"octo-{uuid.uuid4().hex[:8]}")
    hidden = await asyncio.to_thread(outsider.get, f"/jobs/branch:{card['id']}")
    assert hidden.status_code == 404
