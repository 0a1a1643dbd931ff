"""Notifications on the WebSocket: each to its own user's sockets only, in seq order, once.

Workers that write notifications publish "user U has notifications up to seq S"
(`lib.notices.UserNotice`, one channel for all users) when they commit; each process reads the
new ones of U after the last seq each of U's sockets was sent and sends them as `notification`
messages. A socket that signs in with `notifications_since` first gets those after that seq
(the catch-up after a reconnect); without it, only new ones. A poll of the users' newest seqs
every few seconds heals a lost notice.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from contextlib import suppress

import structlog
from litestar.channels import ChannelsPlugin
from litestar.channels.subscriber import Subscriber
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskly_shared.events import NotificationEvent

from ..db.models import User
from ..domain.notifications.services import NotificationService
from ..lib.notices import NOTIFICATIONS_CHANNEL, UserNotice
from ..lib.rendered import fetch
from .connection import Connection

log = structlog.get_logger("taskly.realtime")


_NOTIFICATION_SEQ = "SELECT notification_seq FROM users WHERE id = $1"


class NotificationSockets:
    """This process's signed-in sockets by user, each with the last notification seq it was sent."""

    def __init__(self, channels: ChannelsPlugin, sessionmaker: async_sessionmaker[AsyncSession],
                 poll_interval: float) -> None:
        self.channels = channels
        self.sessionmaker = sessionmaker
        self.poll_interval = poll_interval
        self._sent: dict[uuid.UUID, dict[Connection, int]] = defaultdict(dict)
        self._locks: dict[uuid.UUID, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._subscriber: Subscriber | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._start_lock = asyncio.Lock()

    async def add(self, connection: Connection, since: int | None,
                  newest: int | None = None) -> None:
        """Follow a signed-in socket: first the notifications after `since` (when given);
        `newest`, the user's newest notification seq when the caller has just read it."""
        await self._listen_once()
        user_id = connection.principal.user_id
        async with self._locks[user_id]:
            if since is None and newest is not None:
                last = newest
            elif since is None:  # on the driver: a thousand sockets may be signing in at once
                rows = await fetch(self.sessionmaker.kw["bind"], _NOTIFICATION_SEQ, user_id)
                last = (rows[0][0] if rows else 0) or 0
            else:
                async with self.sessionmaker() as db:
                    missed = await NotificationService(db).since(user_id, since)
                connection.send_frames([NotificationEvent(notification=n).model_dump_json()
                                        for n in missed])
                last = missed[-1].seq if missed else since
            self._sent[user_id][connection] = last

    def discard(self, connection: Connection) -> None:
        user_id = connection.principal.user_id
        sockets = self._sent.get(user_id)
        if sockets is not None:
            sockets.pop(connection, None)
            if not sockets:
                del self._sent[user_id]
                self._locks.pop(user_id, None)

    async def deliver(self, user_id: uuid.UUID, seq: int) -> int:
        """Send the user's sockets what they have not had up to `seq`; how many frames."""
        if not any(last < seq for last in self._sent.get(user_id, {}).values()):
            return 0
        sent = 0
        async with self._locks[user_id]:
            sockets = self._sent.get(user_id, {})
            behind = {connection: last for connection, last in sockets.items() if last < seq}
            if not behind:
                return 0
            async with self.sessionmaker() as db:
                missed = await NotificationService(db).since(user_id, min(behind.values()))
            for connection, last in behind.items():
                frames = [NotificationEvent(notification=n).model_dump_json() for n in missed if n.seq > last]
                if frames:
                    connection.send_frames(frames)
                    sent += len(frames)
                if connection in sockets and missed:
                    sockets[connection] = max(last, missed[-1].seq)
        return sent

    async def _listen_once(self) -> None:
        if self._tasks:
            return
        async with self._start_lock:
            if self._tasks:
                return
            try:
                self._subscriber = await self.channels.subscribe(NOTIFICATIONS_CHANNEL)
            except Exception as exc:  # the poll still delivers; try again with the next socket
                log.warning("realtime_notifications_not_heard", error=type(exc).__name__)
                return
            self._tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._poll())]

    async def _listen(self) -> None:
        assert self._subscriber is not None
        async for payload in self._subscriber.iter_events():
            notice = UserNotice.decode(payload)
            if notice is None or notice.user_id not in self._sent:
                continue
            try:
                await self.deliver(notice.user_id, notice.seq)
            except Exception as exc:
                log.warning("realtime_notifications_failed", error=type(exc).__name__)

    async def _poll(self) -> None:
        """The safety net: the newest seq of every followed user, one query every few seconds."""
        while True:
            await asyncio.sleep(self.poll_interval)
            users = list(self._sent)
            if not users:
                continue
            try:
                async with self.sessionmaker() as db:
                    heads = (await db.execute(select(User.id, User.notification_seq)
                                              .where(User.id.in_(users)))).all()
                for user_id, seq in heads:
                    await self.deliver(user_id, seq)
            except Exception as exc:
                log.warning("realtime_notifications_poll_failed", error=type(exc).__name__)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._subscriber is not None:
            with suppress(Exception):
                await self.channels.unsubscribe(self._subscriber, NOTIFICATIONS_CHANNEL)
