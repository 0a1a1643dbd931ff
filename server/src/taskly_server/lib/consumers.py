"""Feed consumers: named functions that get a workspace's Change rows in seq order, exactly once.

Each consumer keeps a durable cursor per workspace (`consumer_cursors`). A batch is handled in one
transaction that first takes the cursor row `FOR UPDATE SKIP LOCKED` (so one worker at a time
handles a consumer in a workspace; another finds it taken and leaves it), reads the changes after
it, lets the consumer write its effects (through a `Mutation` attributed to the consumer, so cards
it makes are in the feed like any other) and moves the cursor to the batch's last seq, then
commits: effects and cursor together, or neither, across crashes, retries, workers and replicas.

Workers are woken by the realtime notices every commit publishes ("workspace W is at seq S": Redis
pub/sub, or Postgres LISTEN/NOTIFY) and by a sweep every few seconds (a SAQ cron job) that finds
cursors behind their workspace's seq, so a lost notice is healed. The write paths know nothing of
consumers. A consumer seen for the first time starts at each workspace's current seq ("from now")
unless it asks to backfill; a workspace made later starts at 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Row, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..db.models import Change
from .clock import Clock
from .mutation import Mutation
from .notices import Notice

log = structlog.get_logger("taskly.consumers")

BATCH = 500
"""Changes handled per transaction."""
SCAN = 2000
"""Changes looked at per transaction by a consumer with a `where` filter (few are read)."""
CONCURRENT_WORKSPACES = 3
"""Workspaces one worker catches up at once (each holds a database connection)."""
SWEEP_WAIT = 5.0
"""Seconds a sweep waits for one workspace's run before going on to the next (a workspace whose
changes keep coming keeps its run going; the run carries on regardless)."""
LOCKED_RETRY = 0.2
"""Seconds before looking again at a workspace whose cursor another worker holds: it may have
committed its last batch just before the change that woke us."""
RETRIES = 5
"""Looks again after a held cursor or a failure, per wake; then the next notice or sweep."""

Handler = Callable[["ConsumerContext", Sequence[Row[Any]]], Awaitable[None]]


@dataclass(frozen=True)
class Consumer:
    name: str
    """Stable: the cursors are kept under it."""
    handle: Handler
    """Called in the batch's transaction with its changes, in seq order."""
    actor: str
    """The actor name of the changes it writes (`recurrence rule`)."""
    backfill: bool = False
    """First seen: start at each workspace's first change instead of its current seq."""
    where: str | None = None
    """A SQL condition on the `changes` row: only the changes it accepts are read and handed to
    `handle` (the cursor passes the others), so the database does not send what the consumer
    would skip. A constant of the consumer's module, never built from data."""

    @property
    def page(self) -> int:
        return BATCH if self.where is None else SCAN


@dataclass
class ConsumerContext:
    """What a consumer's handler gets besides the changes: the transaction and its writers."""

    db: AsyncSession
    mutation: Mutation
    workspace_id: uuid.UUID
    now: datetime
    settings: Any
    announcer: Any = None
    """lib.jobs.Announcer: realtime notices of what the batch commits."""
    queue: Any = None
    """lib.jobs.JobQueue: jobs to queue after the batch commits (`after_commit`)."""
    before_commit: list[Callable[[AsyncSession], Awaitable[None]]] = field(default_factory=list)
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    effects: int = 0
    """What the handler wrote (cards, notifications): the crash hook of the tests waits for one."""


CHANGE_COLUMNS = [column for column in Change.__table__.c]
_READ = (select(*CHANGE_COLUMNS)
         .where(Change.workspace_id == bindparam("workspace_id"), Change.seq > bindparam("after"))
         .order_by(Change.seq).limit(bindparam("limit")))
_PAGE_END = text("SELECT max(seq) FROM (SELECT seq FROM changes WHERE workspace_id = :workspace_id "
                 "AND seq > :after ORDER BY seq LIMIT :limit) page")
_TAKE = text("SELECT seq FROM consumer_cursors WHERE consumer = :consumer AND workspace_id = :workspace_id "
             "FOR UPDATE SKIP LOCKED")
_EXISTS = text("SELECT 1 FROM consumer_cursors WHERE consumer = :consumer AND workspace_id = :workspace_id")
_START = text("INSERT INTO consumer_cursors (consumer, workspace_id, seq) VALUES (:consumer, :workspace_id, 0) "
              "ON CONFLICT DO NOTHING")
_ADVANCE = text("UPDATE consumer_cursors SET seq = :seq, updated_at = now() "
                "WHERE consumer = :consumer AND workspace_id = :workspace_id")
_REGISTER = text("INSERT INTO feed_consumers (name) VALUES (:name) ON CONFLICT DO NOTHING RETURNING name")
_FROM_NOW = text("INSERT INTO consumer_cursors (consumer, workspace_id, seq) "
                 "SELECT :name, id, CASE WHEN :backfill THEN 0 ELSE seq END FROM workspaces "
                 "ON CONFLICT DO NOTHING")
_BEHIND = text("""
SELECT w.id FROM workspaces w CROSS JOIN unnest(CAST(:names AS text[])) AS c(name)
LEFT JOIN consumer_cursors cc ON cc.consumer = c.name AND cc.workspace_id = w.id
WHERE w.deleted_at IS NULL AND w.seq > coalesce(cc.seq, 0)
GROUP BY w.id
ORDER BY max(w.created_at) DESC
""")
"""Workspaces some consumer is behind in, the newest first: a sweep cut short by its job's timeout
has reached the ones made since the last look (a backlog of old ones is worked off over sweeps)."""
LAG = text("""
SELECT c.name AS consumer, w.id AS workspace_id, coalesce(cc.seq, 0) AS cursor, w.seq AS head,
       w.seq - coalesce(cc.seq, 0) AS lag
FROM feed_consumers c CROSS JOIN workspaces w
LEFT JOIN consumer_cursors cc ON cc.consumer = c.name AND cc.workspace_id = w.id
WHERE w.deleted_at IS NULL
ORDER BY lag DESC, c.name, w.id
""")
"""Each consumer's lag per live workspace, the largest first (`taskly-server consumers`)."""


class FeedConsumers:
    """The consumers of one worker process: registration, catching up, waking, sweeping."""

    def __init__(self, consumers: Sequence[Consumer], sessionmaker: async_sessionmaker[AsyncSession],
                 settings: Any, announcer: Any, clock: Clock, queue: Any = None) -> None:
        self.consumers = list(consumers)
        self.queue = queue
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.announcer = announcer
        self.clock = clock
        self._running: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._again: set[uuid.UUID] = set()
        self._slots = asyncio.Semaphore(CONCURRENT_WORKSPACES)
        self._sweeping = asyncio.Lock()
        self._background: asyncio.Task[int] | None = None

    async def register(self) -> list[str]:
        """Record consumers seen for the first time, with cursors from now (or 0 to backfill)."""
        added = []
        async with self.sessionmaker() as db, db.begin():
            for consumer in self.consumers:
                if await db.scalar(_REGISTER, {"name": consumer.name}) is not None:
                    await db.execute(_FROM_NOW, {"name": consumer.name, "backfill": consumer.backfill})
                    added.append(consumer.name)
        if added:
            log.info("consumers_registered", consumers=added)
        return added

    # --- waking -----------------------------------------------------------------------------

    def wake(self, workspace_id: uuid.UUID) -> None:
        """Catch the workspace up soon; once more after the current run if one is under way."""
        task = self._running.get(workspace_id)
        if task is not None and not task.done():
            self._again.add(workspace_id)
            return
        self._running[workspace_id] = asyncio.create_task(self._run(workspace_id))

    async def _run(self, workspace_id: uuid.UUID) -> None:
        retries = 0
        try:
            while True:
                self._again.discard(workspace_id)
                async with self._slots:
                    try:
                        locked = await self.catch_up(workspace_id)
                    except Exception as exc:  # a database failure, or a handler's bug
                        log.warning("consumer_failed", workspace_id=str(workspace_id),
                                    error=type(exc).__name__, detail=str(exc)[:300])
                        await asyncio.sleep(1)
                        locked = True
                if locked and retries < RETRIES:  # then the next notice or sweep tries again
                    retries += 1
                    await asyncio.sleep(LOCKED_RETRY)
                    self._again.add(workspace_id)
                elif not locked:
                    retries = 0
                if workspace_id not in self._again:
                    return
        finally:
            if self._running.get(workspace_id) is asyncio.current_task():
                del self._running[workspace_id]

    async def sweep(self) -> int:
        """Catch up every workspace some consumer is behind in, newest first, one at a time: a
        backlog of thousands (a worker's first start, a long outage) is worked off behind the
        notices, which wait for at most one of its workspaces. How many there were; 0 when a sweep
        is still under way (the SAQ job's timeout ends one)."""
        if self._sweeping.locked():
            return 0
        async with self._sweeping:
            async with self.sessionmaker() as db:
                behind = (await db.scalars(_BEHIND, {"names": [c.name for c in self.consumers]})).all()
            for workspace_id in behind:
                self.wake(workspace_id)
                task = self._running.get(workspace_id)
                if task is not None:  # a busy workspace keeps its run going: not waited for long
                    await asyncio.wait({task}, timeout=SWEEP_WAIT)  # (a cancelled sweep leaves it be)
            if behind:  # only a sweep that found work is worth a line
                log.info("consumers_swept", workspaces=len(behind))
            return len(behind)

    def sweep_soon(self) -> bool:
        """A sweep in the background, unless one is under way (then False): the cron job's and a
        starting listener's (anything announced while nothing listened), while notices are heard."""
        if self._background is not None and not self._background.done():
            return False
        self._background = asyncio.create_task(self.sweep())
        return True

    async def idle(self) -> None:
        """Stop a background sweep and wait for the runs under way (shutdown)."""
        if self._background is not None:
            self._background.cancel()
            await asyncio.gather(self._background, return_exceptions=True)
        await asyncio.gather(*self._running.values(), return_exceptions=True)

    # --- handling ---------------------------------------------------------------------------

    async def catch_up(self, workspace_id: uuid.UUID) -> bool:
        """Run every consumer over the workspace's new changes; True when one was held elsewhere."""
        held_elsewhere = False
        for consumer in self.consumers:
            while True:
                handled = await self.run_batch(consumer, workspace_id)
                if handled is None:
                    held_elsewhere = True
                if not handled or handled < consumer.page:
                    break
        return held_elsewhere

    async def run_batch(self, consumer: Consumer, workspace_id: uuid.UUID) -> int | None:
        """One batch in one transaction: how many changes it passed (handled or filtered out);
        None when another worker holds this consumer's cursor for the workspace."""
        key = {"consumer": consumer.name, "workspace_id": workspace_id}
        async with self.sessionmaker() as db:
            async with db.begin():
                cursor = await db.scalar(_TAKE, key)
                if cursor is None:
                    if await db.scalar(_EXISTS, key) is not None:
                        return None
                    await db.execute(_START, key)
                    cursor = await db.scalar(_TAKE, key)
                    if cursor is None:
                        return None
                rows, end = await self._read(db, consumer, workspace_id, cursor)
                if end is None:
                    return 0
                mutation = Mutation(db, actor_type="automation", actor_id=None, actor_name=consumer.actor)
                ctx = ConsumerContext(db, mutation, workspace_id, self.clock.now(), self.settings,
                                      self.announcer, self.queue)
                await consumer.handle(ctx, rows)
                await mutation.flush()
                if ctx.effects and self.settings.test_consumer_crash == consumer.name:
                    log.warning("consumer_test_crash", consumer=consumer.name, seq=end)
                    os._exit(70)  # effects written, cursor not: the transaction dies with us
                await db.execute(_ADVANCE, {**key, "seq": end})
                await self.announcer.before_commit(db, mutation.committed_seqs)
                for hook in ctx.before_commit:
                    await hook(db)
            await self.announcer.after_commit(mutation.committed_seqs)
            for after in ctx.after_commit:
                await after()
        return end - cursor  # a workspace's seqs have no gaps

    async def _read(self, db: AsyncSession, consumer: Consumer, workspace_id: uuid.UUID,
                    cursor: int) -> tuple[Sequence[Row[Any]], int | None]:
        """The batch's changes for the consumer and the last seq it covers (None: nothing new)."""
        if consumer.where is None:
            rows = (await db.execute(_READ, {"workspace_id": workspace_id, "after": cursor,
                                             "limit": BATCH})).all()
            return rows, rows[-1].seq if rows else None
        end = await db.scalar(_PAGE_END, {"workspace_id": workspace_id, "after": cursor, "limit": SCAN})
        if end is None:
            return [], None
        rows = (await db.execute(
            select(*CHANGE_COLUMNS).where(Change.workspace_id == workspace_id, Change.seq > cursor,
                                          Change.seq <= end, text(consumer.where)).order_by(Change.seq))).all()
        return rows, end


async def consumer_lag(db: AsyncSession) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in (await db.execute(LAG)).all()]


class NoticeListener:
    """Hears every workspace's realtime notices and wakes the consumers.

    Redis: one pattern subscription to all workspace channels. Postgres: LISTEN on the channel of
    each live workspace, the list refreshed by `refresh` (called by the sweep)."""

    def __init__(self, settings: Any, consumers: FeedConsumers) -> None:
        self.settings = settings
        self.consumers = consumers
        self._task: asyncio.Task[None] | None = None
        self._pg: Any = None
        self._listening: set[str] = set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen_redis() if self.settings.redis_url
                                         else self._listen_postgres())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._pg is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._pg.close(), 2)

    def _heard(self, payload: bytes | str) -> None:
        notice = Notice.decode(payload)
        if notice is not None:
            self.consumers.wake(notice.workspace_id)

    async def _listen_redis(self) -> None:
        from redis.asyncio import Redis

        while True:
            client = Redis.from_url(self.settings.redis_url, socket_connect_timeout=2)
            try:
                pubsub = client.pubsub()
                await pubsub.psubscribe("taskly_ws_*")
                self.consumers.sweep_soon()  # anything announced while we were not listening
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
                    if message is not None and message.get("type") == "pmessage":
                        self._heard(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer_notices_lost", backend="redis", error=type(exc).__name__)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def _listen_postgres(self) -> None:
        import asyncpg
        from sqlalchemy.engine import make_url

        dsn = make_url(self.settings.database_url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        while True:
            try:
                self._pg = await asyncpg.connect(dsn, timeout=5)
                self._listening = set()
                await self.refresh()
                self.consumers.sweep_soon()
                while not self._pg.is_closed():
                    await asyncio.sleep(self.settings.consumer_sweep_interval)
                    await self.refresh()
                log.warning("consumer_notices_lost", backend="postgres", error="closed")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer_notices_lost", backend="postgres", error=type(exc).__name__)
                await asyncio.sleep(1)

    async def refresh(self) -> None:
        """Postgres: LISTEN on the channels of workspaces made since the last look, and catch those
        up at once: a notice sent before the LISTEN (a card made just after its workspace) was not
        heard. (The first look of a connection wakes none: the sweep finds what is behind.)"""
        connection = self._pg
        if self.settings.redis_url or connection is None or connection.is_closed():
            return
        from .notices import channel_name

        first = not self._listening
        ids = await connection.fetch("SELECT id FROM workspaces WHERE deleted_at IS NULL")
        for (workspace_id,) in ids:
            channel = channel_name(workspace_id)
            if channel not in self._listening:
                await connection.add_listener(channel, lambda _c, _p, _ch, payload: self._heard(payload))
                self._listening.add(channel)
                if not first:
                    self.consumers.wake(workspace_id)


async def sweep_consumers(ctx: dict[str, Any]) -> dict[str, Any]:
    """The SAQ cron job (every `consumer_sweep_interval` s, one worker at a time): starts the
    worker's sweep in the background (every workspace some consumer is behind in, whatever notices
    were lost) and returns. A long backlog never holds the job, and a worker that dies mid-sweep
    leaves no cron job behind to block the next ones."""
    return {"started": ctx["consumers"].sweep_soon()}
