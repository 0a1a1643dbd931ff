"""Connecting GitHub repositories: the access check, the webhook (registered, or by hand with a
secret shown once), listing, the board's default repository, disconnecting; real server and
worker processes against the fake GitHub."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from taskly_server.db.models import Repository
from taskly_server.db.session import create_engine, create_sessionmaker
from taskly_server.integrations.github.crypto import decrypt_webhook_secret

from tests.support.api import Api
from tests.support.authz import join
from tests.support.fake_github import FakeGitHub
from tests.support.github_stack import SECRET, GitHubStack

pytestmark = pytest.mark.timeout(120)

EVENTS = {"pull_request", "pull_request_review", "push", "create", "delete", "check_suite",
          "check_run", "status"}


@pytest.fixture(scope="module")
def stack(fake: FakeGitHub, github_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHubStack]:
    stack = GitHubStack.start(tmp_path_factory.mktemp("repositories"), github_database, fake)
    yield stack
    stack.stop()


def login(stack: GitHubStack, prefix: str = "octo") -> Api:
    return stack.github_login(f"{prefix}-{uuid.uuid4().hex[:8]}")


def repo_name(fake: FakeGitHub, collaborators: dict[str, str]) -> str:
    full_name = f"acme-{uuid.uuid4().hex[:8]}/web"
    fake.add_repo(full_name, collaborators=collaborators)
    return full_name


async def stored_secret(database_url: str, repository_id: str) -> tuple[int | None, str | None]:
    engine = create_engine(database_url, pool_size=1)
    async with create_sessionmaker(engine)() as db:
        row = await db.scalar(select(Repository).where(Repository.id == uuid.UUID(repository_id)))
    await engine.dispose()
    return row.webhook_id, decrypt_webhook_secret(SECRET, row.id, row.webhook_secret_encrypted)


def changes_of(api: Api, workspace_id: str, entity_type: str) -> list[dict]:
    page = api.ok("GET", f"/workspaces/{workspace_id}/changes", params={"since": 0})
    return [c for c in page["changes"] if c["entity_type"] == entity_type]


def test_connect_registers_the_webhook(stack: GitHubStack, fake: FakeGitHub, github_database: str) -> None:
    owner = login(stack)
    full_name = repo_name(fake, {owner.username: "admin"})
    workspace = owner.workspace("Repos")
    board = owner.board(workspace["id"], "WEB")
    accepted = owner.ok("POST", f"/workspaces/{workspace['id']}/repositories",
                        json={"full_name": full_name, "board_id": board["id"]})
    assert accepted["job_id"] and accepted["status"] in ("queued", "active")
    job = stack.wait_job(owner, accepted["job_id"])
    assert job["status"] == "complete", job
    assert job["function"] == "connect_repository" and job["attempts"] == 1
    result = job["result"]
    assert result["webhook"] == "registered" and "secret" not in result
    assert result["url"] == f"{stack.url}/api/v1/webhooks/github"
    assert result["board_default"] is True
    repository = result["repository"]
    assert repository["full_name"] == full_name and repository["webhook"] == "registered"
    assert repository["default_branch"] == "main" and repository["active"] is True
    assert repository["github_id"] == fake.repo_info(full_name).id

    hooks = fake.hooks(full_name)
    assert len(hooks) == 1
    hook = hooks[0]
    assert hook["config"]["url"] == f"{stack.url}/api/v1/webhooks/github"
    assert hook["config"]["content_type"] == "json" and set(hook["events"]) == EVENTS
    webhook_id, secret = asyncio.run(stored_secret(github_database, repository["id"]))
    assert webhook_id == hook["id"] and secret == hook["config"]["secret"] and len(secret) >= 32

    listed = owner.ok("GET", f"/workspaces/{workspace['id']}/repositories")
    assert [r["full_name"] for r in listed] == [full_name]
    assert "secret" not in str(listed).lower()
    assert owner.ok("GET", f"/boards/{board['id']}")["default_repository_id"] == repository["id"]
    created = changes_of(owner, workspace["id"], "repository")
    assert [c["op"] for c in created] == ["create"]
    assert created[0]["actor"] == {"type": "user", "id": owner.user["id"], "name": owner.username,
                                   "delivery_id": None}
    board_changes = [c for c in changes_of(owner, workspace["id"], "board") if c["op"] == "update"]
    assert board_changes[-1]["changes"]["default_repository_id"]["new"] == repository["id"]

    again = stack.connect(owner, workspace["id"], full_name)  # idempotent: same hook, same row
    assert again["webhook"] == "registered" and again["repository"]["id"] == repository["id"]
    assert [h["id"] for h in fake.hooks(full_name)] == [hook["id"]]
    assert asyncio.run(stored_secret(github_database, repository["id"]))[1] == secret
    assert [c["op"] for c in changes_of(owner, workspace["id"], "repository")] == ["create"]


def test_connect_without_admin_gives_url_and_secret_once(stack: GitHubStack, fake: FakeGitHub,
                                                         github_database: str) -> None:
    owner = login(stack)
    teammate = login(stack)
    full_name = repo_name(fake, {owner.username: "write", teammate.username: "admin"})
    workspace = owner.workspace("Manual")
    join(owner, teammate, workspace["id"], "admin")
    result = stack.connect(owner, workspace["id"], full_name)
    assert result["webhook"] == "manual" and result["hook_id"] is None
    assert result["url"] == f"{stack.url}/api/v1/webhooks/github"
    assert set(result["events"]) == EVENTS and result["content_type"] == "json"
    assert "admin:repo_hook" in result["reason"]
    assert fake.hooks(full_name) == []
    assert asyncio.run(stored_secret(github_database, result["repository"]["id"])) == (None, result["secret"])
    assert result["repository"]["webhook"] == "manual"
    listed = teammate.ok("GET", f"/workspaces/{workspace['id']}/repositories")
    assert listed[0]["webhook"] == "manual" and result["secret"] not in str(listed)

    # A teammate who asks for the same connection while it runs follows the job, without the secret.
    job = teammate.ok("GET", f"/jobs/repo:{workspace['id']}:{full_name.lower().replace('/', ':')}")
    assert job["status"] == "complete" and "secret" not in job["result"]
    # Connecting again keeps the secret the hook was set up with.
    assert stack.connect(owner, workspace["id"], full_name)["secret"] == result["secret"]


def test_connect_failures_are_clear(stack: GitHubStack, fake: FakeGitHub) -> None:
    owner = login(stack)
    workspace = owner.workspace("Failures")
    missing = owner.ok("POST", f"/workspaces/{workspace['id']}/repositories",
                       json={"full_name": "acme/does-not-exist"})
    job = stack.wait_job(owner, missing["job_id"])
    assert job["status"] == "failed" and job["attempts"] == 1  # not retried: it will not appear
    assert job["error"] == ("repository acme/does-not-exist not found, or your GitHub account "
                            "cannot see it")
    private = repo_name(fake, {})
    job = stack.wait_job(owner, owner.ok("POST", f"/workspaces/{workspace['id']}/repositories",
                                         json={"full_name": private})["job_id"])
    assert job["status"] == "failed" and "not found" in job["error"]
    assert owner.ok("GET", f"/workspaces/{workspace['id']}/repositories") == []


def test_who_may_connect_and_list(stack: GitHubStack, fake: FakeGitHub) -> None:
    owner = login(stack)
    member, viewer, outsider = login(stack), login(stack), login(stack)
    workspace = owner.workspace("Roles")
    join(owner, member, workspace["id"], "member")
    join(owner, viewer, workspace["id"], "viewer")
    path = f"/workspaces/{workspace['id']}/repositories"
    full_name = repo_name(fake, {owner.username: "admin", member.username: "admin"})
    assert member.post(path, json={"full_name": full_name}).json()["code"] == "forbidden"
    assert viewer.post(path, json={"full_name": full_name}).json()["code"] == "forbidden"
    assert Api(stack.url).post(path, json={"full_name": full_name}).status_code == 401
    assert outsider.post(path, json={"full_name": full_name}).status_code == 404
    assert outsider.get(path).status_code == 404
    assert viewer.get(path).status_code == 200
    invalid = owner.post(path, json={"full_name": "not a repository"})
    assert invalid.status_code == 400 and invalid.json()["code"] == "validation_error"
    other_board = owner.board(owner.workspace("Other")["id"], "OTH")
    wrong = owner.post(path, json={"full_name": full_name, "board_id": other_board["id"]})
    assert wrong.status_code == 422, wrong.text
    dev = Api.login(stack.url)  # signed in without GitHub
    dev_workspace = dev.workspace("Dev")
    unlinked = dev.post(f"/workspaces/{dev_workspace['id']}/repositories", json={"full_name": full_name})
    assert unlinked.status_code == 409 and unlinked.json()["code"] == "github_not_linked"
    # The enqueuer's job is not visible outside the workspace.
    accepted = owner.ok("POST", path, json={"full_name": full_name})
    assert outsider.get(f"/jobs/{accepted['job_id']}").status_code == 404
    assert member.get(f"/jobs/{accepted['job_id']}").status_code == 404
    assert stack.wait_job(owner, accepted["job_id"])["status"] == "complete"


def test_board_default_repository_and_disconnect(stack: GitHubStack, fake: FakeGitHub) -> None:
    owner = login(stack)
    member = login(stack)
    workspace = owner.workspace("Default")
    join(owner, member, workspace["id"], "member")
    board = owner.board(workspace["id"], "DEF")
    full_name = repo_name(fake, {owner.username: "admin"})
    repository = stack.connect(owner, workspace["id"], full_name)["repository"]
    assert owner.ok("GET", f"/boards/{board['id']}")["default_repository_id"] is None

    patched = owner.ok("PATCH", f"/boards/{board['id']}", json={"default_repository_id": repository["id"]})
    assert patched["default_repository_id"] == repository["id"]
    elsewhere = owner.workspace("Elsewhere")
    foreign = stack.connect(owner, elsewhere["id"], repo_name(fake, {owner.username: "admin"}))["repository"]
    refused = owner.patch(f"/boards/{board['id']}", json={"default_repository_id": foreign["id"]})
    assert refused.status_code == 422 and refused.json()["code"] == "validation_error"
    cleared = owner.ok("PATCH", f"/boards/{board['id']}", json={"default_repository_id": None})
    assert cleared["default_repository_id"] is None
    owner.ok("PATCH", f"/boards/{board['id']}", json={"default_repository_id": repository["id"]})

    assert member.delete(f"/repositories/{repository['id']}").status_code == 403
    assert login(stack).delete(f"/repositories/{repository['id']}").status_code == 404
    gone = owner.ok("DELETE", f"/repositories/{repository['id']}")
    assert gone["active"] is False
    assert owner.ok("GET", f"/workspaces/{workspace['id']}/repositories") == []
    listed = owner.ok("GET", f"/workspaces/{workspace['id']}/repositories", params={"include_inactive": True})
    assert [r["id"] for r in listed] == [repository["id"]]
    deadline = time.monotonic() + 20  # the hook is removed in a job
    while fake.hooks(full_name):
        assert time.monotonic() < deadline, stack.worker.log()[-2000:]
        time.sleep(0.05)
    assert owner.ok("DELETE", f"/repositories/{repository['id']}")["active"] is False  # idempotent
    ops = [c["op"] for c in changes_of(owner, workspace["id"], "repository")]
    assert ops[:2] == ["create", "delete"]
    card = owner.ok("POST", f"/boards/{board['id']}/cards", json={"title": "After disconnect"})
    no_repo = owner.post(f"/cards/{card['key']}/create-branch", json={})
    assert no_repo.status_code == 409 and no_repo.json()["code"] == "no_repository"
    reconnected = stack.connect(owner, workspace["id"], full_name)
    assert reconnected["repository"]["id"] == repository["id"] and reconnected["repository"]["active"]
    assert len(fake.hooks(full_name)) == 1
