"""Pull requests move the board: linking by branch, title and closing words; the default rules and a
board's own; out-of-order deliveries; manual moves that win; reviews and CI on the card; the
automation API; and every webhook-driven change in the feed, the snapshot and on the WebSocket.

Real server process with its SAQ worker in process, real GitHub payloads signed like GitHub's.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from websockets.asyncio.client import connect

from tests.support.api import Api
from tests.support.github_webhooks import BASE_TIME, Hook, fixture, now, sha
from tests.support.processes import ServerProcess, start_server

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def hooks_server(server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {**server_env, "TASKLY_WORKER_IN_PROCESS": "1", "TASKLY_QUEUE_NAME": f"pa-{uuid.uuid4().hex[:8]}"}
    process = start_server(env, tmp_path_factory.mktemp("automation"))
    yield process
    process.stop()


@dataclass
class Scene:
    owner: Api
    workspace_id: str
    board: dict
    hook: Hook

    def card(self, title: str) -> dict:
        return self.owner.ok("POST", f"/boards/{self.board['id']}/cards", json={"title": title})

    def show(self, card: dict) -> dict:
        return self.owner.ok("GET", f"/cards/{card['key']}")

    def branch(self, card: dict, slug: str = "fix-login") -> str:
        return f"{card['key'].lower()}-{slug}"

    def activity(self, card: dict, delivery_id: str) -> list[dict]:
        return [c for c in self.owner.ok("GET", f"/cards/{card['key']}/activity")
                if c["actor"]["delivery_id"] == delivery_id]

    def move(self, card: dict, column: str) -> dict:
        return self.owner.ok("POST", f"/cards/{card['key']}/move", json={"column": column})


@pytest.fixture
def scene(hooks_server: ServerProcess, database_url: str) -> Scene:
    """A workspace with board WEB and a connected repository of its own."""
    owner = Api.login(hooks_server.url)
    workspace = owner.workspace("Automation")
    board = owner.board(workspace["id"], "WEB")
    return Scene(owner, workspace["id"], board, Hook.connect(hooks_server.url, database_url, workspace["id"]))


# --- linking and the default rules ---------------------------------------------------------------


def test_branch_pr_opened_goes_to_review_and_merged_to_done(scene: Scene) -> None:
    for number in range(1, 7):
        scene.card(f"Earlier card {number}")
    card = scene.card("Fix login redirect")
    assert card["key"] == "WEB-7" and card["column"] == "Backlog" and card["pull_requests"] == []
    branch, t = "web-7-fix-login-redirect", now() + 1
    opened = scene.hook.deliver("pull_request", scene.hook.pull("opened", 7, head=branch, updated=t))
    shown = scene.show(card)
    assert shown["column"] == "In Review"
    (pull,) = shown["pull_requests"]
    assert pull == {**pull, "number": 7, "state": "open", "repository": scene.hook.full_name,
                    "url": f"https://github.com/{scene.hook.full_name}/pull/7", "head_branch": branch,
                    "ci": "none", "approvals": 0, "changes_requested": 0}
    (entry,) = scene.activity(card, opened)
    assert entry["op"] == "move" and entry["changes"]["column"] == {"old": "Backlog", "new": "In Review"}
    assert entry["actor"] == {"type": "automation", "id": None, "name": "pr_opened → review",
                              "delivery_id": opened}
    assert entry["data"]["pull_requests"][0]["number"] == 7

    merged = scene.hook.deliver("pull_request", scene.hook.pull("closed", 7, head=branch, merged=True,
                                                                updated=t + 10))
    shown = scene.show(card)
    assert shown["column"] == "Done" and shown["pull_requests"][0]["state"] == "merged"
    (entry,) = scene.activity(card, merged)
    assert entry["actor"]["name"] == "pr_merged → done" and entry["changes"]["column"]["new"] == "Done"


def test_closing_words_and_titles_link_bare_keys_do_not(scene: Scene) -> None:
    closed, mentioned, titled = scene.card("Closed by body"), scene.card("Only mentioned"), scene.card("Titled")
    body = f"This resolves {closed['key']}.\n\nSee {mentioned['key']} for context. Fixes #12."
    scene.hook.deliver("pull_request", scene.hook.pull(
        "opened", 8, head="feature/cleanup", title=f"{titled['key']}: tidy things", body=body,
        updated=now() + 1))
    assert [p["number"] for p in scene.show(closed)["pull_requests"]] == [8]
    assert [p["number"] for p in scene.show(titled)["pull_requests"]] == [8]
    assert scene.show(mentioned)["pull_requests"] == []
    assert scene.show(closed)["column"] == scene.show(titled)["column"] == "In Review"
    assert scene.show(mentioned)["column"] == "Backlog"

    # an edit that closes the mentioned card links it (the PR is open: it goes to review) and one
    # that drops the closing word unlinks the other
    edited = f"See {closed['key']} for context. Closes {mentioned['key']}"
    scene.hook.deliver("pull_request", scene.hook.pull(
        "edited", 8, head="feature/cleanup", title=f"{titled['key']}: tidy things", body=edited,
        updated=now() + 2))
    assert [p["number"] for p in scene.show(mentioned)["pull_requests"]] == [8]
    assert scene.show(mentioned)["column"] == "In Review"
    assert scene.show(closed)["pull_requests"] == []


def test_keys_link_only_inside_the_repositorys_workspace(scene: Scene, hooks_server: ServerProcess) -> None:
    ours = scene.card("Ours")
    elsewhere = Api.login(hooks_server.url)
    other_board = elsewhere.board(elsewhere.workspace("Elsewhere")["id"], "WEB")
    theirs = elsewhere.ok("POST", f"/boards/{other_board['id']}/cards", json={"title": "Theirs"})
    assert theirs["key"] == ours["key"]
    scene.hook.deliver("pull_request", scene.hook.pull("opened", 9, head=scene.branch(ours), updated=now() + 1))
    assert scene.show(ours)["column"] == "In Review"
    theirs = elsewhere.ok("GET", f"/cards/{theirs['id']}")
    assert theirs["column"] == "Backlog" and theirs["pull_requests"] == []


def test_done_waits_until_every_linked_pr_is_closed(scene: Scene) -> None:
    card = scene.card("Two pull requests")
    t = now() + 1
    scene.hook.deliver("pull_request", scene.hook.pull("opened", 10, head=scene.branch(card), updated=t))
    scene.hook.deliver("pull_request", scene.hook.pull(
        "opened", 11, head="docs-update", body=f"Closes {card['key']}", updated=t + 1))
    assert sorted(p["number"] for p in scene.show(card)["pull_requests"]) == [10, 11]
    scene.hook.deliver("pull_request", scene.hook.pull("closed", 10, head=scene.branch(card), merged=True,
                                                       updated=t + 5))
    assert scene.show(card)["column"] == "In Review"
    closing = scene.hook.deliver("pull_request", scene.hook.pull(
        "closed", 11, head="docs-update", body=f"Closes {card['key']}", state="closed", updated=t + 6))
    shown = scene.show(card)
    assert shown["column"] == "Done"
    assert {p["number"]: p["state"] for p in shown["pull_requests"]} == {10: "merged", 11: "closed"}
    (entry,) = scene.activity(card, closing)
    assert entry["actor"]["name"] == "pr_merged → done"


def test_closed_unmerged_does_not_move(scene: Scene) -> None:
    card = scene.card("Abandoned")
    t = now() + 1
    scene.hook.deliver("pull_request", scene.hook.pull("opened", 12, head=scene.branch(card), updated=t))
    closed = scene.hook.deliver("pull_request", scene.hook.pull(
        "closed", 12, head=scene.branch(card), state="closed", updated=t + 5))
    shown = scene.show(card)
    assert shown["column"] == "In Review" and shown["pull_requests"][0]["state"] == "closed"
    (entry,) = scene.activity(card, closed)  # the card's PR data changed, nothing moved
    assert entry["op"] == "update" and "column" not in entry["changes"]
    assert entry["actor"]["name"] == "github pull_request.closed"


def test_a_draft_waits_for_ready_for_review(scene: Scene) -> None:
    card = scene.card("Draft first")
    t = now() + 1
    scene.hook.deliver("pull_request", scene.hook.pull("opened", 13, head=scene.branch(card), draft=True,
                                                       updated=t))
    shown = scene.show(card)
    assert shown["column"] == "Backlog" and shown["pull_requests"][0]["state"] == "draft"
    scene.hook.deliver("pull_request", scene.hook.pull(
        "ready_for_review", 13, head=scene.branch(card), updated=t + 2, name="ready_for_review.payload.json"))
    assert scene.show(card)["column"] == "In Review"


# --- out of order, and people's moves ------------------------------------------------------------


def test_a_stale_synchronize_after_the_merge_changes_nothing(scene: Scene) -> None:
    card = scene.card("Merged already")
    branch, t = scene.branch(card), now() + 1
    scene.hook.deliver("pull_request", scene.hook.pull("opened", 14, head=branch, updated=t))
    scene.hook.deliver("pull_request", scene.hook.pull("closed", 14, head=branch, merged=True, updated=t + 10))
    before = scene.show(card)
    stale = scene.hook.deliver("pull_request", scene.hook.pull(
        "synchronize", 14, head=branch, updated=t + 5, head_sha=sha("older push")))
    assert "older than the stored state" in scene.hook.wait(stale)["outcome"]
    after = scene.show(card)
    assert after["column"] == "Done" and after["pull_requests"][0]["state"] == "merged"
    assert after["version"] == before["version"]
    assert after["pull_requests"][0]["head_sha"] == before["pull_requests"][0]["head_sha"]
    assert scene.activity(card, stale) == []


def test_a_manual_move_after_the_event_wins(scene: Scene) -> None:
    card = scene.card("Moved by hand")
    branch, opened_at = scene.branch(card), now() - 30
    scene.hook.deliver("pull_request", scene.hook.pull("opened", 15, head=branch, updated=opened_at))
    assert scene.show(card)["column"] == "In Review"
    scene.move(card, "In Progress")
    scene.hook.deliver("pull_request", scene.hook.pull("synchronize", 15, head=branch, updated=now() + 2,
                                                       head_sha=sha("second push")))
    assert scene.show(card)["column"] == "In Progress"
    # a late delivery of an event from before the move does not undo it ...
    late = scene.hook.deliver("pull_request", scene.hook.pull(
        "review_requested", 15, head=branch, updated=opened_at + 5, name="review_requested.payload.json"))
    assert scene.show(card)["column"] == "In Progress" and scene.activity(card, late) == []
    # ... an event after it still applies
    scene.hook.deliver("pull_request", scene.hook.pull(
        "review_requested", 15, head=branch, updated=now() + 4, name="review_requested.payload.json"))
    assert scene.show(card)["column"] == "In Review"


# --- reviews and CI ------------------------------------------------------------------------------


def test_reviews_update_the_counts_and_move_as_configured(scene: Scene) -> None:
    card = scene.card("Reviewed")
    branch, t = scene.branch(card), now() + 1
    scene.hook.deliver("pull_request", scene.hook.pull("opened", 16, head=branch, updated=t))
    scene.hook.deliver("pull_request_review", scene.hook.review("approved", 16, reviewer="alice", head=branch,
                                                                submitted=t + 1, review_id=1))
    shown = scene.show(card)
    assert shown["column"] == "In Review"  # approved moves nothing by default
    assert (shown["pull_requests"][0]["approvals"], shown["pull_requests"][0]["changes_requested"]) == (1, 0)

    asked = scene.hook.deliver("pull_request_review", scene.hook.review(
        "changes_requested", 16, reviewer="bob", head=branch, submitted=t + 2, review_id=2))
    shown = scene.show(card)
    assert shown["column"] == "In Progress"
    assert (shown["pull_requests"][0]["approvals"], shown["pull_requests"][0]["changes_requested"]) == (1, 1)
    assert scene.activity(card, asked)[0]["actor"]["name"] == "pr_changes_requested → in_progress"

    # an older review of bob's arrives late: it does not replace his newer decision
    scene.hook.deliver("pull_request_review", scene.hook.review("approved", 16, reviewer="bob", head=branch,
                                                                submitted=t + 1, review_id=3))
    assert scene.show(card)["pull_requests"][0]["changes_requested"] == 1
    scene.hook.deliver("pull_request_review", scene.hook.review(
        "dismissed", 16, reviewer="alice", head=branch, submitted=t + 1, review_id=1, action="dismissed"))
    assert scene.show(card)["pull_requests"][0]["approvals"] == 0

    scene.owner.ok("PUT", f"/boards/{scene.board['id']}/automation",
                   json={"rules": {"pr_approved": {"kind": "review"}}})
    approved = scene.hook.deliver("pull_request_review", scene.hook.review(
        "approved", 16, reviewer="bob", head=branch, submitted=t + 3, review_id=4))
    shown = scene.show(card)
    assert shown["column"] == "In Review"
    assert (shown["pull_requests"][0]["approvals"], shown["pull_requests"][0]["changes_requested"]) == (1, 0)
    assert scene.activity(card, approved)[0]["actor"]["name"] == "pr_approved → review"


def test_a_failed_check_suite_shows_and_a_later_success_clears_it(scene: Scene) -> None:
    card = scene.card("Checked")
    head, t = sha("ci head"), now() + 1
    # CI may report before the PR is known: it is kept for the commit
    scene.hook.deliver("status", scene.hook.status(head, "ci/lint", "pending", updated=t))
    scene.hook.deliver("pull_request", scene.hook.pull("opened", 17, head=scene.branch(card), head_sha=head,
                                                       updated=t + 1))
    pull = scene.show(card)["pull_requests"][0]
    assert pull["ci"] == "pending" and [c["name"] for c in pull["checks"]] == ["ci/lint"]
    scene.hook.deliver("status", scene.hook.status(head, "ci/lint", "success", updated=t + 2))
    scene.hook.deliver("check_suite", scene.hook.check_suite(head, "failure", updated=t + 3))
    pull = scene.show(card)["pull_requests"][0]
    assert pull["ci"] == "failure"
    assert {c["name"]: c["state"] for c in pull["checks"]} == {"GitHub Actions": "failure", "ci/lint": "success"}
    scene.hook.deliver("check_suite", scene.hook.check_suite(head, "success", updated=t + 6))
    assert scene.show(card)["pull_requests"][0]["ci"] == "success"
    # the failure delivered again, late, does not bring it back
    scene.hook.deliver("check_suite", scene.hook.check_suite(head, "failure", updated=t + 3))
    assert scene.show(card)["pull_requests"][0]["ci"] == "success"
    scene.hook.deliver("check_run", scene.hook.check_run(head, "e2e", None, updated=t + 7))
    pull = scene.show(card)["pull_requests"][0]
    assert pull["ci"] == "pending" and {c["kind"] for c in pull["checks"]} == {"check_suite", "check_run", "status"}
    # a new head commit has no checks yet
    scene.hook.deliver("pull_request", scene.hook.pull("synchronize", 17, head=scene.branch(card),
                                                       head_sha=sha("next commit"), updated=t + 8))
    pull = scene.show(card)["pull_requests"][0]
    assert pull["ci"] == "none" and pull["checks"] == [] and pull["head_sha"] == sha("next commit")


def test_push_updates_the_pull_requests_head(scene: Scene) -> None:
    card = scene.card("Pushed")
    branch, t = scene.branch(card), now() + 1
    scene.hook.deliver("pull_request", scene.hook.pull("opened", 18, head=branch, updated=t, commits=1))
    payload = scene.hook.adopt(fixture("push", "with-new-branch.payload.json"))
    new_head = sha("pushed")
    payload.update(ref=f"refs/heads/{branch}", after=new_head, deleted=False, created=False, forced=False)
    payload["commits"] = [{"id": sha("c1")}, {"id": new_head}]
    payload["repository"]["pushed_at"] = int((BASE_TIME + timedelta(seconds=t + 3)).timestamp())
    scene.hook.deliver("push", payload)
    pull = scene.show(card)["pull_requests"][0]
    assert pull["head_sha"] == new_head and pull["commit_count"] == 3


# --- the automation API --------------------------------------------------------------------------


def test_automation_rules_read_set_off_and_reset(scene: Scene, hooks_server: ServerProcess) -> None:
    path = f"/boards/{scene.board['id']}/automation"
    rules = {r["event"]: r for r in scene.owner.ok("GET", path)["rules"]}
    assert rules["pr_opened"] == {"event": "pr_opened", "enabled": True, "kind": "review",
                                  "column_id": rules["pr_opened"]["column_id"], "column": "In Review",
                                  "default": True}
    assert rules["pr_changes_requested"]["column"] == "In Progress"
    assert rules["pr_merged"]["column"] == "Done"
    assert not rules["pr_closed"]["enabled"] and rules["pr_closed"]["column"] is None
    assert not rules["pr_approved"]["enabled"]

    updated = scene.owner.ok("PUT", path, json={"rules": {"pr_opened": {"column": "todo"},
                                                          "pr_merged": {"enabled": False}}})
    rules = {r["event"]: r for r in updated["rules"]}
    assert rules["pr_opened"]["column"] == "Todo" and rules["pr_opened"]["kind"] is None
    assert not rules["pr_opened"]["default"]
    assert not rules["pr_merged"]["enabled"] and rules["pr_merged"]["column"] is None

    card = scene.card("Custom rules")
    t = now() + 1
    opened = scene.hook.deliver("pull_request", scene.hook.pull("opened", 19, head=scene.branch(card), updated=t))
    assert scene.show(card)["column"] == "Todo"
    assert scene.activity(card, opened)[0]["actor"]["name"] == "pr_opened → Todo"
    scene.hook.deliver("pull_request", scene.hook.pull("closed", 19, head=scene.branch(card), merged=True,
                                                       updated=t + 5))
    assert scene.show(card)["column"] == "Todo"  # pr_merged is off

    reset = scene.owner.ok("PUT", path, json={"rules": {"pr_opened": None, "pr_merged": None}})
    assert all(r["default"] for r in reset["rules"])
    assert reset["version"] > updated["version"]

    # who may: viewers read, admins write, outsiders see nothing
    viewer = Api.login(hooks_server.url)
    invitation = scene.owner.ok("POST", f"/workspaces/{scene.workspace_id}/invitations", json={"role": "viewer"})
    viewer.ok("POST", f"/invitations/{invitation['token']}/accept")
    assert viewer.get(path).status_code == 200
    assert viewer.request("PUT", path, json={"rules": {"pr_opened": None}}).status_code == 403
    assert Api.login(hooks_server.url).get(path).status_code == 404
    for bad in ({"rules": {"pr_opened": {"column": "Nowhere"}}},
                {"rules": {"pr_opened": {"column": "Todo", "kind": "review"}}},
                {"rules": {"pr_opened": {"enabled": False, "column": "Todo"}}}):
        response = scene.owner.request("PUT", path, json=bad)
        assert response.status_code == 422 and response.json()["code"] == "validation_error", response.text
    for bad in ({"rules": {}}, {"rules": {"pr_teleported": None}}, {"rules": {"pr_opened": {"column": 1}}}):
        response = scene.owner.request("PUT", path, json=bad)
        assert response.status_code == 400 and response.json()["code"] == "validation_error", response.text


# --- live ----------------------------------------------------------------------------------------


async def test_webhook_changes_reach_the_feed_snapshot_and_websocket(scene: Scene) -> None:
    card = await asyncio.to_thread(scene.card, "Live")
    head = (await asyncio.to_thread(scene.owner.ok, "GET", f"/workspaces/{scene.workspace_id}/changes",
                                    params={"since": 0}))["seq"]
    url = scene.hook.server_url.replace("http://", "ws://") + "/api/v1/ws"
    async with connect(url) as sock:
        await sock.send(json.dumps({"type": "auth", "token": scene.owner.token}))
        await sock.send(json.dumps({"type": "subscribe", "workspace_id": scene.workspace_id, "since": head}))
        delivery_id = await asyncio.to_thread(scene.hook.deliver, "pull_request", scene.hook.pull(
            "opened", 30, head=scene.branch(card), updated=now() + 1))
        change = None
        while change is None:
            message = json.loads(await asyncio.wait_for(sock.recv(), 5))
            if message["type"] == "ping":
                await sock.send('{"type": "pong"}')
            if message["type"] == "change" and message["change"]["actor"]["delivery_id"] == delivery_id:
                change = message["change"]
    assert change["entity_type"] == "card" and change["entity_id"] == card["id"] and change["op"] == "move"
    assert change["data"]["column"] == "In Review"
    assert change["data"]["pull_requests"][0]["number"] == 30
    assert change["changes"]["pull_requests"] == {"old": [], "new": [f"{scene.hook.full_name}#30 open"]}
    snapshot = await asyncio.to_thread(scene.owner.ok, "GET", f"/workspaces/{scene.workspace_id}/snapshot")
    (cached,) = [c for c in snapshot["cards"] if c["id"] == card["id"]]
    assert cached["pull_requests"][0]["number"] == 30 and cached["column"] == "In Review"
    listed = await asyncio.to_thread(scene.owner.ok, "GET", f"/boards/{scene.board['id']}/cards")
    assert [c["pull_requests"][0]["number"] for c in listed if c["id"] == card["id"]] == [30]
