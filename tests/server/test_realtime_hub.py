"""The realtime write path in one process: eager socket writes, and committed rows handed out
without a feed read (falling back to the feed whenever that could skip, repeat or leak)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, text
from taskly_server.db.models import Change
from taskly_server.db.session import create_engine, create_sessionmaker
from taskly_server.domain.feed.services import read_changes
from taskly_server.lib.feed_window import FeedWindow
from taskly_server.lib.mutation import CHANGE_FIELDS
from taskly_server.realtime import connection as connection_module
from taskly_server.realtime.connection import Connection, start_eagerly
from taskly_server.realtime.hub import (
    Fanout,
    Subscription,
    WorkspaceFeed,
    event_frame,
    stored_frame,
)
from taskly_shared.events import CLOSE_TOO_SLOW

from tests.server.test_feed import setup_board

# --- start_eagerly ---------------------------------------------------------------------------


async def test_a_coroutine_that_never_waits_runs_to_the_end_in_the_call():
    done = []

    async def work() -> None:
        done.append("ran")

    assert start_eagerly(work()) is None
    assert done == ["ran"]


async def test_a_coroutine_that_waits_is_carried_on_by_a_task():
    gate = asyncio.get_running_loop().create_future()
    steps = []

    async def work() -> None:
        steps.append("before")
        steps.append(await gate)
        await asyncio.sleep(0)
        steps.append("after")

    task = start_eagerly(work())
    assert task is not None and steps == ["before"]
    gate.set_result("value")
    await task
    assert steps == ["before", "value", "after"]


async def test_cancelling_the_task_cancels_the_coroutine_where_it_waits():
    gate = asyncio.get_running_loop().create_future()
    seen = []

    async def work() -> None:
        try:
            await gate
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    task = start_eagerly(work())
    assert task is not None
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == ["cancelled"] and gate.cancelled()


# --- Connection: one ordered outbox, written at once ---------------------------------------------


class FakeSocket:
    """An ASGI send that writes at once while open, waits while `paused` (a full transport)."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.resumed = asyncio.Event()
        self.resumed.set()
        self.fail = False

    async def send(self, event: dict) -> None:
        await self.resumed.wait()
        if self.fail:
            raise RuntimeError("transport broke")
        assert event["type"] == "websocket.send" and event["bytes"] is None
        self.written.append(event["text"])


def connection_on(socket: FakeSocket) -> Connection:
    return Connection(socket, principal=None, fanout=None, settings=None)  # type: ignore[arg-type]


async def test_frames_are_written_in_the_call_while_the_socket_keeps_up():
    socket = FakeSocket()
    connection = connection_on(socket)
    connection.send_frames(["1", "2"])
    connection.send_frames(["3"])
    assert socket.written == ["1", "2", "3"]  # no task, no loop turn
    await connection.drained()


async def test_frames_queue_in_order_behind_a_write_that_waits():
    socket = FakeSocket()
    connection = connection_on(socket)
    connection.send_frames(["1"])
    socket.resumed.clear()
    connection.send_frames(["2", "3"])
    connection.send_frames(["4"])
    drained = asyncio.create_task(connection.drained())
    await asyncio.sleep(0.01)
    assert socket.written == ["1"] and not drained.done()
    socket.resumed.set()
    await asyncio.wait_for(drained, 1)
    assert socket.written == ["1", "2", "3", "4"]
    connection.send_frames(["5"])  # the socket keeps up again: written at once
    assert socket.written == ["1", "2", "3", "4", "5"]


async def test_a_failed_write_ends_the_connection_and_nothing_follows():
    socket = FakeSocket()
    connection = connection_on(socket)
    socket.fail = True
    connection.send_frames(["1", "2"])
    assert connection._done.is_set() and socket.written == []
    socket.fail = False
    connection.send_frames(["3"])
    await connection.drained()
    assert socket.written == []


async def test_a_socket_too_far_behind_is_closed(monkeypatch):
    monkeypatch.setattr(connection_module, "MAX_BACKLOG", 3)
    socket = FakeSocket()
    socket.resumed.clear()
    connection = connection_on(socket)
    connection.send_frames(["1", "2"])
    assert connection.close_code is None
    connection.send_frames(["3", "4"])  # "1" is being written: 3 wait
    assert connection.close_code is None
    connection.send_frames(["5"])
    assert connection.close_code == CLOSE_TOO_SLOW
    socket.resumed.set()
    await asyncio.sleep(0.01)
    assert socket.written == ["1"]  # the write under way when it fell behind, nothing after


# --- committed rows handed out without a feed read -------------------------------------------


class Receiver:
    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.removed: list[str] = []

    def send_frames(self, frames: list[str]) -> None:
        self.seqs += [json.loads(frame)["seq"] for frame in frames]

    async def drained(self) -> None:
        pass

    def subscription_removed(self, subscription: Subscription, reason: str) -> None:
        self.removed.append(reason)


class NoFeedReads:
    """The fan-out of a feed that must not touch the database."""

    def sessionmaker(self):
        raise AssertionError("the feed was read")


def committed_row(workspace_id: uuid.UUID, seq: int, **overrides) -> dict:
    """A Change row as a commit hands it over: the columns written, `seq` and `created_at`."""
    row = {name: None for name in CHANGE_FIELDS}
    row.update(workspace_id=workspace_id, entity_type="card", entity_id=uuid.uuid4(), op="update",
               version=seq, changes={"title": {"old": "a", "new": "b"}}, data={"title": "b"},
               actor_type="user", actor_id=uuid.uuid4(), actor_name="alice", conflicts=[],
               seq=seq, created_at=datetime.now(UTC))
    row.update(overrides)
    return row


def feed_at(head: int, *receivers: Receiver) -> WorkspaceFeed:
    feed = WorkspaceFeed(NoFeedReads(), uuid.uuid4())  # type: ignore[arg-type]
    feed.head = feed.target = head
    for receiver in receivers:
        feed.subscriptions.add(Subscription(receiver, feed.workspace_id, uuid.uuid4(), last=head))
    return feed


async def turn() -> None:
    """Let `call_soon` callbacks run (the committing request's response goes first)."""
    await asyncio.sleep(0)


async def test_rows_that_follow_the_head_go_to_every_socket_without_a_read():
    alice, bob = Receiver(), Receiver()
    feed = feed_at(5, alice, bob)
    feed.offer([committed_row(feed.workspace_id, 6), committed_row(feed.workspace_id, 7)])
    assert alice.seqs == []  # not in the committing request's own step
    await turn()
    assert alice.seqs == bob.seqs == [6, 7]
    assert (feed.head, feed.target) == (7, 7) and not feed._wake.is_set()
    feed.offer([committed_row(feed.workspace_id, 8)])
    await turn()
    assert alice.seqs == [6, 7, 8] and feed.head == 8


async def test_the_reader_does_not_wait_behind_the_joiners_for_its_lock():
    """Fifty sockets join while the reader holds the feed's lock (a read under way), and the reader
    asks for it again: the reader gets it first — the joiners wait for it to be free without
    queueing on it — and once it lets go every joiner goes live, none missing a change."""
    feed = feed_at(5)
    feed.window = FeedWindow(5)
    await feed.lock.acquire()
    receivers = [Receiver() for _ in range(50)]
    joins = [asyncio.create_task(feed.join(Subscription(r, feed.workspace_id, uuid.uuid4()), 5,
                                           head=(5, 0))) for r in receivers]
    await turn()
    assert not feed.subscriptions and all(r.seqs == [5] for r in receivers)  # subscribed {seq 5}
    subscribed_when_read: list[int] = []

    async def read_again() -> None:
        async with feed.lock:
            subscribed_when_read.append(len(feed.subscriptions))
            feed._hand_out([(6, json.dumps({"seq": 6}))], {})
            feed.head = feed.target = 6

    reader = asyncio.create_task(read_again())
    await turn()
    feed.lock.release()
    await asyncio.wait_for(asyncio.gather(reader, *joins), 5)
    assert subscribed_when_read == [0]  # before: the reader came after all fifty
    assert len(feed.subscriptions) == 50 and all(r.seqs == [5, 6] for r in receivers)


@pytest.mark.parametrize("case", ["gap", "read under way", "member removed", "workspace deleted",
                                  "row incomplete", "not consecutive"])
async def test_anything_else_is_left_to_the_feed_reader(case):
    alice = Receiver()
    feed = feed_at(5, alice)
    workspace_id = feed.workspace_id
    rows = {
        "gap": [committed_row(workspace_id, 7)],
        "read under way": [committed_row(workspace_id, 6)],
        "member removed": [committed_row(workspace_id, 6, entity_type="member", op="delete")],
        "workspace deleted": [committed_row(workspace_id, 6, entity_type="workspace", op="delete")],
        "row incomplete": [committed_row(workspace_id, 6, created_at=None)],
        "not consecutive": [committed_row(workspace_id, 6), committed_row(workspace_id, 8)],
    }[case]
    if case == "read under way":
        await feed.lock.acquire()
    feed.offer(rows)
    await turn()
    assert alice.seqs == [] and feed.head == 5
    assert feed.target == rows[-1]["seq"] and feed._wake.is_set()  # the reader will read it


async def test_rows_offered_twice_or_late_are_not_sent_twice():
    alice = Receiver()
    feed = feed_at(5, alice)
    six = [committed_row(feed.workspace_id, 6)]
    feed.offer(six)
    feed.offer(six)
    await turn()
    assert alice.seqs == [6] and feed.head == 6


async def test_a_frame_from_committed_rows_equals_the_one_read_back_from_the_feed(api, database_url):
    """JSONB reorders keys and re-types nothing a client can see: both frames parse the same, and
    so does the frame around the wire form Postgres stored with the row (`changes.wire`)."""
    workspace, _ = setup_board(api)
    workspace_id = uuid.UUID(workspace["id"])
    row = committed_row(
        workspace_id, 1_000_000, version=3,
        changes={"title": {"old": "é", "new": "ü ✓"}, "points": {"old": None, "new": 2.5},
                 "labels": {"old": [], "new": ["b", "a"]}},
        data={"zeta": 1, "alpha": {"y": [1, 2.0, None], "x": True}, "due": "2026-11-01T10:00:00+00:00",
              "big": 2**60, "ratio": 0.1, "empty": {}},
        conflicts=["title"], mutation_id="m-1", delivery_id=None, actor_name="Ålice",
        created_at=datetime(2026, 11, 1, 9, 8, 7, 654321, tzinfo=UTC),
    )
    engine = create_engine(database_url, 2)
    try:
        async with create_sessionmaker(engine)() as db, db.begin():
            await db.execute(insert(Change).values(row))  # its wire form: the trigger's
        async with create_sessionmaker(engine)() as db:
            (stored,) = await read_changes(db, workspace_id, 999_999, 10)
            assert json.loads(event_frame(Change(**row))) == json.loads(event_frame(stored))
            assert json.loads(stored_frame(stored)) == json.loads(event_frame(stored))
    finally:
        await engine.dispose()


# --- catch-up: the window and its single flight ------------------------------------------------


class CountedFanout:
    """What a WorkspaceFeed needs of the Fanout, on the real database, counting the feed reads."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.catch_ups = asyncio.Semaphore(4)
        self.reads = 0
        self._sessionmaker = create_sessionmaker(engine)

    async def head(self, workspace_id, user_id):
        return await Fanout.head(self, workspace_id, user_id)  # type: ignore[arg-type]

    def sessionmaker(self):
        self.reads += 1
        return self._sessionmaker()


async def test_joiners_catch_up_from_one_feed_read_each_with_exactly_its_changes(api, database_url):
    """Sixty sockets joining at once, each `since` a different seq: one backward read of the feed
    for all of them, and each gets the changes after its `since`, in order, once; a joiner further
    behind than the window keeps reads the feed itself."""
    workspace, _ = setup_board(api)
    workspace_id, user_id = uuid.UUID(workspace["id"]), uuid.UUID(api.user["id"])
    engine = create_engine(database_url, 4)
    try:
        async with create_sessionmaker(engine)() as db, db.begin():
            start = (await db.execute(text("select seq from workspaces where id = :w"),
                                      {"w": workspace_id})).scalar_one()
            head = start + 120
            await db.execute(insert(Change), [committed_row(workspace_id, seq)
                                              for seq in range(start + 1, head + 1)])
            await db.execute(text("update workspaces set seq = :s where id = :w"),
                             {"s": head, "w": workspace_id})
        fanout = CountedFanout(engine)
        feed = WorkspaceFeed(fanout, workspace_id)  # type: ignore[arg-type]
        feed.head = feed.target = head
        feed.window = FeedWindow(head, capacity=100)
        joiners = [(Receiver(), since) for since in range(head - 60, head)]
        await asyncio.gather(*(feed.join(Subscription(receiver, workspace_id, user_id), since)
                               for receiver, since in joiners))
        for receiver, since in joiners:
            assert receiver.seqs == [head, *range(since + 1, head + 1)]  # subscribed, then changes
        assert fanout.reads == 1 and feed.window.covers(head - 100, head)
        assert len(feed.subscriptions) == 60

        far = Receiver()
        await feed.join(Subscription(far, workspace_id, user_id), start)
        assert far.seqs == [head, *range(start + 1, head + 1)] and fanout.reads == 2
        # Handed-out changes extend the window; a joiner then finds them there.
        feed._hand_out([(head + 1, event_frame(Change(**committed_row(workspace_id, head + 1))))], {})
        feed.head = head + 1
        assert far.seqs[-1] == head + 1 and feed.window.last == head + 1
    finally:
        await engine.dispose()
