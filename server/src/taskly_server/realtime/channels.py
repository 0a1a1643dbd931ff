"""Channels wiring: the backend that carries realtime notices between server processes.

Only small notices travel ("workspace W is at seq S"); every process reads the changes themselves
from the feed, which stays the one source of truth, so a lost notice is healed by the next one.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg
import structlog
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.asyncpg import AsyncPgChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from sqlalchemy.engine import make_url

from ..settings import Settings

log = structlog.get_logger("taskly.realtime")

RECONNECT_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)
MAYBE_MISSED = b""
"""Not a notice: notices of the channel may have been lost, read the feed."""


def channel_name(workspace_id: uuid.UUID) -> str:
    """One channel per workspace; also a valid Postgres LISTEN identifier (≤ 63 bytes)."""
    return f"taskly_ws_{workspace_id.hex}"


@dataclass(frozen=True, slots=True)
class Notice:
    """"Workspace `workspace_id` has committed changes up to `seq`"."""

    workspace_id: uuid.UUID
    seq: int

    def encode(self) -> bytes:
        return json.dumps({"w": str(self.workspace_id), "s": self.seq}, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, payload: bytes | str) -> Notice | None:
        """None for anything that is not a notice (it is ignored, never fatal)."""
        try:
            body = json.loads(payload)
            return cls(uuid.UUID(body["w"]), int(body["s"]))
        except (ValueError, TypeError, KeyError):
            return None


class NotifyChannelsBackend(AsyncPgChannelsBackend):
    """Postgres LISTEN/NOTIFY that keeps one publishing connection and re-listens after a drop.

    The stock backend opens a connection for every publish (several ms each, in series) and stays
    deaf once its listening connection is lost.
    """

    def __init__(self, dsn: str) -> None:
        super().__init__(dsn=dsn)
        self._publisher: asyncpg.Connection | None = None
        self._publish_lock = asyncio.Lock()
        self._closing = False
        self._reconnect_task: asyncio.Task[None] | None = None

    async def on_startup(self) -> None:
        await super().on_startup()
        self._listener_conn.add_termination_listener(self._on_listener_lost)

    async def on_shutdown(self) -> None:
        self._closing = True
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
        if self._publisher is not None:
            await self._publisher.close()
        await super().on_shutdown()

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        payload = data.decode("utf-8")
        async with self._publish_lock:
            for attempt in range(2):
                try:
                    if self._publisher is None or self._publisher.is_closed():
                        self._publisher = await self._connect()
                    for channel in channels:
                        await self._publisher.execute("SELECT pg_notify($1, $2)", channel, payload)
                    return
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    if self._publisher is not None:
                        self._publisher.terminate()
                    self._publisher = None
                    if attempt:
                        raise

    def _on_listener_lost(self, connection: asyncpg.Connection) -> None:
        if not self._closing and self._reconnect_task is None:
            self._reconnect_task = asyncio.get_running_loop().create_task(self._relisten())

    async def _relisten(self) -> None:
        try:
            for attempt in itertools.count():
                await asyncio.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
                try:
                    async with self._listener_lock:
                        connection = await self._connect()
                        for channel in self._subscribed_channels:
                            await connection.add_listener(channel, self._listener)
                        connection.add_termination_listener(self._on_listener_lost)
                        self._listener_conn = connection
                        for channel in self._subscribed_channels:  # notices may be lost: look
                            self._queue.put_nowait((channel, MAYBE_MISSED))
                    log.info("realtime_listener_reconnected", channels=len(self._subscribed_channels))
                    return
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("realtime_listener_reconnect_failed", error=type(exc).__name__)
        finally:
            self._reconnect_task = None


def plain_dsn(database_url: str) -> str:
    """asyncpg's own DSN (`postgresql://…`) for a SQLAlchemy URL (`postgresql+asyncpg://…`)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_channels(settings: Settings) -> ChannelsPlugin:
    """Redis pub/sub when `TASKLY_REDIS_URL` is set, else Postgres LISTEN/NOTIFY."""
    if settings.redis_url:
        from redis.asyncio import Redis

        backend = RedisChannelsPubSubBackend(redis=Redis.from_url(settings.redis_url))
    else:
        assert settings.database_url, "the realtime backend needs a database URL"
        backend = NotifyChannelsBackend(plain_dsn(settings.database_url))
    return ChannelsPlugin(backend=backend, arbitrary_channels_allowed=True)
