"""Notifications from the change feed (a consumer in a real worker process): every kind for the
people concerned and never for the actor, preferences, a removed member, the API, and live delivery
on the WebSocket to the addressee's sockets only, caught up after a reconnect."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.server.test_realtime import Client
from tests.support.api import Api
from tests.support.consumers import ConsumerStack, consumer_database
from tests.support.github_webhooks import Hook, now, sha
from tests.support.services import REDIS_URL, require

pytestmark = pytest.mark.timeout(180)
__all__ = ["consumer_database"]


@pytest.fixture(scope="module")
def stack(consumer_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsumerStack]:
    stack = ConsumerStack.start(tmp_path_factory.mktemp("notifications"), consumer_database)
    yield stack
    stack.stop()


class Team:
    """A workspace of an owner and members alice and bob, with board WEB."""

    def __init__(self, stack: ConsumerStack) -> None:
        self.stack = stack
        self.owner = stack.login()
        self.workspace = self.owner.workspace("Notified")
        self.board = self.owner.board(self.workspace["id"], "WEB")
        self.alice, self.bob = self.join(), self.join()

    def join(self) -> Api:
        api = self.stack.login()
        invitation = self.owner.ok("POST", f"/workspaces/{self.workspace['id']}/invitations", json={})
        api.ok("POST", f"/invitations/{invitation['token']}/accept")
        return api

    def card(self, title: str, api: Api | None = None, **fields: object) -> dict:
        return (api or self.owner).ok("POST", f"/boards/{self.board['id']}/cards", json={"title": title, **fields})

    def settle(self) -> None:
        self.stack.wait_caught_up()


def inbox(api: Api, **params: object) -> list[dict]:
    return api.ok("GET", "/notifications", params={"limit": 200, **params})["notifications"]


def kinds(api: Api) -> Counter:
    return Counter((n["kind"], n["card_key"]) for n in inbox(api))


def test_every_kind_reaches_the_people_concerned_and_never_the_actor(stack: ConsumerStack) -> None:
    team = Team(stack)
    owner, alice, bob = team.owner, team.alice, team.bob
    card = team.card("Fix login", assignees=[alice.username])  # alice: assigned
    key = card["key"]
    owner.ok("PATCH", f"/cards/{key}", json={"description": f"@{bob.username} and @{owner.username} look"})
    bob.ok("POST", f"/cards/{key}/comments", json={"body": f"on it, @{owner.username}?"})
    alice.ok("POST", f"/cards/{key}/comments", json={"body": "my own card"})  # no one but alice is assigned
    alice.ok("PATCH", f"/cards/{key}", json={"assignees": [alice.username, bob.username]})  # bob: assigned
    hook = Hook.connect(stack.url, stack.database_url, team.workspace["id"])
    branch, head, t = f"{key.lower()}-fix-login", sha("login head"), now() + 1
    hook.deliver("pull_request", hook.pull("opened", 3, head=branch, head_sha=head, updated=t))  # → review
    hook.deliver("check_suite", hook.check_suite(head, "failure", updated=t + 1))
    hook.deliver("pull_request_review", hook.review("changes_requested", 3, reviewer="carol", head=branch,
                                                    submitted=t + 2, review_id=1))  # → in progress
    team.settle()

    assert kinds(alice) == Counter({("assigned", key): 1, ("commented", key): 1, ("moved_by_automation", key): 2,
                                    ("changes_requested", key): 1, ("ci_failed", key): 1})
    assert kinds(bob) == Counter({("mentioned", key): 1, ("assigned", key): 1, ("moved_by_automation", key): 2,
                                  ("changes_requested", key): 1, ("ci_failed", key): 1})
    # the owner mentioned themself (nothing) and was mentioned by bob; alice's own comment went to
    # no one (she is its author and the only assignee then); bob's reached her as `commented`
    assert kinds(owner) == Counter({("mentioned", key): 1})
    [mentioned] = [n for n in inbox(bob) if n["kind"] == "mentioned"]
    assert mentioned["actor"] == owner.username and mentioned["card_title"] == "Fix login"
    assert set(mentioned) == {"id", "seq", "kind", "workspace_id", "card_id", "card_key", "card_title",
                              "actor", "message", "created_at", "read_at"}
    assert mentioned["workspace_id"] == team.workspace["id"] and mentioned["card_id"] == card["id"]
    [commented] = [n for n in inbox(alice) if n["kind"] == "commented"]
    assert commented["actor"] == bob.username
    [moved, _] = [n for n in inbox(alice) if n["kind"] == "moved_by_automation"]
    assert moved["message"] == f"{key} moved to In Progress by pr_changes_requested → in_progress"
    [mention] = [n for n in inbox(owner)]
    assert mention["actor"] == bob.username and "comment" in mention["message"]


def test_commented_reaches_assignees_who_were_not_mentioned(stack: ConsumerStack) -> None:
    team = Team(stack)
    card = team.card("Docs", assignees=[team.alice.username, team.bob.username])
    team.owner.ok("POST", f"/cards/{card['key']}/comments", json={"body": f"thanks @{team.bob.username}"})
    team.settle()
    assert kinds(team.alice) == Counter({("assigned", card["key"]): 1, ("commented", card["key"]): 1})
    assert kinds(team.bob) == Counter({("assigned", card["key"]): 1, ("mentioned", card["key"]): 1})


def test_preferences_time_zone_and_a_removed_member(stack: ConsumerStack) -> None:
    team = Team(stack)
    alice, bob = team.alice, team.bob
    assert alice.ok("GET", "/me/settings") == {"timezone": "UTC", "notify": {}}
    assert alice.ok("PATCH", "/me/settings", json={"timezone": "Europe/Berlin",
                                                   "notify": {"assigned": False}}) == {
        "timezone": "Europe/Berlin", "notify": {"assigned": False}}
    assert alice.ok("PATCH", "/me/settings", json={"notify": {"mentioned": True}})["notify"] == {
        "assigned": False, "mentioned": True}
    for bad in ({"timezone": "Mars/Olympus"}, {"notify": {"everything": False}}, {"color": "red"}):
        response = alice.patch("/me/settings", json=bad)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    card = team.card("Quiet", assignees=[alice.username, bob.username],
                     description=f"@{alice.username}")
    team.settle()
    assert kinds(alice) == Counter({("mentioned", card["key"]): 1})  # assigned: off

    team.owner.ok("DELETE", f"/workspaces/{team.workspace['id']}/members/{bob.username}")
    before = kinds(bob)
    assert before == Counter({("assigned", card["key"]): 1})
    # the removal is in the feed; what comes after it reaches bob no more
    team.card("After", description=f"@{bob.username}")
    team.owner.ok("POST", f"/cards/{card['key']}/comments", json={"body": f"@{bob.username}"})
    team.settle()
    assert kinds(bob) == before


def test_pages_unread_and_marking_read(stack: ConsumerStack) -> None:
    team = Team(stack)
    alice = team.alice
    for n in range(5):
        team.card(f"Task {n}", assignees=[alice.username])
    team.settle()
    page = alice.ok("GET", "/notifications", params={"limit": 2})
    assert page["unread"] == 5 and [n["card_title"] for n in page["notifications"]] == ["Task 4", "Task 3"]
    rest = alice.ok("GET", "/notifications", params={"limit": 10, "cursor": page["next_cursor"]})
    assert [n["card_title"] for n in rest["notifications"]] == ["Task 2", "Task 1", "Task 0"]
    assert rest["next_cursor"] is None
    first = page["notifications"][0]["id"]
    assert alice.ok("POST", "/notifications/read", json={"ids": [first]}) == {"marked": 1, "unread": 4}
    assert alice.ok("POST", "/notifications/read", json={"ids": [first]}) == {"marked": 0, "unread": 4}
    unread = alice.ok("GET", "/notifications", params={"unread": "true"})
    assert first not in {n["id"] for n in unread["notifications"]} and len(unread["notifications"]) == 4
    [marked] = [n for n in inbox(alice) if n["id"] == first]
    assert marked["read_at"] is not None
    # another user's notification is not found; bodies must say ids or all
    assert team.bob.post("/notifications/read", json={"ids": [first]}).status_code == 404
    for bad in ({}, {"ids": [first], "all": True}, {"all": False}, {"ids": ["nope"]}):
        assert alice.post("/notifications/read", json=bad).status_code == 400, bad
    for params in ({"limit": 0}, {"limit": 201}):
        assert alice.get("/notifications", params=params).status_code == 400, params
    assert alice.get("/notifications", params={"cursor": "x1"}).status_code == 422
    assert alice.ok("POST", "/notifications/read", json={"all": True}) == {"marked": 4, "unread": 0}
    assert alice.ok("GET", "/notifications", params={"unread": "true"})["notifications"] == []


async def _notifications(client: Client, count: int, wait: float = 15) -> list[dict]:
    found = []
    while len(found) < count:
        message = await client.next(wait)
        if message["type"] == "notification":
            found.append(message["notification"])
    return found


async def test_websocket_delivers_to_the_addressee_only_and_catches_up(stack: ConsumerStack) -> None:
    team = Team(stack)
    alice_socket = await Client.open(stack.server, team.alice.token)
    bob_socket = await Client.open(stack.server, team.bob.token)
    owner_socket = await Client.open(stack.server, team.owner.token)
    try:
        card = await asyncio.to_thread(team.card, "Live", assignees=[team.alice.username])
        [live] = await _notifications(alice_socket, 1)
        assert (live["kind"], live["card_key"], live["actor"]) == ("assigned", card["key"], team.owner.username)
        await asyncio.to_thread(team.owner.ok, "POST", f"/cards/{card['key']}/comments",
                                json={"body": f"@{team.bob.username}"})
        [for_bob] = await _notifications(bob_socket, 1)
        assert for_bob["kind"] == "mentioned"  # bob's first: alice's never came to him
        [commented] = await _notifications(alice_socket, 1)
        assert commented["kind"] == "commented" and commented["seq"] > live["seq"]
        await asyncio.to_thread(team.settle)
        assert owner_socket.inbox.empty()  # the actor got nothing

        await alice_socket.sock.close()
        await asyncio.to_thread(team.bob.ok, "POST", f"/cards/{card['key']}/comments",
                                json={"body": f"@{team.alice.username} while you were away"})
        await asyncio.to_thread(team.settle)
        back = await Client.open(stack.server)
        await back.send(type="auth", token=team.alice.token, notifications_since=commented["seq"])
        await back.expect("authenticated")
        [missed] = await _notifications(back, 1)
        assert missed["kind"] == "mentioned" and missed["actor"] == team.bob.username
        await back.sock.close()
    finally:
        for client in (alice_socket, bob_socket, owner_socket):
            await client.sock.close()


async def test_on_redis_the_same_notices_wake_workers_and_sockets(
        consumer_database: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """With TASKLY_REDIS_URL the queue, the workspace notices the consumers hear and the
    notification notices the sockets hear all go through Redis."""
    require(REDIS_URL, 6379, "Redis")
    stack = ConsumerStack.start(tmp_path_factory.mktemp("notifications-redis"), consumer_database,
                                redis_url=REDIS_URL)
    try:
        team = await asyncio.to_thread(Team, stack)
        socket = await Client.open(stack.server, team.alice.token)
        try:
            card = await asyncio.to_thread(team.card, "Over Redis", assignees=[team.alice.username],
                                           recurrence="daily", due="2027-09-01")
            [live] = await _notifications(socket, 1)
            assert (live["kind"], live["card_key"]) == ("assigned", card["key"])
            await asyncio.to_thread(team.owner.ok, "POST", f"/cards/{card['key']}/move", json={"column": "Done"})
            await asyncio.to_thread(team.settle)
            titles = [c["due"] for c in await asyncio.to_thread(
                team.owner.ok, "GET", f"/boards/{team.board['id']}/cards") if c["title"] == "Over Redis"]
            assert sorted(titles) == ["2027-09-01", "2027-09-02"]
            [assigned_again] = await _notifications(socket, 1)  # the next card is hers too
            assert assigned_again["kind"] == "assigned" and assigned_again["actor"] == "recurrence rule"
        finally:
            await socket.sock.close()
    finally:
        stack.stop()
