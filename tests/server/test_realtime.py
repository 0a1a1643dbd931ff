"""WebSocket /api/v1/ws against real server processes: two replicas on one database, fanned out
through Redis pub/sub and through Postgres LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from dataclasses import dataclass

import jwt
import psycopg
import pytest
from taskly_server.domain.auth.tokens import signing_key
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import SECRET
from tests.server.test_feed import add, join, prune, setup_board
from tests.support.api import Api
from tests.support.checks import sql
from tests.support.processes import ServerProcess, realtime_env, replica_pair, start_server

pytestmark = pytest.mark.timeout(120)

CLOSED = object()


# --- a websocket client that answers pings and queues everything else --------------------------


class Client:
    def __init__(self, sock: ClientConnection, answer_pings: bool = True) -> None:
        self.sock = sock
        self.answer_pings = answer_pings
        self.pings = 0
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, server: ServerProcess, token: str | None = None, **kwargs) -> Client:
        sock = await connect(server.url.replace("http://", "ws://") + "/api/v1/ws")
        client = cls(sock, **kwargs)
        if token is not None:
            await client.send(type="auth", token=token)
            hello = await client.expect("authenticated")
            assert hello["user"]["id"]
        return client

    async def _read(self) -> None:
        try:
            async for raw in self.sock:
                message = json.loads(raw)
                message["_at"] = time.perf_counter()
                if message["type"] == "ping":
                    self.pings += 1
                    if self.answer_pings:
                        await self.sock.send('{"type": "pong"}')
                    continue
                await self.inbox.put(message)
        except ConnectionClosed:
            pass
        finally:
            await self.inbox.put(CLOSED)

    async def send(self, **message) -> None:
        await self.sock.send(json.dumps(message))

    async def next(self, wait: float = 3.0) -> dict:
        message = await asyncio.wait_for(self.inbox.get(), wait)
        assert message is not CLOSED, f"socket closed: {self.sock.close_code} {self.sock.close_reason}"
        return message

    async def expect(self, kind: str, wait: float = 3.0) -> dict:
        message = await self.next(wait)
        assert message["type"] == kind, message
        return message

    async def changes(self, count: int, wait: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + wait
        return [await self.expect("change", max(0.01, deadline - time.monotonic())) for _ in range(count)]

    async def subscribe(self, workspace_id: str, since: int) -> dict:
        await self.send(type="subscribe", workspace_id=workspace_id, since=since)
        return await self.expect("subscribed")

    async def quiet(self, seconds: float = 0.5) -> None:
        """Nothing but pings arrives for a while."""
        await asyncio.sleep(seconds)
        assert self.inbox.empty(), self.inbox.get_nowait()

    async def closed(self, wait: float = 5.0) -> int | None:
        """Waits for the server to close; everything received before must already be read."""
        message = await asyncio.wait_for(self.inbox.get(), wait)
        assert message is CLOSED, message
        await self.reader
        return self.sock.close_code

    async def close(self) -> None:
        await self.sock.close()
        self.reader.cancel()


async def call(api: Api, method: str, path: str, **kwargs) -> dict:
    return await asyncio.to_thread(api.ok, method, path, **kwargs)


async def head_of(api: Api, workspace_id: str) -> int:
    return (await call(api, "GET", f"/workspaces/{workspace_id}"))["seq"]


# --- servers ---------------------------------------------------------------------------------


@dataclass
class Replicas:
    a: ServerProcess
    b: ServerProcess
    backend: str


@pytest.fixture(scope="module", params=["redis", "postgres"])
def replicas(request, server_env, tmp_path_factory):
    """Two server processes on one database; realtime through Redis pub/sub or LISTEN/NOTIFY.

    The safety poll is slowed to a minute, so what arrives within seconds came by a notice.
    """
    env = realtime_env({**server_env, "TASKLY_FEED_POLL_INTERVAL": "60"}, request.param, "realtime")
    with replica_pair(env, tmp_path_factory.mktemp(f"replicas-{request.param}")) as (a, b):
        yield Replicas(a, b, request.param)


@pytest.fixture(scope="module")
def tight(server_env, tmp_path_factory):
    """One server with short realtime timers: auth within 1 s, feed heads polled every 0.3 s."""
    process = start_server({**server_env, "TASKLY_WS_AUTH_TIMEOUT": "1", "TASKLY_FEED_POLL_INTERVAL": "0.3"},
                           tmp_path_factory.mktemp("tight"))
    yield process
    process.stop()


@pytest.fixture(scope="module")
def pinging(server_env, tmp_path_factory):
    """One server that pings every 0.5 s and drops a socket silent for 1 s after a ping."""
    process = start_server({**server_env, "TASKLY_WS_PING_INTERVAL": "0.5", "TASKLY_WS_PING_TIMEOUT": "1"},
                           tmp_path_factory.mktemp("pinging"))
    yield process
    process.stop()


# --- fan-out across replicas -----------------------------------------------------------------


async def test_a_change_through_a_reaches_a_client_of_b_within_a_second(replicas):
    alice = Api.login(replicas.a.url)
    workspace, board = setup_board(alice)
    card = add(alice, board, "first")
    head = await head_of(alice, workspace["id"])
    client = await Client.open(replicas.b, alice.token)
    try:
        subscribed = await client.subscribe(workspace["id"], head)
        assert subscribed == {**subscribed, "workspace_id": workspace["id"], "seq": head}
        for title in ("second", "third"):
            started = time.perf_counter()
            await call(alice, "PATCH", f"/cards/{card['key']}", json={"title": title})
            event = await client.expect("change", wait=1.0)
            assert event["_at"] - started < 1.0
            head += 1
            assert event["seq"] == event["change"]["seq"] == head
            assert event["workspace_id"] == event["change"]["workspace_id"] == workspace["id"]
            change = event["change"]
            assert (change["entity_type"], change["entity_id"], change["op"]) == ("card", card["id"], "update")
            assert change["data"]["title"] == title and change["actor"]["name"] == alice.username
        await client.quiet(0.3)
    finally:
        await client.close()


async def test_fifty_quick_changes_arrive_in_seq_order_once(replicas):
    alice = Api.login(replicas.a.url)
    workspace, board = setup_board(alice)
    cards = [add(alice, board, f"c{i}") for i in range(5)]
    head = await head_of(alice, workspace["id"])
    on_b = await Client.open(replicas.b, alice.token)
    on_a = await Client.open(replicas.a, alice.token)
    try:
        await on_b.subscribe(workspace["id"], head)
        await on_a.subscribe(workspace["id"], head)

        def write(card: dict) -> None:
            writer = Api(replicas.a.url, alice.token)
            for points in range(10):
                writer.ok("PATCH", f"/cards/{card['key']}", json={"points": points})

        threads = [threading.Thread(target=write, args=(card,)) for card in cards]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for client in (on_b, on_a):
            events = await client.changes(50, wait=10)
            assert [e["seq"] for e in events] == list(range(head + 1, head + 51))
            per_card = {}
            for event in events:
                per_card.setdefault(event["change"]["entity_id"], []).append(event["change"]["data"]["points"])
            assert per_card == {card["id"]: list(range(10)) for card in cards}
            await client.quiet(0.3)
    finally:
        await on_b.close()
        await on_a.close()


async def test_live_changes_on_the_writing_replica_equal_the_feed(replicas):
    """Handed out from the commit itself or read from the feed: the same events, in order, once."""
    alice = Api.login(replicas.a.url)
    workspace, board = setup_board(alice)
    card = add(alice, board, "first")
    head = await head_of(alice, workspace["id"])
    client = await Client.open(replicas.a, alice.token)
    try:
        await client.subscribe(workspace["id"], head)
        await call(alice, "PATCH", f"/cards/{card['key']}", json={"title": "é ✓", "points": 3})
        await call(alice, "POST", f"/boards/{board['id']}/cards", json={"title": "second"})
        await call(alice, "DELETE", f"/cards/{card['key']}")
        expected = alice.ok("GET", f"/workspaces/{workspace['id']}/changes", params={"since": head})["changes"]
        assert len(expected) >= 3
        events = await client.changes(len(expected))
        assert [e["seq"] for e in events] == list(range(head + 1, head + 1 + len(expected)))
        assert [e["change"] for e in events] == expected
        await client.quiet(0.3)
    finally:
        await client.close()


async def test_catch_up_sends_exactly_the_missed_changes_then_live_ones(replicas):
    alice = Api.login(replicas.a.url)
    workspace, board = setup_board(alice)
    before = await head_of(alice, workspace["id"])
    for i in range(4):
        add(alice, board, f"missed {i}")
    head = await head_of(alice, workspace["id"])
    expected = alice.ok("GET", f"/workspaces/{workspace['id']}/changes", params={"since": before})["changes"]
    client = await Client.open(replicas.b, alice.token)
    try:
        subscribed = await client.subscribe(workspace["id"], before)
        assert subscribed["seq"] == head
        missed = await client.changes(head - before)
        assert [e["change"] for e in missed] == expected
        await client.quiet(0.2)
        await call(alice, "POST", f"/boards/{board['id']}/cards", json={"title": "live"})
        live = await client.expect("change", wait=1.0)
        assert live["seq"] == head + 1 and live["change"]["data"]["title"] == "live"
    finally:
        await client.close()


async def test_subscribing_while_writes_go_on_has_no_gap_and_no_repeat(replicas):
    """Catch-up from 0 races 40 live writes through the other replica: every seq exactly once."""
    alice = Api.login(replicas.a.url)
    workspace, board = setup_board(alice)
    card = add(alice, board, "busy")
    done = threading.Event()

    def write() -> None:
        writer = Api(replicas.a.url, alice.token)
        for i in range(40):
            writer.ok("PATCH", f"/cards/{card['key']}", json={"points": i % 99})
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    clients = []
    try:
        for _ in range(4):  # subscribe at different moments of the write burst
            client = await Client.open(replicas.b, alice.token)
            clients.append(client)
            await client.subscribe(workspace["id"], 0)
            await asyncio.sleep(0.05)
        await asyncio.to_thread(thread.join)
        head = await head_of(alice, workspace["id"])
        for client in clients:
            events = await client.changes(head, wait=10)
            assert [e["seq"] for e in events] == list(range(1, head + 1))
            await client.quiet(0.2)
    finally:
        thread.join()
        for client in clients:
            await client.close()


@pytest.mark.parametrize("side", ["other replica", "writing replica"])
async def test_a_removed_member_stops_receiving_at_once(replicas, side):
    alice, bob = Api.login(replicas.a.url), Api.login(replicas.a.url)
    workspace, board = setup_board(alice)
    join(alice, bob, workspace["id"])
    card = add(alice, board, "shared")
    head = await head_of(alice, workspace["id"])
    listening = replicas.b if side == "other replica" else replicas.a
    bob_client = await Client.open(listening, bob.token)
    alice_client = await Client.open(listening, alice.token)
    try:
        await bob_client.subscribe(workspace["id"], head)
        await alice_client.subscribe(workspace["id"], head)
        await call(alice, "PATCH", f"/cards/{card['key']}", json={"title": "seen by bob"})
        assert (await bob_client.expect("change", 1.0))["seq"] == head + 1
        assert (await alice_client.expect("change", 1.0))["seq"] == head + 1

        started = time.perf_counter()
        await call(alice, "DELETE", f"/workspaces/{workspace['id']}/members/{bob.username}")
        gone = await bob_client.expect("unsubscribed", wait=1.0)
        assert gone == {**gone, "workspace_id": workspace["id"], "reason": "removed"}
        assert gone["_at"] - started < 1.0
        removal = await alice_client.expect("change", 1.0)
        assert removal["change"]["entity_type"] == "member" and removal["change"]["op"] == "delete"

        await call(alice, "PATCH", f"/cards/{card['key']}", json={"title": "secret"})
        assert (await alice_client.expect("change", 1.0))["change"]["data"]["title"] == "secret"
        await bob_client.quiet(0.5)

        await bob_client.send(type="subscribe", workspace_id=workspace["id"], since=0)
        refused = await bob_client.expect("error")
        assert refused["code"] == "not_found" and refused["workspace_id"] == workspace["id"]
        await bob_client.quiet(0.3)
    finally:
        await bob_client.close()
        await alice_client.close()


async def test_a_deleted_workspace_unsubscribes_everyone(replicas):
    alice = Api.login(replicas.a.url)
    workspace = alice.workspace("short-lived")
    head = await head_of(alice, workspace["id"])
    client = await Client.open(replicas.b, alice.token)
    try:
        await client.subscribe(workspace["id"], head)
        await call(alice, "DELETE", f"/workspaces/{workspace['id']}")
        gone = await client.expect("unsubscribed", wait=1.0)
        assert gone["reason"] == "removed"
        await client.quiet(0.3)
    finally:
        await client.close()


# --- access ----------------------------------------------------------------------------------


async def test_a_foreign_workspace_gets_only_an_error(replicas):
    alice, mallory = Api.login(replicas.a.url), Api.login(replicas.a.url)
    workspace, board = setup_board(alice)
    client = await Client.open(replicas.b, mallory.token)
    try:
        for workspace_id in (workspace["id"], str(uuid.uuid4())):
            await client.send(type="subscribe", workspace_id=workspace_id, since=0)
            error = await client.expect("error")
            assert error == {**error, "code": "not_found", "workspace_id": workspace_id}
        await call(alice, "POST", f"/boards/{board['id']}/cards", json={"title": "private"})
        await client.quiet(0.5)
        await client.send(type="ping")
        assert (await client.expect("pong"))["type"] == "pong"  # still connected, just refused
    finally:
        await client.close()


def expired_token(api: Api) -> str:
    now = int(time.time())
    claims = {"sub": api.user["id"], "name": api.username, "typ": "access", "iat": now - 120, "exp": now - 60}
    return jwt.encode(claims, signing_key(SECRET, "jwt"), algorithm="HS256")


@pytest.mark.parametrize("first", ["bad token", "expired token", "refresh token", "subscribe", "not json"])
async def test_anything_but_a_valid_auth_first_gets_an_error_and_4401(tight, first):
    api = Api.login(tight.url)
    workspace = api.workspace()
    client = await Client.open(tight)
    messages = {
        "bad token": {"type": "auth", "token": "garbage"},
        "expired token": {"type": "auth", "token": expired_token(api)},
        "refresh token": {"type": "auth", "token": api.refresh_token},
        "subscribe": {"type": "subscribe", "workspace_id": workspace["id"], "since": 0},
    }
    if first in messages:
        await client.send(**messages[first])
    else:
        await client.sock.send("{not json")
    error = await client.expect("error")
    assert error["code"] == ("token_expired" if first == "expired token" else "unauthenticated")
    assert api.token not in json.dumps(error)
    assert await client.closed() == 4401
    assert client.pings == 0


async def test_no_auth_message_in_time_gets_an_error_and_4401(tight):
    client = await Client.open(tight)
    started = time.perf_counter()
    error = await client.expect("error", wait=3)
    assert error["code"] == "unauthenticated" and 0.8 < error["_at"] - started < 2.5
    assert await client.closed() == 4401


async def test_an_api_token_authenticates(tight):
    api = Api.login(tight.url)
    token = api.ok("POST", "/tokens/", json={"name": "ci"})["token"]
    workspace = api.workspace()
    client = await Client.open(tight, token)
    try:
        subscribed = await client.subscribe(workspace["id"], 0)
        assert subscribed["seq"] == 2
        assert [e["change"]["entity_type"] for e in await client.changes(2)] == ["workspace", "member"]
    finally:
        await client.close()


# --- protocol details ------------------------------------------------------------------------


async def test_bad_messages_after_auth_get_errors_and_the_socket_stays(tight):
    api = Api.login(tight.url)
    client = await Client.open(tight, api.token)
    try:
        for raw in ("{oops", json.dumps({"type": "dance"}),
                    json.dumps({"type": "subscribe", "workspace_id": "nope"}),
                    json.dumps({"type": "subscribe", "workspace_id": str(uuid.uuid4()), "since": -1})):
            await client.sock.send(raw)
            assert (await client.expect("error"))["code"] == "validation_error"
        await client.send(type="auth", token=api.token)
        assert (await client.expect("error"))["code"] == "bad_request"
        await client.send(type="ping")
        await client.expect("pong")
    finally:
        await client.close()


async def test_unsubscribe_stops_the_changes(tight):
    api = Api.login(tight.url)
    workspace, board = setup_board(api)
    head = await head_of(api, workspace["id"])
    client = await Client.open(tight, api.token)
    try:
        await client.subscribe(workspace["id"], head)
        await call(api, "POST", f"/boards/{board['id']}/cards", json={"title": "one"})
        assert (await client.expect("change"))["seq"] == head + 1
        await client.send(type="unsubscribe", workspace_id=workspace["id"])
        assert (await client.expect("unsubscribed"))["reason"] == "requested"
        await call(api, "POST", f"/boards/{board['id']}/cards", json={"title": "two"})
        await client.quiet(0.5)
        # subscribing again catches up from where the client says it is
        await client.subscribe(workspace["id"], head + 1)
        assert [e["seq"] for e in await client.changes(1)] == [head + 2]
    finally:
        await client.close()


async def test_resync_when_since_is_older_than_the_feed_or_ahead_of_it(tight, database_url):
    api = Api.login(tight.url)
    workspace, board = setup_board(api)
    await prune(database_url, retention_days=0, workspace_id=workspace["id"])
    head = await head_of(api, workspace["id"])
    client = await Client.open(tight, api.token)
    try:
        assert (await client.subscribe(workspace["id"], 0))["seq"] == head
        resync = await client.expect("resync")
        assert resync == {**resync, "workspace_id": workspace["id"], "reason": "gone"}
        await call(api, "POST", f"/boards/{board['id']}/cards", json={"title": "after the resync"})
        assert (await client.expect("change"))["seq"] == head + 1

        assert (await client.subscribe(workspace["id"], head + 50))["seq"] == head + 1
        assert (await client.expect("resync"))["reason"] == "ahead"
        assert (await client.subscribe(workspace["id"], head))["seq"] == head + 1
        assert (await client.expect("change"))["seq"] == head + 1
        await client.quiet(0.3)
    finally:
        await client.close()


async def test_heartbeat_pings_and_drops_a_silent_client(pinging):
    api = Api.login(pinging.url)
    alive = await Client.open(pinging, api.token)
    silent = await Client.open(pinging, api.token, answer_pings=False)
    try:
        started = time.perf_counter()
        assert await silent.closed(wait=5) == 4408
        assert 1.2 < time.perf_counter() - started < 6 and silent.pings >= 1
        await alive.quiet(0.5)
        assert alive.pings >= 2
        await alive.send(type="ping")
        await alive.expect("pong")
    finally:
        await alive.close()


async def test_a_socket_whose_access_token_expires_is_told_and_closed(pinging):
    """Checked at every ping: past its expiry the socket gets token_expired and 4401, and no
    change after it (the CLI refreshes its token and reconnects)."""
    api = Api.login(pinging.url)
    workspace = api.workspace()
    now = int(time.time())
    short = jwt.encode({"sub": api.user["id"], "name": api.username, "typ": "access", "iat": now,
                        "exp": now + 2}, signing_key(SECRET, "jwt"), algorithm="HS256")
    client = await Client.open(pinging, short)
    subscribed = await client.subscribe(workspace["id"], 2)
    error = await client.expect("error", wait=5)
    assert error["code"] == "token_expired" and time.time() >= now + 2
    assert await client.closed() == 4401
    assert subscribed["seq"] == 2


async def test_a_socket_whose_api_token_is_revoked_is_told_and_closed(pinging):
    api = Api.login(pinging.url)
    created = api.ok("POST", "/tokens/", json={"name": "hook"})
    workspace = api.workspace()
    client = await Client.open(pinging, created["token"])
    await client.subscribe(workspace["id"], 2)
    await client.quiet(0.8)  # still signed in across pings
    api.ok("DELETE", f"/tokens/{created['id']}")
    error = await client.expect("error", wait=3)
    assert error["code"] == "unauthenticated" and created["token"] not in json.dumps(error)
    assert await client.closed() == 4401


def commit_without_notice(database_url: str, workspace_id: str) -> int:
    """A change written straight into the database, as by a writer whose notice got lost."""
    with psycopg.connect(database_url.replace("+asyncpg", "")) as conn:
        seq = conn.execute("update workspaces set seq = seq + 1 where id = %s returning seq",
                           (workspace_id,)).fetchone()[0]
        conn.execute(
            "insert into changes (workspace_id, seq, entity_type, entity_id, op, version, changes, data,"
            " actor_type, actor_name, conflicts) values (%s, %s, 'workspace', %s, 'update', 1, %s, %s,"
            " 'system', 'test', '[]')",
            (workspace_id, seq, workspace_id, json.dumps({"name": {"old": "a", "new": "b"}}),
             json.dumps({"id": workspace_id})))
    return seq


async def test_the_poll_delivers_a_change_whose_notice_was_lost(tight, database_url):
    api = Api.login(tight.url)
    workspace = api.workspace()
    head = await head_of(api, workspace["id"])
    client = await Client.open(tight, api.token)
    try:
        await client.subscribe(workspace["id"], head)
        seq = await asyncio.to_thread(commit_without_notice, database_url, workspace["id"])
        event = await client.expect("change", wait=2)
        assert event["seq"] == seq == head + 1 and event["change"]["actor"]["type"] == "system"
        await client.quiet(0.5)
    finally:
        await client.close()


def listeners(database_url: str) -> set[int]:
    """The connections whose last statement was a LISTEN (the channels backends' listeners)."""
    return {pid for (pid,) in sql(database_url, "select pid from pg_stat_activity where query like %s",
                                  "LISTEN%")}


@pytest.mark.parametrize("replicas", ["postgres"], indirect=True)
async def test_a_lost_listen_connection_is_reopened_and_nothing_is_missed(replicas, database_url):
    """The Postgres listener of B is killed: B listens again and reads what it may have missed."""
    alice = Api.login(replicas.a.url)
    workspace, board = setup_board(alice)
    head = await head_of(alice, workspace["id"])
    client = await Client.open(replicas.b, alice.token)
    try:
        await client.subscribe(workspace["id"], head)
        channel = f"taskly_ws_{uuid.UUID(workspace['id']).hex}"
        [(listener,)] = await asyncio.to_thread(
            sql, database_url, "select pid from pg_stat_activity where query like %s", f"LISTEN%{channel}%")
        listening = await asyncio.to_thread(listeners, database_url)
        await asyncio.to_thread(sql, database_url, "select pg_terminate_backend(%s)", listener)
        for i in range(3):  # the first may be made while B is deaf
            await call(alice, "POST", f"/boards/{board['id']}/cards", json={"title": f"during {i}"})
        events = await client.changes(3, wait=5)
        assert [e["seq"] for e in events] == [head + 1, head + 2, head + 3]
        # B's new listener: a new connection, whichever of its channels it listened to last
        now_listening = await asyncio.to_thread(listeners, database_url)
        assert now_listening - listening and listener not in now_listening
        await call(alice, "POST", f"/boards/{board['id']}/cards", json={"title": "after"})
        assert (await client.expect("change", wait=1.0))["seq"] == head + 4
    finally:
        await client.close()
