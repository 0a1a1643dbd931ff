"""`POST /api/v1/webhooks/github`: every real GitHub payload, signed like GitHub signs it, accepted
and processed; bad or missing signatures refused with nothing stored; redeliveries (also ten at
once) processed once; malformed and oversized bodies; and, end to end, a repository connected
through the API whose webhook the fake GitHub registered and now delivers to."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from tests.support.api import Api
from tests.support.checks import problem, sql
from tests.support.fake_github import FakeGitHub
from tests.support.github_stack import GitHubStack
from tests.support.github_webhooks import Hook, fixture, fixture_files, sign
from tests.support.processes import ServerProcess, start_server

pytestmark = pytest.mark.timeout(120)

HANDLED = {"pull_request", "pull_request_review", "check_suite", "check_run", "status", "push",
           "create", "delete"}


@pytest.fixture(scope="module")
def hooks_server(server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server running its SAQ worker in process (Postgres queue), on the session database."""
    env = {**server_env, "TASKLY_WORKER_IN_PROCESS": "1", "TASKLY_QUEUE_NAME": f"wh-{uuid.uuid4().hex[:8]}"}
    process = start_server(env, tmp_path_factory.mktemp("webhooks"))
    yield process
    process.stop()


@pytest.fixture(scope="module")
def owner(hooks_server: ServerProcess) -> Api:
    return Api.login(hooks_server.url)


@pytest.fixture(scope="module")
def world(owner: Api) -> dict:
    workspace = owner.workspace("Webhooks")
    board = owner.board(workspace["id"], "WEB")
    return {"workspace": workspace, "board": board}


@pytest.fixture
def hook(hooks_server: ServerProcess, database_url: str, world: dict) -> Hook:
    return Hook.connect(hooks_server.url, database_url, world["workspace"]["id"])


def stored(database_url: str, *delivery_ids: str) -> int:
    return sql(database_url, "SELECT count(*) FROM webhook_deliveries WHERE delivery_id = ANY(%s)",
               list(delivery_ids))[0][0]


# --- every real payload --------------------------------------------------------------------------


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_fixture_is_accepted_and_unsigned_ones_are_refused(path: Path, hook: Hook,
                                                                 database_url: str) -> None:
    event = path.parent.name
    payload = hook.adopt(json.loads(path.read_text()))
    refused = [str(uuid.uuid4()) for _ in range(3)]
    problem(hook.send(event, payload, delivery_id=refused[0], signature=None), 401, "unauthenticated")
    problem(hook.send(event, payload, delivery_id=refused[1], signature=sign("not-the-secret",
            json.dumps(payload).encode())), 401, "unauthenticated")
    problem(hook.send(event, payload, delivery_id=refused[2], signature="sha256=" + "0" * 64),
            401, "unauthenticated")
    assert stored(database_url, *refused) == 0

    delivery_id = str(uuid.uuid4())
    response = hook.send(event, payload, delivery_id=delivery_id)
    assert response.is_success, response.text
    body = response.json()
    assert body["delivery_id"] == delivery_id and body["event"] == event
    if event in HANDLED:
        assert response.status_code == 202 and body["status"] == "queued"
        processed = hook.wait(delivery_id)
        assert processed["error"] is None, processed
        assert processed["outcome"] != "invalid payload", processed
    else:  # ping, workflow_run: acknowledged, stored as ignored, no job
        assert response.status_code == 200 and body["status"] == "ignored"
        assert hook.wait(delivery_id, timeout=1)["outcome"] == "ignored"


def test_a_signature_over_other_bytes_is_refused(hook: Hook, database_url: str) -> None:
    """The HMAC covers the exact body: a re-serialised payload with the original signature fails."""
    body = json.dumps(hook.pull("opened", 1)).encode()
    signature = sign(hook.secret, body)
    delivery_id = str(uuid.uuid4())
    tampered = body.replace(b'"title": "Update"', b'"title": "Updated"')
    assert tampered != body
    problem(hook.send("pull_request", tampered, delivery_id=delivery_id, signature=signature),
            401, "unauthenticated")
    problem(hook.send("pull_request", body, delivery_id=delivery_id,
                      signature=signature.replace("sha256=", "sha1=")), 401, "unauthenticated")
    assert stored(database_url, delivery_id) == 0


def test_unknown_or_disconnected_repository_is_refused(hook: Hook, database_url: str) -> None:
    stranger = fixture("pull_request", "opened.payload.json")  # Codertocat/Hello-World: not connected
    delivery_id = str(uuid.uuid4())
    problem(hook.send("pull_request", stranger, delivery_id=delivery_id), 401, "unauthenticated")
    sql(database_url, "UPDATE repositories SET active = false WHERE id = %s", hook.repository_id)
    gone = str(uuid.uuid4())
    problem(hook.send("pull_request", hook.pull("opened", 2), delivery_id=gone), 401, "unauthenticated")
    assert stored(database_url, delivery_id, gone) == 0


def test_malformed_bodies_and_headers(hook: Hook, database_url: str) -> None:
    bad = b'{"action": "opened", "repository": '
    response = hook.send("pull_request", bad, signature=sign(hook.secret, bad))
    problem(response, 400, "bad_request")
    not_object = b'["a", "list"]'
    problem(hook.send("pull_request", not_object, signature=sign(hook.secret, not_object)), 400, "bad_request")
    latin = b'{"title": "caf\xe9"}'
    problem(hook.send("pull_request", latin, signature=sign(hook.secret, latin)), 400, "bad_request")
    payload = json.dumps(hook.pull("opened", 3)).encode()
    problem(hook.send("pull_request", payload, headers={"X-GitHub-Delivery": "not a delivery id!"}),
            400, "bad_request")
    missing_event = httpx.post(f"{hook.server_url}/api/v1/webhooks/github", content=payload,
                               headers={"X-GitHub-Delivery": str(uuid.uuid4()),
                                        "X-Hub-Signature-256": sign(hook.secret, payload)})
    problem(missing_event, 400, "bad_request")


def test_a_nul_escape_postgres_refuses_is_stored_without_it(hook: Hook) -> None:
    """`\\u0000` is valid JSON that jsonb refuses: the delivery is still accepted and processed."""
    payload = hook.pull("opened", 5, title="nul \u0000 inside")
    delivery_id = hook.deliver("pull_request", payload)
    ((title,),) = sql(hook.database_url, "SELECT payload #>> '{pull_request,title}' FROM webhook_deliveries"
                      " WHERE delivery_id = %s", delivery_id)
    assert title == "nul  inside"


def test_a_body_over_25_mb_is_413(hook: Hook) -> None:
    huge = b'{"zen": "' + b"x" * (25 * 1024 * 1024) + b'"}'
    response = hook.send("ping", huge, signature=sign(hook.secret, huge))
    problem(response, 413, "payload_too_large")
    just_under = hook.adopt(fixture("ping"))
    just_under["padding"] = "y" * (24 * 1024 * 1024)
    assert hook.send("ping", just_under).status_code == 200


def test_form_encoded_deliveries_are_accepted(hook: Hook) -> None:
    """GitHub's other content type: `payload=<json>`, signed over the form body."""
    body = urlencode({"payload": json.dumps(hook.pull("opened", 4))}).encode()
    delivery_id = str(uuid.uuid4())
    response = hook.send("pull_request", body, delivery_id=delivery_id, signature=sign(hook.secret, body),
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 202, response.text
    assert hook.wait(delivery_id)["error"] is None


# --- redeliveries --------------------------------------------------------------------------------


def card(owner: Api, world: dict, title: str) -> dict:
    return owner.ok("POST", f"/boards/{world['board']['id']}/cards", json={"title": title})


def activity_of(owner: Api, card_key: str, delivery_id: str) -> list[dict]:
    return [c for c in owner.ok("GET", f"/cards/{card_key}/activity")
            if c["actor"]["delivery_id"] == delivery_id]


def test_a_redelivery_is_acknowledged_and_not_processed_again(hook: Hook, owner: Api, world: dict) -> None:
    target = card(owner, world, "Redelivered")
    branch = f"{target['key'].lower()}-redelivered"
    payload = hook.pull("opened", 20, head=branch)
    delivery_id = hook.deliver("pull_request", payload)
    assert owner.ok("GET", f"/cards/{target['key']}")["column"] == "In Review"
    owner.ok("POST", f"/cards/{target['key']}/move", json={"column": "Todo"})
    again = hook.send("pull_request", payload, delivery_id=delivery_id)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    hook.wait(delivery_id)
    assert owner.ok("GET", f"/cards/{target['key']}")["column"] == "Todo"
    assert len(activity_of(owner, target["key"], delivery_id)) == 1
    assert hook.deliveries(delivery_id) == 1


async def test_ten_concurrent_copies_are_processed_once(hook: Hook, owner: Api, world: dict) -> None:
    target = await asyncio.to_thread(card, owner, world, "Ten at once")
    payload = hook.pull("opened", 21, head=f"{target['key'].lower()}-ten-at-once")
    body = json.dumps(payload).encode()
    delivery_id = str(uuid.uuid4())
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "pull_request",
               "X-GitHub-Delivery": delivery_id, "X-Hub-Signature-256": sign(hook.secret, body)}
    async with httpx.AsyncClient(timeout=30) as client:
        responses = await asyncio.gather(*[
            client.post(f"{hook.server_url}/api/v1/webhooks/github", content=body, headers=headers)
            for _ in range(10)])
    assert all(r.is_success for r in responses), [(r.status_code, r.text) for r in responses if not r.is_success]
    statuses = sorted(r.json()["status"] for r in responses)
    assert statuses == ["duplicate"] * 9 + ["queued"], statuses
    await asyncio.to_thread(hook.wait, delivery_id)
    await asyncio.sleep(0.5)  # a second job, if one had been queued, would have run by now
    entries = await asyncio.to_thread(activity_of, owner, target["key"], delivery_id)
    assert len(entries) == 1, entries
    assert entries[0]["op"] == "move" and entries[0]["changes"]["column"]["new"] == "In Review"
    assert entries[0]["actor"] == {"type": "automation", "id": None, "name": "pr_opened → review",
                                   "delivery_id": delivery_id}
    assert hook.deliveries(delivery_id) == 1


# --- end to end: connected through the API, delivered by the fake GitHub -------------------------


@pytest.fixture(scope="module")
def stack(fake: FakeGitHub, github_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHubStack]:
    stack = GitHubStack.start(tmp_path_factory.mktemp("hooks-stack"), github_database, fake)
    yield stack
    stack.stop()


def test_the_connected_repositorys_webhook_moves_the_card(stack: GitHubStack, fake: FakeGitHub) -> None:
    """Connect through the API (the job registers the hook with its secret on the fake GitHub),
    start the card (its branch is created on the fake), open a PR from the branch on the fake and
    let the fake deliver it like GitHub: the card moves from In Progress to In Review."""
    owner = stack.github_login(f"octo-{uuid.uuid4().hex[:8]}")
    full_name = f"acme-{uuid.uuid4().hex[:8]}/web"
    fake.add_repo(full_name, collaborators={owner.username: "admin"})
    workspace = owner.workspace("Hooked")
    board = owner.board(workspace["id"], "WEB")
    stack.connect(owner, workspace["id"], full_name, board_id=board["id"])
    (registered,) = fake.hooks(full_name)
    assert registered["config"]["url"] == f"{stack.url}/api/v1/webhooks/github"
    target = owner.ok("POST", f"/boards/{board['id']}/cards", json={"title": "Fix login redirect"})
    started = owner.ok("POST", f"/cards/{target['key']}/create-branch", json={})
    assert stack.wait_job(owner, started["job_id"])["status"] == "complete"
    assert owner.ok("GET", f"/cards/{target['key']}")["column"] == "In Progress"
    fake.commit(full_name, "web-1-fix-login-redirect", "Fix the redirect")
    number = fake.add_pull(full_name, head="web-1-fix-login-redirect", title="Fix login redirect",
                           user=owner.username)
    repo = fake.state_repo(full_name)
    payload = {"action": "opened", "number": number, "pull_request": fake.pull_json(full_name, number),
               "repository": fake.shapes.repo(repo, None), "sender": fake.account(owner.username)}
    delivery_id = str(uuid.uuid4())
    assert fake.deliver(full_name, "pull_request", payload, delivery_id=delivery_id) == [202]
    deadline = time.monotonic() + 20
    shown = owner.ok("GET", f"/cards/{target['key']}")
    while shown["column"] != "In Review" and time.monotonic() < deadline:
        time.sleep(0.05)
        shown = owner.ok("GET", f"/cards/{target['key']}")
    assert shown["column"] == "In Review", shown
    (pull,) = shown["pull_requests"]
    assert pull["number"] == number and pull["state"] == "open" and pull["repository"] == full_name
    activity = owner.ok("GET", f"/cards/{target['key']}/activity")
    assert activity[0]["actor"]["delivery_id"] == delivery_id
