"""GitHub reconcile (issue 17): pull requests read back from the API and applied as the webhooks
would have been — by `sync_pull_request`, the 10-minute cron, `POST /repositories/{id}/sync` and
the backfill on connect — against a real server, a separate worker process and the fake GitHub.
No webhook is delivered in these tests: the fake only answers the API."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from saq.job import Status
from taskly_server.lib.jobs import JobQueue
from taskly_server.settings import Settings
from taskly_server.worker import create_queue

from tests.support.api import Api
from tests.support.authz import join
from tests.support.fake_github import FakeGitHub
from tests.support.github_stack import GitHubStack
from tests.support.github_webhooks import libpq

pytestmark = pytest.mark.timeout(180)

SIGN_IN = "GitHub: sign in again with taskly login"


@pytest.fixture(scope="module")
def stack(fake: FakeGitHub, github_database: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHubStack]:
    stack = GitHubStack.start(tmp_path_factory.mktemp("reconcile"), github_database, fake)
    yield stack
    stack.stop()


@pytest.fixture
async def jobs(stack: GitHubStack) -> AsyncIterator[JobQueue]:
    """The stack's queue, to run the cron's job now."""
    settings = Settings(database_url=stack.env["TASKLY_DATABASE_URL"], secret_key="x" * 32,
                        queue_name=stack.env["TASKLY_QUEUE_NAME"])
    queue = create_queue(settings, max_connections=2)
    await queue.connect()
    yield JobQueue(queue)
    await queue.disconnect()


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
    repository_id: str | None = None

    def card(self, title: str) -> dict:
        return self.owner.ok("POST", f"/boards/{self.board['id']}/cards", json={"title": title})

    def show(self, key: str) -> dict:
        return self.owner.ok("GET", f"/cards/{key}")


def build_world(stack: GitHubStack, fake: FakeGitHub, *, connect: bool = True, comment: bool = False) -> World:
    """A signed-in owner, a workspace, board WEB and (`connect`) its repository; the PR comment
    only with `comment` (posting it touches the PR's `updated_at` on GitHub, which the next
    reconcile reads back: the call counts below are reconcile's own)."""
    owner = stack.github_login(f"octo-{uuid.uuid4().hex[:8]}")
    full_name = f"acme-{uuid.uuid4().hex[:8]}/web"
    fake.add_repo(full_name, collaborators={owner.username: "admin"})
    workspace = owner.workspace("Reconcile")
    board = owner.board(workspace["id"], "WEB")
    if not comment:
        owner.ok("PUT", f"/boards/{board['id']}/automation", json={"pr_comment": False})
    world = World(owner, workspace["id"], board, full_name)
    if connect:
        world.repository_id = stack.connect(owner, workspace["id"], full_name,
                                            board_id=board["id"])["repository"]["id"]
    return world


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sync(stack: GitHubStack, world: World, numbers: list[int] | None = None) -> dict:
    accepted = world.owner.ok("POST", f"/repositories/{world.repository_id}/sync",
                              json={"numbers": numbers} if numbers else {})
    job = stack.wait_job(world.owner, accepted["job_id"])
    assert job["status"] == "complete", job
    return job["result"]


def calls(fake: FakeGitHub, full_name: str) -> list[str]:
    """Reconcile's calls to the repository (the PR comment's, under /issues/, are not counted)."""
    return [f"{r.method} {r.path.split('?')[0]}" for r in fake.requests
            if f"/repos/{full_name}/" in r.path and "/issues/" not in r.path]


def wait_for(check, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.05)


def moves(world: World, key: str) -> list[dict]:
    return [c for c in world.owner.ok("GET", f"/cards/{key}/activity")
            if c["entity_type"] == "card" and "column" in c["changes"] and c["op"] != "create"]


async def run_job(jobs: JobQueue, function: str, key: str) -> dict:
    await jobs.enqueue(function, key=key)
    for _ in range(600):
        job = await jobs.job(key)
        if job is not None and job.status in (Status.COMPLETE, Status.FAILED, Status.ABORTED):
            break
        await asyncio.sleep(0.05)
    assert job is not None and job.status == Status.COMPLETE, job
    return job.result


async def test_a_pr_opened_and_merged_without_webhooks_ends_done_by_the_cron(
        stack: GitHubStack, fake: FakeGitHub, jobs: JobQueue) -> None:
    world = build_world(stack, fake)
    card = world.card("Fix login redirect")
    fake.add_branch(world.full_name, "web-1-fix-login-redirect")
    number = fake.add_pull(world.full_name, head="web-1-fix-login-redirect", title="Fix login redirect",
                           user=world.owner.username)
    fake.add_review(world.full_name, number, world.owner.username, "APPROVED")
    fake.add_check_run(world.full_name, "web-1-fix-login-redirect", "tests")
    fake.update_pull(world.full_name, number, merged=True)
    # The last reconcile (at connect) and the last webhook (none) are over 10 minutes old.
    with psycopg.connect(libpq(stack.env["TASKLY_DATABASE_URL"]), autocommit=True) as db:
        db.execute("UPDATE repositories SET reconciled_at = now() - interval '11 minutes' WHERE id = %s",
                   (world.repository_id,))
    fake.clear_requests()

    stale = await run_job(jobs, "reconcile_stale", f"stale-test:{uuid.uuid4().hex}")
    assert stale["repositories"] >= 1
    shown = wait_for(lambda: (c := world.show(card["key"]))["column"] == "Done" and c, "the card in Done")

    pull = shown["pull_requests"][0]
    assert pull["number"] == number and pull["state"] == "merged"
    assert pull["approvals"] == 1 and pull["ci"] == "success"
    moved = moves(world, card["key"])
    assert [m["changes"]["column"]["new"] for m in moved] == ["Done"], moved
    assert moved[0]["actor"]["type"] == "automation"
    assert moved[0]["actor"]["name"] == "reconcile: pr_merged → done"
    # one list page, then four calls for the changed pull request
    assert sorted(calls(fake, world.full_name)) == sorted([
        f"GET /repos/{world.full_name}/pulls", f"GET /repos/{world.full_name}/pulls/{number}",
        f"GET /repos/{world.full_name}/pulls/{number}/reviews",
        f"GET /repos/{world.full_name}/commits/{pull['head_sha']}/check-runs",
        f"GET /repos/{world.full_name}/commits/{pull['head_sha']}/status"]), calls(fake, world.full_name)

    # Nothing changed since: the next reconcile costs one list call and moves nothing.
    fake.clear_requests()
    again = sync(stack, world)
    assert again["changed"] == [] and again["synced"] == 0
    assert calls(fake, world.full_name) == [f"GET /repos/{world.full_name}/pulls"] * 2  # open, then all
    assert len(moves(world, card["key"])) == 1


async def test_the_cron_skips_repositories_whose_webhooks_arrive(
        stack: GitHubStack, fake: FakeGitHub, jobs: JobQueue) -> None:
    world, quiet = build_world(stack, fake), build_world(stack, fake)
    with psycopg.connect(libpq(stack.env["TASKLY_DATABASE_URL"]), autocommit=True) as db:
        db.execute("UPDATE repositories SET reconciled_at = now() - interval '11 minutes' WHERE id = %s",
                   (world.repository_id,))
        db.execute("INSERT INTO webhook_deliveries (id, delivery_id, event, repository_id, received_at)"
                   " VALUES (%s, %s, 'ping', %s, now())", (uuid.uuid4(), uuid.uuid4().hex, world.repository_id))
        db.execute("UPDATE repositories SET reconciled_at = now() - interval '11 minutes' WHERE id = %s",
                   (quiet.repository_id,))
    stale = await run_job(jobs, "reconcile_stale", f"stale-test:{uuid.uuid4().hex}")
    assert world.repository_id not in stale["queued"]  # a webhook 0 s ago: no GitHub call
    assert quiet.repository_id in stale["queued"]


def test_backfill_on_connect_links_existing_prs(stack: GitHubStack, fake: FakeGitHub) -> None:
    world = build_world(stack, fake, connect=False)
    first, second, third = world.card("Login"), world.card("Signup"), world.card("Old")
    fake.add_branch(world.full_name, "web-1-login")
    open_pr = fake.add_pull(world.full_name, head="web-1-login", title="Login page", user=world.owner.username)
    merged_pr = fake.add_pull(world.full_name, head="signup", title=f"{second['key']}: signup",
                              user=world.owner.username)
    fake.update_pull(world.full_name, merged_pr, merged=True)
    old = datetime.now(UTC) - timedelta(days=20)
    old_pr = fake.add_pull(world.full_name, head="old", title=f"{third['key']} old", user=world.owner.username,
                           at=iso(old))
    fake.update_pull(world.full_name, old_pr, state="closed", updated_at=iso(old))
    fake.add_pull(world.full_name, head="docs", title="Docs, no card", user=world.owner.username)

    result = stack.connect(world.owner, world.workspace_id, world.full_name)
    assert result["pulls_queued"] == 2 and result["backfill_error"] is None
    world.repository_id = result["repository"]["id"]

    wait_for(lambda: world.show(first["key"])["column"] == "In Review", "WEB-1 in In Review")
    wait_for(lambda: world.show(second["key"])["column"] == "Done", "WEB-2 in Done")
    assert [p["number"] for p in world.show(first["key"])["pull_requests"]] == [open_pr]
    assert [p["number"] for p in world.show(second["key"])["pull_requests"]] == [merged_pr]
    assert world.show(third["key"])["pull_requests"] == []  # closed 20 days ago: not read
    assert moves(world, first["key"])[0]["actor"]["name"] == "reconcile: pr_opened → review"


def test_reconcile_never_moves_a_card_back_over_a_later_manual_move(stack: GitHubStack, fake: FakeGitHub) -> None:
    world = build_world(stack, fake)
    card = world.card("Settings page")
    an_hour_ago = iso(datetime.now(UTC) - timedelta(hours=1))
    number = fake.add_pull(world.full_name, head="web-1-settings", title="Settings", user=world.owner.username,
                           at=an_hour_ago)
    fake.update_pull(world.full_name, number, merged=True, updated_at=an_hour_ago)
    world.owner.ok("POST", f"/cards/{card['key']}/move", json={"column": "In Progress"})
    # a comment after the manual move touches the PR (updated_at), not the time of its merge
    fake.update_pull(world.full_name, number, updated_at=iso(datetime.now(UTC) + timedelta(seconds=2)))

    result = sync(stack, world, [number])
    assert result["synced"] == 1
    shown = world.show(card["key"])
    assert shown["column"] == "In Progress"  # moved by hand after the merge: stays
    assert shown["pull_requests"][0]["state"] == "merged"  # the PR is linked and shown all the same
    assert [m["actor"]["name"] for m in moves(world, card["key"])] == [world.owner.username]


def test_sync_roles(stack: GitHubStack, fake: FakeGitHub) -> None:
    world = build_world(stack, fake)
    viewer = stack.github_login(f"viewer-{uuid.uuid4().hex[:8]}")
    member = stack.github_login(f"member-{uuid.uuid4().hex[:8]}")
    stranger = stack.github_login(f"stranger-{uuid.uuid4().hex[:8]}")
    join(world.owner, viewer, world.workspace_id, "viewer")
    join(world.owner, member, world.workspace_id, "member")
    path = f"/repositories/{world.repository_id}/sync"
    assert stranger.post(path, json={}).status_code == 404
    assert viewer.post(path, json={}).status_code == 403
    accepted = member.ok("POST", path, json={})
    assert stack.wait_job(member, accepted["job_id"])["status"] == "complete"
    assert member.post(path, json={"numbers": [0]}).status_code in (400, 422)


def test_a_revoked_token_asks_to_sign_in_again_without_retries(stack: GitHubStack, fake: FakeGitHub) -> None:
    world = build_world(stack, fake)
    assert world.owner.ok("GET", "/me")["github_sign_in_required"] is False
    for token in [t.value for t in fake.tokens.values() if t.login == world.owner.username]:
        fake.revoke_token(token)
    fake.clear_requests()
    accepted = world.owner.ok("POST", f"/repositories/{world.repository_id}/sync", json={})
    job = stack.wait_job(world.owner, accepted["job_id"])
    assert job["status"] == "failed" and job["error"] == SIGN_IN, job
    assert job["attempts"] == 1
    assert len(calls(fake, world.full_name)) == 1  # the one refused call, never retried
    assert world.owner.ok("GET", "/me")["github_sign_in_required"] is True

    # the user's own jobs now fail at once, without asking GitHub
    fake.clear_requests()
    card = world.card("Start me")
    started = world.owner.ok("POST", f"/cards/{card['key']}/create-branch", json={})
    job = stack.wait_job(world.owner, started["job_id"])
    assert job["status"] == "failed" and job["error"] == SIGN_IN and job["attempts"] == 1, job
    assert calls(fake, world.full_name) == []

    again = stack.github_login(world.owner.username)  # a new device-flow sign-in clears it
    assert again.ok("GET", "/me")["github_sign_in_required"] is False
    assert sync(stack, World(again, world.workspace_id, world.board, world.full_name,
                             world.repository_id))["synced"] == 0


def test_repository_work_falls_back_to_another_admins_token(stack: GitHubStack, fake: FakeGitHub) -> None:
    world = build_world(stack, fake)
    admin = stack.github_login(f"admin-{uuid.uuid4().hex[:8]}")
    join(world.owner, admin, world.workspace_id, "admin")
    fake.grant(world.full_name, admin.username, "write")
    card = world.card("Fallback")
    number = fake.add_pull(world.full_name, head="web-1-fallback", title="Fallback", user=admin.username)
    for token in [t.value for t in fake.tokens.values() if t.login == world.owner.username]:
        fake.revoke_token(token)

    result = sync(stack, world)  # the owner's token first: refused, then the admin's
    assert [c["number"] for c in result["changed"]] == [number]
    assert world.show(card["key"])["column"] == "In Review"
    assert world.owner.ok("GET", "/me")["github_sign_in_required"] is True
    assert admin.ok("GET", "/me")["github_sign_in_required"] is False


def test_repository_status_shows_deliveries_failures_and_the_reconcile(stack: GitHubStack, fake: FakeGitHub) -> None:
    world = build_world(stack, fake)
    path = f"/repositories/{world.repository_id}/status"
    fresh = world.owner.ok("GET", path)
    assert fresh["last_delivery_at"] is None and fresh["deliveries_24h"] == 0 and fresh["failed_24h"] == 0
    assert fresh["reconciled_at"] is not None  # the backfill at connect
    assert fresh["repository"]["full_name"] == world.full_name

    repo = {"id": fake.repo_info(world.full_name).id, "full_name": world.full_name}
    delivery = uuid.uuid4().hex
    assert fake.deliver(world.full_name, "pull_request", {"action": "opened", "repository": repo},
                        delivery_id=delivery) == [202]
    status = wait_for(lambda: (s := world.owner.ok("GET", path))["failed_24h"] == 1 and s, "the failure")
    assert status["deliveries_24h"] == 1 and status["last_delivery_at"] is not None
    failure = status["last_failure"]
    assert failure["delivery_id"] == delivery and failure["event"] == "pull_request"
    assert "pull_request" in failure["error"]

    viewer = stack.github_login(f"viewer-{uuid.uuid4().hex[:8]}")
    stranger = stack.github_login(f"stranger-{uuid.uuid4().hex[:8]}")
    join(world.owner, viewer, world.workspace_id, "viewer")
    assert viewer.ok("GET", path)["failed_24h"] == 1
    assert stranger.get(path).status_code == 404


# --- the comment linking a pull request's cards (point 5) --------------------------------------------


def db(stack: GitHubStack) -> psycopg.Connection:
    return psycopg.connect(libpq(stack.env["TASKLY_DATABASE_URL"]), autocommit=True)


def comment_row(stack: GitHubStack, pull_id: str) -> tuple | None:
    with db(stack) as conn:
        return conn.execute("SELECT status, comment_id, body FROM pull_request_comments"
                            " WHERE pull_request_id = %s", (pull_id,)).fetchone()


async def wait_comment_job(stack: GitHubStack, jobs: JobQueue, workspace_id: str, pull_id: str) -> dict:
    """The result of the comment job queued for the workspace's latest change."""
    with db(stack) as conn:
        seq = conn.execute("SELECT seq FROM workspaces WHERE id = %s", (workspace_id,)).fetchone()[0]
    key = f"prcomment:{pull_id}:{seq}"
    for _ in range(600):
        job = await jobs.job(key)
        if job is not None and job.status == Status.COMPLETE:
            return job.result
        await asyncio.sleep(0.05)
    raise AssertionError(f"no complete job {key}: {job}")


async def test_exactly_one_pr_comment_through_20_changes_two_workers_and_a_retried_job(
        stack: GitHubStack, fake: FakeGitHub, jobs: JobQueue) -> None:
    if len(stack.workers) < 2:
        stack.start_worker()  # two workers take the comment jobs from now on
    world = build_world(stack, fake, comment=True)
    card = world.card("Fix login redirect")
    fake.add_branch(world.full_name, "web-1-fix-login-redirect")
    number = fake.add_pull(world.full_name, head="web-1-fix-login-redirect", title="Fix login redirect",
                           user=world.owner.username)
    # the first attempt's POST fails (502, after the client's own two retries): the job is retried
    fake.fail_next("POST", rf"/repos/{world.full_name}/issues/{number}/comments$", 502, times=3)
    sync(stack, world, [number])  # links the PR: the consumer queues the comment
    pull_id = world.show(card["key"])["pull_requests"][0]["id"]
    columns = ["In Progress", "In Review", "Todo", "In Progress"]
    for step in range(20):
        if step % 3 == 0:
            world.owner.ok("POST", f"/cards/{card['key']}/move", json={"column": columns[step % 4]})
        elif step % 3 == 1:
            world.owner.ok("PATCH", f"/cards/{card['key']}", json={"title": f"Fix login redirect v{step}"})
        else:
            world.owner.ok("PATCH", f"/cards/{card['key']}",
                           json={"assignees": [world.owner.username] if step % 2 else []})
    final = world.show(card["key"])

    def settled() -> list[dict] | None:
        found = fake.issue_comments(world.full_name, number)
        body = found[-1]["body"] if found else ""
        return found if (final["title"] in body and f"| {final['column']} |" in body) else None

    comments = wait_for(settled, "the comment showing the card's last state", timeout=60)
    await wait_comment_job(stack, jobs, world.workspace_id, pull_id)
    comments = fake.issue_comments(world.full_name, number)
    assert len(comments) == 1, comments
    body = comments[0]["body"]
    assert f"**{card['key']}**" in body and final["title"] in body and final["column"] in body
    assert comments[0]["user"]["login"] == world.owner.username
    posts = [r for r in fake.requests
             if r.method == "POST" and r.path.endswith(f"/repos/{world.full_name}/issues/{number}/comments")]
    assert len(posts) == 4  # three refused (one attempt), then the retry's
    status, comment_id, stored = comment_row(stack, pull_id)
    assert status == "posted" and comment_id == comments[0]["id"] and stored == body

    # deleted on GitHub: the next change finds it gone (404) and never makes another
    fake.delete_issue_comment(world.full_name, comment_id)
    world.owner.ok("PATCH", f"/cards/{card['key']}", json={"title": "Fix login redirect, again"})
    result = await wait_comment_job(stack, jobs, world.workspace_id, pull_id)
    assert result["outcome"] == "deleted on GitHub: not made again", result
    world.owner.ok("POST", f"/cards/{card['key']}/move", json={"column": "Done"})
    result = await wait_comment_job(stack, jobs, world.workspace_id, pull_id)
    assert result["outcome"] == "deleted on GitHub: not made again", result
    assert fake.issue_comments(world.full_name, number) == []
    assert comment_row(stack, pull_id)[0] == "deleted"


async def test_a_board_with_pr_comment_off_gets_no_comment(stack: GitHubStack, fake: FakeGitHub,
                                                           jobs: JobQueue) -> None:
    world = build_world(stack, fake, comment=True)
    rules = world.owner.ok("PUT", f"/boards/{world.board['id']}/automation", json={"pr_comment": False})
    assert rules["pr_comment"] is False
    assert world.owner.request("PUT", f"/boards/{world.board['id']}/automation", json={}).status_code in (400, 422)
    card = world.card("Quiet")
    number = fake.add_pull(world.full_name, head="web-1-quiet", title="Quiet", user=world.owner.username)
    sync(stack, world, [number])
    pull_id = world.show(card["key"])["pull_requests"][0]["id"]
    result = await wait_comment_job(stack, jobs, world.workspace_id, pull_id)
    assert result["outcome"] == "no card to link"
    assert fake.issue_comments(world.full_name, number) == []


# --- rate limits (point 7) ----------------------------------------------------------------------------


async def test_a_rate_limited_github_delays_reconcile_without_failing_it(
        stack: GitHubStack, fake: FakeGitHub, jobs: JobQueue) -> None:
    world = build_world(stack, fake)
    first, second = world.card("First"), world.card("Second")
    one = fake.add_pull(world.full_name, head="web-1-first", title="First", user=world.owner.username)
    two = fake.add_pull(world.full_name, head="web-2-second", title="Second", user=world.owner.username)
    # 100 of 5,000 calls left (2 %), for 4 more seconds
    fake.rate_limit(100, reset_in=4, login=world.owner.username)

    # user-started work still runs, and `repo status` shows what is left
    assert sync(stack, world, [one])["synced"] == 1
    assert world.show(first["key"])["column"] == "In Review"
    budget = world.owner.ok("GET", f"/repositories/{world.repository_id}/status")["github_budget"]
    assert budget is not None and budget["limit"] == 5000 and budget["remaining"] < 100

    # background work (the cron's reconcile) waits for the reset instead of failing
    fake.clear_requests()
    key = f"reconcile-test:{uuid.uuid4().hex}"
    await jobs.enqueue("reconcile_repository", key=key, repository_id=world.repository_id, full=True)
    waited = None
    for _ in range(600):
        job = await jobs.job(key)
        assert job is None or job.status != Status.FAILED, job
        if job is not None and "rate limit" in str(job.meta.get("error") or "") and job.status == Status.QUEUED:
            waited = job
        if job is not None and job.status == Status.COMPLETE:
            break
        await asyncio.sleep(0.05)
    assert waited is not None, "the job never waited for the reset"
    assert job is not None and job.status == Status.COMPLETE, job
    assert [c["number"] for c in job.result["changed"]] == [two]
    assert world.show(second["key"])["column"] == "In Review"
    assert calls(fake, world.full_name)  # and only after the reset: nothing was refused
    assert not [r for r in fake.requests if "rate_limit" in r.path]

    # a secondary rate limit (403 with Retry-After) reschedules the job for that time
    third = world.card("Third")
    three = fake.add_pull(world.full_name, head="web-3-third", title="Third", user=world.owner.username)
    fake.secondary_rate_limit(retry_after=2, times=1, path_regex=rf"/pulls/{three}$")
    key = f"reconcile-test:{uuid.uuid4().hex}"
    await jobs.enqueue("reconcile_repository", key=key, repository_id=world.repository_id, numbers=[three])
    for _ in range(600):
        job = await jobs.job(key)
        assert job is None or job.status != Status.FAILED, job
        if job is not None and job.status == Status.COMPLETE:
            break
        await asyncio.sleep(0.05)
    assert job.status == Status.COMPLETE and job.attempts == 2, job
    assert world.show(third["key"])["column"] == "In Review"
