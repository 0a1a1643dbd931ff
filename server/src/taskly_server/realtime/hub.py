"""Fan-out inside one server process: one feed reader per workspace, shared by all its sockets.

A notice ("workspace W is at seq S": published after every commit, heard from every process, and
found by a poll of the feed heads every few seconds) wakes the workspace's reader, which reads
the new changes from the feed once, serialises each event once and hands the frames to every
subscribed socket; each subscription remembers the last seq it was handed, so nothing is sent
twice and nothing is skipped, whichever notice arrives first or gets lost.

A commit made by this process may bring its rows along (`Fanout.on_commit`): when they directly
follow the last seq handed out, they go to the sockets without the feed read; anything else (a
gap, a read or a join under way, a member removal) falls back to the notice and the feed.

A joining socket catches up from the workspace's window of the newest frames (lib/feed_window.py), which
the reader fills as it hands changes out; older frames are read into it once for all the joiners
that need them (single flight). Sign-ins, joins and catch-ups take turns (`CATCH_UPS`), so a
thousand sockets reconnecting after a restart leave room for the live traffic.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
import uuid
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from litestar.channels import ChannelsPlugin
from litestar.channels.subscriber import Subscriber
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from taskly_shared.events import ChangeEvent, Resync, Subscribed

from ..db.models import Change, Member, Workspace
from ..domain.cards.views import change_out
from ..domain.feed.services import current_members, feed_head, read_changes
from ..lib.feed_window import FeedWindow
from ..lib.notices import Notice, channel_name
from ..lib.rendered import fetch

log = structlog.get_logger("taskly.realtime")

PAGE = 1000
"""Changes read from the feed per query."""
CATCH_UPS = 16
"""Catch-ups prepared at once in a process (each a feed read, or a slice of the window, and its
hand-over to the socket): a thousand sockets reconnecting together take turns, and the live
fan-out and requests get the loop in between."""

_HEAD = """
SELECT w.seq, w.feed_floor
  FROM workspaces w JOIN members m ON m.workspace_id = w.id AND m.user_id = $2
 WHERE w.id = $1 AND w.deleted_at IS NULL
"""


class Receiver(Protocol):
    """The socket side of a subscription."""

    def send_frames(self, frames: list[str]) -> None: ...

    async def drained(self) -> None: ...

    def subscription_removed(self, subscription: Subscription, reason: str) -> None: ...


@dataclass(eq=False)
class Subscription:
    receiver: Receiver
    workspace_id: uuid.UUID
    user_id: uuid.UUID
    last: int = 0
    """The newest seq handed to the socket."""
    checked_at: float = field(default_factory=time.monotonic)
    """When its membership was checked (monotonic clock)."""


def event_frame(row: Change) -> str:
    """A change this process has just committed (no stored wire form at hand), as its event."""
    return ChangeEvent(workspace_id=row.workspace_id, seq=row.seq, change=change_out(row)).model_dump_json()


def stored_frame(row: Any) -> str:
    """A change read from the feed as its event, around the wire form stored with it: the same
    document as `event_frame`'s, without rendering anything."""
    return f'{{"type":"change","workspace_id":"{row.workspace_id}","seq":{row.seq},"change":{row.wire}}}'


class NotMember(Exception):
    """The user may not (or no longer) subscribe to the workspace."""


class FeedLock(asyncio.Lock):
    """The lock of a workspace's reader, which joiners need only now and then: they wait for it
    to be free (`free`) without queueing on it, so the reader never waits behind a thousand of
    them (asyncio's lock is first come, first served)."""

    def __init__(self) -> None:
        super().__init__()
        self._free: asyncio.Future[None] | None = None

    def release(self) -> None:
        super().release()
        if self._free is not None:
            self._free.set_result(None)
            self._free = None

    async def free(self) -> None:
        """Until no one holds the lock (whoever waits on it may take it next)."""
        while self.locked():
            if self._free is None:
                self._free = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._free)


class WorkspaceFeed:
    """The realtime fan-out of one workspace in this process."""

    def __init__(self, fanout: Fanout, workspace_id: uuid.UUID) -> None:
        self.fanout = fanout
        self.workspace_id = workspace_id
        self.subscriptions: set[Subscription] = set()
        self.refs = 0
        self.head = 0
        """The newest seq read from the feed and handed out."""
        self.target = 0
        """The newest seq announced by a notice or the poll."""
        self.lock = FeedLock()
        """Held while reading and handing out, and while a subscription joins the slow way."""
        self.last_removal = 0.0
        """When a batch with a member or workspace removal was last handed out (monotonic)."""
        self.window = FeedWindow(0)
        """The newest frames handed out, for the sockets that join (`join`)."""
        self._older: asyncio.Future[None] | None = None
        """The read of older frames into the window under way, awaited by every joiner it serves."""
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._channel: Subscriber | None = None

    async def open(self) -> None:
        """Listen first, then read the head: a commit in between is announced, never lost."""
        self._channel = await self.fanout.channels.subscribe(channel_name(self.workspace_id))
        async with self.fanout.sessionmaker() as db:
            head = await feed_head(db, self.workspace_id)
        self.head = self.target = head.seq if head else 0
        self.window = FeedWindow(self.head)
        self._tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._read_loop())]

    async def close(self, unsubscribe: bool = True) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if unsubscribe and self._channel is not None:
            with suppress(Exception):
                await self.fanout.channels.unsubscribe(self._channel, channel_name(self.workspace_id))

    def announce(self, seq: int) -> None:
        if seq > self.target:
            self.target = seq
            if seq > self.head:
                self._wake.set()

    def offer(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Rows this process has just committed, in seq order: handed out once the committing
        request's response is on its way (`call_soon`, outside the request's context), or read
        from the feed like any other."""
        asyncio.get_running_loop().call_soon(self._take, list(rows), context=contextvars.Context())

    def _take(self, rows: list[Mapping[str, Any]]) -> None:
        first, last = rows[0]["seq"], rows[-1]["seq"]
        if (self.lock.locked() or first != self.head + 1 or last - first != len(rows) - 1
                or any(_removes_someone(row["op"], row["entity_type"]) for row in rows)):
            self.announce(last)  # a read or a join is under way, a gap, or a removal to check
            return
        try:
            changes = [Change(**row) for row in rows]
            frames = [(change.seq, event_frame(change)) for change in changes]
        except Exception as exc:  # rows not as committed: the feed has them
            log.warning("realtime_rows_unusable", workspace_id=str(self.workspace_id),
                        error=type(exc).__name__)
            self.announce(last)
            return
        self._hand_out(frames, {})
        self.head = last
        self.target = max(self.target, last)

    def poke(self) -> None:
        """Read the feed after `head` even without a notice (some may have been lost)."""
        self.announce(self.head + 1)

    async def _listen(self) -> None:
        assert self._channel is not None
        async for payload in self._channel.iter_events():
            notice = Notice.decode(payload)
            if notice is None:
                self.poke()
            elif notice.workspace_id == self.workspace_id:
                self.announce(notice.seq)

    async def _read_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.pull()
            except Exception as exc:
                log.warning("realtime_feed_read_failed", workspace_id=str(self.workspace_id),
                            error=type(exc).__name__)
                await asyncio.sleep(1)
                self._wake.set()

    async def pull(self) -> None:
        """Read the feed after `head` once for all sockets and hand each its new changes."""
        async with self.lock:
            while self.head < self.target:
                async with self.fanout.sessionmaker() as db:
                    rows = await read_changes(db, self.workspace_id, self.head, PAGE)
                    if not rows:
                        self.target = self.head
                        break
                    cuts = await self._removed_members(db, rows)
                    # before the session's closing round trip
                    self._hand_out([(row.seq, stored_frame(row)) for row in rows], cuts)
                    self.head = rows[-1].seq

    def _hand_out(self, frames: Sequence[tuple[int, str]], cuts: dict[uuid.UUID, int]) -> None:
        """Synchronous (no await): a subscription is never half-served or served after removal.

        Each event was serialised once; every socket gets the same text (see `Connection`).
        """
        every_frame = [frame for _, frame in frames]
        first, last = frames[0][0], frames[-1][0]
        if first > self.window.last:  # they follow on from the head: kept for the joiners
            self.window.append(frames)
        for subscription in list(self.subscriptions):
            cut = cuts.get(subscription.user_id)
            if cut is None and subscription.last < first:
                out = every_frame
            else:
                out = [frame for seq, frame in frames
                       if seq > subscription.last and (cut is None or seq < cut)]
            if out:
                subscription.receiver.send_frames(out)
            if cut is not None:
                self.remove(subscription)
                subscription.receiver.subscription_removed(subscription, "removed")
            else:
                subscription.last = max(subscription.last, last)

    async def _removed_members(self, db: AsyncSession, rows: Sequence[Change]) -> dict[uuid.UUID, int]:
        """Subscribed users this batch removed, each with the first seq they must not receive."""
        cuts: dict[uuid.UUID | None, int] = {}
        for row in rows:
            if not _removes_someone(row.op, row.entity_type):
                continue
            if row.entity_type == "workspace":
                cuts.setdefault(None, row.seq)
                continue
            for user_id in _member_user_ids(row):
                cuts.setdefault(user_id, row.seq)
        if not cuts:
            return {}
        self.last_removal = time.monotonic()
        users = {s.user_id for s in self.subscriptions}
        gone = users - await current_members(db, self.workspace_id, users)
        first = min(cuts.values())
        return {user_id: cuts.get(user_id, cuts.get(None, first)) for user_id in gone}

    async def join(self, subscription: Subscription, since: int,
                   head: tuple[int, int] | None = None) -> None:
        """`subscribed`, then the changes after `since` (or `resync`), then live: no gap, no repeat.

        `head`: the workspace's (seq, feed floor) when the caller has just read it (`Fanout.head`).
        """
        receiver = subscription.receiver
        if head is None:
            async with self.fanout.catch_ups:
                head = await self.fanout.head(self.workspace_id, subscription.user_id)
        if head is None:
            raise NotMember
        seq, feed_floor = head
        receiver.send_frames([Subscribed(workspace_id=self.workspace_id, seq=seq).model_dump_json()])
        if since < feed_floor or since > seq:
            reason = "gone" if since < feed_floor else "ahead"
            receiver.send_frames([Resync(workspace_id=self.workspace_id, reason=reason).model_dump_json()])
            last = seq
        else:
            self.announce(seq)  # the reader may not have heard of it yet: it hands out the rest
            last = await self._catch_up(receiver, since, seq)
        await self.lock.free()
        if (self.last_removal < subscription.checked_at
                and (self.head <= last or self.window.covers(last, self.head))):
            # The common case, without the lock (nothing else runs until the end of this block,
            # and no one holds it): a thousand joiners queued on it would each cost the reader a
            # loop turn, and the live changes would wait for them all.
            self._subscribe(subscription, last)
            return
        async with self.lock:
            if self.last_removal >= subscription.checked_at:
                async with self.fanout.sessionmaker() as db:  # a removal went by: check again
                    if not await current_members(db, self.workspace_id, {subscription.user_id}):
                        receiver.subscription_removed(subscription, "removed")
                        return
            if self.head > last and not self.window.covers(last, self.head):
                async with self.fanout.sessionmaker() as db:
                    last = await self._send_feed(receiver, last, self.head, db)
            self._subscribe(subscription, last)

    def _subscribe(self, subscription: Subscription, last: int) -> None:
        """Live from here: the changes this process's reader handed out while the socket caught up
        to `last` (in the window), then whatever it hands out next."""
        if self.head > last:
            subscription.receiver.send_frames(self.window.between(last, self.head))
            last = self.head
        subscription.last = last
        self.subscriptions.add(subscription)

    async def _catch_up(self, receiver: Receiver, since: int, until: int) -> int:
        """Hand one joining socket the changes in (since, until] — up to where this process's
        reader has got, when that is sooner — from the window, or from the feed when it is too
        far behind; returns the last seq handed."""
        while since < until:
            async with self.fanout.catch_ups:
                frames = await self._from_window(since, until)
                if frames is not None:
                    receiver.send_frames(frames)  # written from here on by the socket's writer
                    return max(since, min(until, self.window.last))
                async with self.fanout.sessionmaker() as session:
                    rows = await read_changes(session, self.workspace_id, since, PAGE, until)
                if not rows:
                    break
                receiver.send_frames([stored_frame(row) for row in rows])
            since = rows[-1].seq
            await receiver.drained()  # a slow socket holds up neither the others nor a turn
        return max(since, until)

    async def _from_window(self, since: int, until: int) -> list[str] | None:
        """The frames of (since, min(until, the window's last)] when the window has or can have
        them: older frames are read into it once for every joiner that waits (single flight)."""
        for _ in range(3):
            window = self.window
            if since >= window.since:
                return window.between(since, until)
            if since < window.last - window.capacity:
                return None
            if self._older is None:
                self._older = asyncio.ensure_future(self._read_older(window, window.reach(since)))
                self._older.add_done_callback(self._older_done)
            await asyncio.shield(self._older)
        return None

    def _older_done(self, future: asyncio.Future[None]) -> None:
        self._older = None
        if not future.cancelled():
            future.exception()  # retrieved: each waiter gets it raised

    async def _read_older(self, window: FeedWindow, low: int) -> None:
        high = window.since
        async with self.fanout.sessionmaker() as db:
            rows = await read_changes(db, self.workspace_id, low, high - low, high)
        if self.window is window and window.since == high:  # not moved on meanwhile
            window.prepend(low, [(row.seq, stored_frame(row)) for row in rows])

    async def _send_feed(self, receiver: Receiver, since: int, until: int, db: AsyncSession) -> int:
        """Hand the changes in (since, until] to one socket, page by page; returns the last seq."""
        while since < until:
            rows = await read_changes(db, self.workspace_id, since, PAGE, until)
            if not rows:
                break
            receiver.send_frames([stored_frame(row) for row in rows])
            since = rows[-1].seq
        return max(since, until)

    def remove(self, subscription: Subscription) -> bool:
        if subscription in self.subscriptions:
            self.subscriptions.discard(subscription)
            return True
        return False


def _removes_someone(op: str, entity_type: str) -> bool:
    """A member or workspace deletion: whoever it removed must get nothing after it."""
    return op == "delete" and entity_type in ("member", "workspace")


def _member_user_ids(row: Change) -> set[uuid.UUID]:
    """The user a member change is about: its entity id, or `user_id` in its data or changes."""
    found = {row.entity_id}
    candidates: list[Any] = [(row.data or {}).get("user_id")]
    user_change = (row.changes or {}).get("user_id")
    if isinstance(user_change, dict):
        candidates.append(user_change.get("old"))
    for value in candidates:
        with suppress(ValueError, TypeError, AttributeError):
            found.add(uuid.UUID(str(value)))
    return found


class Fanout:
    """This process's realtime fan-out: workspace feeds, the after-commit notices, the poll."""

    def __init__(self, channels: ChannelsPlugin, sessionmaker: async_sessionmaker[AsyncSession],
                 poll_interval: float) -> None:
        self.channels = channels
        self.sessionmaker = sessionmaker
        self.catch_ups = asyncio.Semaphore(CATCH_UPS)
        """Held while a joining socket's membership, feed head or catch-up is read."""
        self.poll_interval = poll_interval
        self.feeds: dict[uuid.UUID, WorkspaceFeed] = {}
        self._lock = asyncio.Lock()

    @property
    def engine(self) -> AsyncEngine:
        return self.sessionmaker.kw["bind"]

    async def head(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> tuple[int, int] | None:
        """The workspace's (seq, feed floor) if the user is a member of it (one statement on the
        driver: a thousand sockets subscribing at once make a thousand of these)."""
        rows = await fetch(self.engine, _HEAD, workspace_id, user_id)
        return (rows[0][0], rows[0][1]) if rows else None

    async def acquire(self, workspace_id: uuid.UUID) -> WorkspaceFeed:
        async with self._lock:
            feed = self.feeds.get(workspace_id)
            if feed is None:
                feed = WorkspaceFeed(self, workspace_id)
                try:
                    await feed.open()
                except BaseException:
                    await feed.close()
                    raise
                self.feeds[workspace_id] = feed
            feed.refs += 1
            return feed

    async def release(self, feed: WorkspaceFeed) -> None:
        async with self._lock:
            feed.refs -= 1
            if feed.refs <= 0 and self.feeds.get(feed.workspace_id) is feed:
                del self.feeds[feed.workspace_id]
                await feed.close()

    async def on_commit(self, committed_seqs: Mapping[uuid.UUID, int],
                        committed: Mapping[uuid.UUID, Sequence[Mapping[str, Any]]] | None = None) -> None:
        """The after_commit hook: hand out (or have read) the changes here, tell the other processes.

        `committed`, when given: per workspace, the Change rows just committed, in seq order, as
        the column values written (`seq` and `created_at` included) — they save the feed read.
        """
        for workspace_id, seq in committed_seqs.items():
            feed = self.feeds.get(workspace_id)
            rows = committed.get(workspace_id) if committed else None
            if feed is None:
                pass
            elif rows and rows[-1]["seq"] == seq:
                feed.offer(rows)
            else:
                feed.announce(seq)
            try:
                self.channels.publish(Notice(workspace_id, seq).encode(), channel_name(workspace_id))
            except RuntimeError:  # channels not started (shutting down): the poll heals it
                log.warning("realtime_notice_not_published", workspace_id=str(workspace_id))

    async def run_poll(self) -> None:
        """The safety net: every few seconds, one query for the heads of every followed workspace."""
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                await self.poll()
            except Exception as exc:
                log.warning("realtime_poll_failed", error=type(exc).__name__)

    async def poll(self) -> None:
        """Announce the feed heads; drop subscriptions whose user is no longer a member."""
        feeds = dict(self.feeds)
        if not feeds:
            return
        started = time.monotonic()
        user_ids = {s.user_id for feed in feeds.values() for s in feed.subscriptions}
        async with self.sessionmaker() as db:
            heads = dict((await db.execute(
                select(Workspace.id, Workspace.seq).where(Workspace.id.in_(feeds))
            )).all())
            members = {tuple(row) for row in (await db.execute(
                select(Member.workspace_id, Member.user_id)
                .join(Workspace, Workspace.id == Member.workspace_id)
                .where(Member.workspace_id.in_(feeds), Member.user_id.in_(user_ids),
                       Workspace.deleted_at.is_(None))
            )).all()} if user_ids else set()
        for workspace_id, feed in feeds.items():
            if workspace_id in heads:
                feed.announce(heads[workspace_id])
            for subscription in list(feed.subscriptions):
                if (subscription.checked_at < started
                        and (workspace_id, subscription.user_id) not in members
                        and feed.remove(subscription)):
                    subscription.receiver.subscription_removed(subscription, "removed")

    async def close(self) -> None:
        for feed in list(self.feeds.values()):
            await feed.close(unsubscribe=False)
        self.feeds.clear()
