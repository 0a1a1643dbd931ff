"""The feed-consumer mechanism (lib/consumers.py) on the real Postgres, with consumers of the test's
own: a new consumer starts from now (or from the first change when it backfills), changes come in
seq order exactly once, a cursor held by one runner is skipped by another, and a failing handler
leaves both its effects and the cursor as they were."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import text
from taskly_server.db.session import create_engine, create_sessionmaker
from taskly_server.lib.clock import Clock
from taskly_server.lib.consumers import Consumer, ConsumerContext, FeedConsumers, NoticeListener
from taskly_server.lib.jobs import Announcer
from taskly_server.settings import Settings

from tests.support.consumers import ConsumerStack, consumer_database

pytestmark = pytest.mark.timeout(120)
__all__ = ["consumer_database"]


@pytest.fixture(scope="module")
def stack(consumer_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsumerStack]:
    stack = ConsumerStack.start(tmp_path_factory.mktemp("consumers"), consumer_database, workers=0)
    yield stack
    stack.stop()


@pytest.fixture
async def sessionmaker(stack: ConsumerStack) -> AsyncIterator[Any]:
    engine = create_engine(stack.database_url, 5)
    yield create_sessionmaker(engine)
    await engine.dispose()


class Recorder:
    """A consumer that records the seqs it is given, and a label per change in a table of its own
    (its effect), optionally waiting or failing inside the transaction."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[int] = []
        self.hold: asyncio.Event | None = None
        self.entered = asyncio.Event()
        self.fail = False

    async def handle(self, ctx: ConsumerContext, changes: Sequence[Any]) -> None:
        self.entered.set()
        if self.hold is not None:
            await self.hold.wait()
        for change in changes:
            await ctx.db.execute(text("INSERT INTO consumer_test_effects (consumer, seq) VALUES (:c, :s)"),
                                 {"c": self.name, "s": change.seq})
        if self.fail:
            raise RuntimeError("handler failed")
        self.seen.extend(change.seq for change in changes)


def runner(sessionmaker: Any, stack: ConsumerStack, *recorders: Recorder, backfill: bool = False) -> FeedConsumers:
    settings = Settings(database_url=stack.database_url, secret_key="x" * 32)
    consumers = [Consumer(r.name, r.handle, actor="test", backfill=backfill) for r in recorders]
    announcer = Announcer({"settings": settings, "queue": None})
    return FeedConsumers(consumers, sessionmaker, settings, announcer, Clock())


def head(stack: ConsumerStack, workspace_id: str) -> int:
    return stack.sql("SELECT seq FROM workspaces WHERE id = %(w)s", {"w": workspace_id})[0][0]


def effects(stack: ConsumerStack, name: str) -> list[int]:
    return [row[0] for row in stack.sql("SELECT seq FROM consumer_test_effects WHERE consumer = %(c)s "
                                        "ORDER BY seq", {"c": name})]


@pytest.fixture
def world(stack: ConsumerStack) -> dict[str, Any]:
    stack.sql("CREATE TABLE IF NOT EXISTS consumer_test_effects (consumer text, seq bigint, UNIQUE (consumer, seq))")
    owner = stack.login()
    workspace = owner.workspace("Consumed")
    board = owner.board(workspace["id"], "CON")
    for n in range(3):
        owner.ok("POST", f"/boards/{board['id']}/cards", json={"title": f"Before {n}"})
    return {"owner": owner, "workspace_id": workspace["id"], "board": board}


async def test_from_now_or_backfilled_in_order_exactly_once(stack: ConsumerStack, sessionmaker: Any,
                                                            world: dict[str, Any]) -> None:
    workspace_id = uuid.UUID(world["workspace_id"])
    now, back = Recorder(f"now-{uuid.uuid4().hex[:6]}"), Recorder(f"back-{uuid.uuid4().hex[:6]}")
    started_at = head(stack, world["workspace_id"])
    assert await runner(sessionmaker, stack, now).register() == [now.name]
    assert await runner(sessionmaker, stack, back, backfill=True).register() == [back.name]
    assert await runner(sessionmaker, stack, now).register() == []  # known: cursors stay
    await runner(sessionmaker, stack, now).catch_up(workspace_id)
    await runner(sessionmaker, stack, back).catch_up(workspace_id)
    assert now.seen == [] and back.seen == list(range(1, started_at + 1))
    world["owner"].ok("POST", f"/boards/{world['board']['id']}/cards", json={"title": "After"})
    both = runner(sessionmaker, stack, now, back)
    await both.catch_up(workspace_id)
    await both.catch_up(workspace_id)  # nothing new: nothing again
    latest = head(stack, world["workspace_id"])
    assert now.seen == list(range(started_at + 1, latest + 1))
    assert back.seen == list(range(1, latest + 1)) == effects(stack, back.name)
    cursor = stack.sql("SELECT seq FROM consumer_cursors WHERE consumer = %(c)s AND workspace_id = %(w)s",
                       {"c": now.name, "w": world["workspace_id"]})
    assert cursor == [(latest,)]


async def test_a_held_cursor_is_skipped_and_a_failure_changes_nothing(
        stack: ConsumerStack, sessionmaker: Any, world: dict[str, Any]) -> None:
    workspace_id = uuid.UUID(world["workspace_id"])
    first = Recorder(f"held-{uuid.uuid4().hex[:6]}")
    await runner(sessionmaker, stack, first, backfill=True).register()
    first.hold = asyncio.Event()
    holder = asyncio.create_task(runner(sessionmaker, stack, first).run_batch(
        Consumer(first.name, first.handle, "test"), workspace_id))
    await asyncio.wait_for(first.entered.wait(), 10)
    other = Recorder(first.name)
    assert await runner(sessionmaker, stack, other).run_batch(
        Consumer(other.name, other.handle, "test"), workspace_id) is None  # held: left alone
    first.hold.set()
    assert await holder == head(stack, world["workspace_id"])
    assert await runner(sessionmaker, stack, other).run_batch(
        Consumer(other.name, other.handle, "test"), workspace_id) == 0
    assert other.seen == [] and effects(stack, first.name) == first.seen

    failing = Recorder(f"failing-{uuid.uuid4().hex[:6]}")
    await runner(sessionmaker, stack, failing, backfill=True).register()
    failing.fail = True
    with pytest.raises(RuntimeError):
        await runner(sessionmaker, stack, failing).catch_up(workspace_id)
    assert effects(stack, failing.name) == []
    assert stack.sql("SELECT seq FROM consumer_cursors WHERE consumer = %(c)s AND workspace_id = %(w)s",
                     {"c": failing.name, "w": world["workspace_id"]}) == [(0,)]
    failing.fail = False
    await runner(sessionmaker, stack, failing).catch_up(workspace_id)
    assert effects(stack, failing.name) == list(range(1, head(stack, world["workspace_id"]) + 1))


class Gate:
    """A consumer whose batches wait at a gate the test opens, recording which workspace entered."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.entered: list[uuid.UUID] = []
        self.open = asyncio.Event()

    async def handle(self, ctx: ConsumerContext, changes: Sequence[Any]) -> None:
        self.entered.append(ctx.workspace_id)
        await self.open.wait()


async def eventually(condition: Any, what: str, within: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_a_notice_is_not_queued_behind_the_sweeps_backlog(stack: ConsumerStack, sessionmaker: Any,
                                                                 world: dict[str, Any]) -> None:
    """A worker's first sweep can find thousands of workspaces behind (the CI run's TUI server
    found every workspace the earlier suites made): it works them off one at a time, so the
    workspace a notice wakes gets its own slot at once instead of waiting for all of them."""
    owner = world["owner"]
    for n in range(4):  # a backlog, besides the workspaces the module's other tests made
        workspace = owner.workspace(f"Backlog {n} {uuid.uuid4().hex[:4]}")
        owner.ok("POST", f"/boards/{owner.board(workspace['id'], 'BL' + 'ABCD'[n])['id']}/cards", json={"title": "x"})
    gate = Gate(f"gate-{uuid.uuid4().hex[:6]}")
    consumers = runner(sessionmaker, stack, gate, backfill=True)
    await consumers.register()
    sweeping = asyncio.create_task(consumers.sweep())
    await eventually(lambda: len(gate.entered) == 1, "the sweep's first workspace")
    assert await consumers.sweep() == 0  # one sweep at a time

    fresh = owner.workspace(f"Noticed {uuid.uuid4().hex[:4]}")  # after the sweep listed its backlog
    noticed = uuid.UUID(fresh["id"])
    consumers.wake(noticed)
    await eventually(lambda: noticed in gate.entered, "the noticed workspace")
    assert gate.entered[1] == noticed and len(gate.entered) == 2  # the sweep still at its first one

    gate.open.set()
    behind = await asyncio.wait_for(sweeping, 60)
    await consumers.idle()
    assert behind >= 5 and len(set(gate.entered)) == behind + 1
    lag = stack.sql("SELECT count(*) FROM workspaces w JOIN consumer_cursors c ON c.workspace_id = w.id "
                    "AND c.consumer = %(c)s WHERE c.seq < w.seq AND w.deleted_at IS NULL", {"c": gate.name})
    assert lag == [(0,)]


async def test_a_workspace_made_between_two_looks_of_the_postgres_listener_is_caught_up(
        stack: ConsumerStack, sessionmaker: Any, world: dict[str, Any]) -> None:
    """On Postgres the listener LISTENs on each workspace's channel, looking for new workspaces
    every `consumer_sweep_interval`: a card made just after its workspace is announced before the
    LISTEN. The next look catches the new workspace up itself (no sweep runs in this test)."""
    recorder = Recorder(f"listened-{uuid.uuid4().hex[:6]}")
    settings = Settings(database_url=stack.database_url, secret_key="x" * 32, redis_url=None,
                        consumer_sweep_interval=5)
    consumers = FeedConsumers([Consumer(recorder.name, recorder.handle, actor="test")], sessionmaker,
                              settings, Announcer({"settings": settings, "queue": None}), Clock())
    await consumers.register()
    listener = NoticeListener(settings, consumers)
    listener.start()
    try:
        await eventually(lambda: listener._listening, "the listener's first look")
        owner = world["owner"]  # at once, well before the next look
        workspace = owner.workspace(f"Between looks {uuid.uuid4().hex[:4]}")
        board = owner.board(workspace["id"], "BLX")
        owner.ok("POST", f"/boards/{board['id']}/cards", json={"title": "Announced before the LISTEN"})
        latest = head(stack, workspace["id"])
        await eventually(lambda: len(effects(stack, recorder.name)) >= latest, "the new workspace caught up")
        assert sorted(recorder.seen) == list(range(1, latest + 1))
    finally:
        await listener.stop()
        await consumers.idle()
