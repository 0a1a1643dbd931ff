"""Channels wiring: the backend that carries realtime notices between server processes.

Only small notices travel ("workspace W is at seq S", `lib.notices`); every process reads the
changes themselves from the feed, which stays the one source of truth, so a lost notice is healed
by the next one.

Either backend outlives an outage of what carries it: a notice that cannot be published is dropped
(the feed has the change; the receivers' poll or the next notice brings it), a lost subscription
is opened again with backoff, and then every subscribed channel hears `MAYBE_MISSED`, so the
realtime hub reads the feed at once instead of waiting for its poll. No shutdown step waits on a
dead connection for more than a few seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncGenerator, Iterable
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import asyncpg
import structlog
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.asyncpg import AsyncPgChannelsBackend
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.engine import make_url

from ..settings import Settings

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub

log = structlog.get_logger("taskly.realtime")

RECONNECT_DELAYS = (0.1, 0.25, 0.5, 1.0)
"""Seconds before each attempt to listen again; then every second (a refused attempt is cheap)."""
IO_TIMEOUT = 2.0
"""Seconds one command of a realtime backend may take (connect, (un)subscribe, publish, close)."""
MAYBE_MISSED = b""
"""Not a notice: notices of the channel may have been lost, read the feed."""


class HoldingPublisher:
    """A backend's `publish` that never fails nor hangs, and loses no workspace's last notice.

    A notice that cannot be sent within `IO_TIMEOUT` is held, the newest per channel (a notice
    says "W is at seq S", or names a revoked sign-in: the newest is all that matters), and sent
    after the next notice that gets through. While a failure took long (a silent Redis or
    database), notices are held without trying for `QUIET_AFTER_SLOW_FAILURE` seconds, so no
    backlog builds up behind the timeouts. One warning per failing stretch.

    Litestar's publishing task dies at the first exception of `publish`; every later notice would
    then wait in its queue, and the plugin's shutdown, which waits for that queue, never end.
    """

    QUIET_AFTER_SLOW_FAILURE = 1.0
    MAX_HELD = 10_000

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._held: dict[str, bytes] = {}
        """Per channel, the newest notice not sent yet."""
        self._quiet_until = 0.0
        self._failing = False

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        channels = list(channels)
        if time.monotonic() < self._quiet_until or not await self._try_send(data, channels):
            self._hold(data, channels)
            return
        for channel in channels:  # what was held for them is older than what just went out
            self._held.pop(channel, None)
        if self._held:
            held, self._held = self._held, {}
            for channel, payload in held.items():
                if time.monotonic() < self._quiet_until or not await self._try_send(payload, [channel]):
                    self._hold(payload, [channel])
            if not self._held:
                log.info("realtime_notices_sent_again", channels=len(held))

    async def _try_send(self, data: bytes, channels: list[str]) -> bool:
        started = time.monotonic()
        try:
            await asyncio.wait_for(self._send(data, channels), IO_TIMEOUT)
        except Exception as exc:
            if time.monotonic() - started > IO_TIMEOUT / 4:
                self._quiet_until = time.monotonic() + self.QUIET_AFTER_SLOW_FAILURE
            if not self._failing:
                self._failing = True
                log.warning("realtime_notices_not_published", error=type(exc).__name__)
            return False
        self._failing = False
        return True

    def _hold(self, data: bytes, channels: list[str]) -> None:
        for channel in channels:
            self._held.pop(channel, None)
            self._held[channel] = data
        while len(self._held) > self.MAX_HELD:  # the oldest go: the receivers' poll finds them
            del self._held[next(iter(self._held))]

    async def _send(self, data: bytes, channels: list[str]) -> None:
        raise NotImplementedError


class NotifyChannelsBackend(HoldingPublisher, AsyncPgChannelsBackend):
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
        with suppress(Exception):
            if self._publisher is not None:
                await asyncio.wait_for(self._publisher.close(), IO_TIMEOUT)
        with suppress(Exception):
            await asyncio.wait_for(super().on_shutdown(), IO_TIMEOUT)

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        """Stop listening; a listening connection that is gone or silent is not waited on."""
        channels = set(channels)
        try:
            await asyncio.wait_for(super().unsubscribe(channels), IO_TIMEOUT)
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            self._subscribed_channels -= channels
            log.warning("realtime_unlisten_failed", error=type(exc).__name__)

    async def _send(self, data: bytes, channels: list[str]) -> None:
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


REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


class ResilientRedisBackend(HoldingPublisher, RedisChannelsPubSubBackend):
    """Redis pub/sub that subscribes again by itself after Redis was lost (the stock backend's
    listener dies with its connection, and cross-replica notices stop until a restart).

    The channels wanted are kept here: while Redis is away, subscribing and unsubscribing only
    change that set, and the reconnection subscribes a fresh connection to all of it.
    """

    def __init__(self, redis: Redis) -> None:
        super().__init__(redis=redis)
        self._wanted: set[str] = set()
        self._pubsub: PubSub | None = None
        self._connected = True
        """False from a lost connection until the reconnection has subscribed again."""

    @property
    def _pub_sub(self) -> PubSub:
        if self._pubsub is None:
            self._pubsub = self._redis.pubsub()
        return self._pubsub

    async def subscribe(self, channels: Iterable[str]) -> None:
        channels = list(channels)
        self._wanted.update(channels)
        try:
            if self._connected:
                await asyncio.wait_for(self._pub_sub.subscribe(*channels), IO_TIMEOUT)
        except (*REDIS_DOWN, TimeoutError) as exc:
            self._lost(exc)
        finally:  # listening starts once the connection exists (or is known lost)
            self._has_subscribed.set()

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        channels = list(channels)
        self._wanted.difference_update(channels)
        if not self._wanted:
            self._has_subscribed.clear()
        if self._connected:
            try:
                await asyncio.wait_for(self._pub_sub.unsubscribe(*channels), IO_TIMEOUT)
            except (*REDIS_DOWN, TimeoutError) as exc:
                self._lost(exc)

    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        while True:
            await self._has_subscribed.wait()
            if self._connected:
                try:
                    message = await self._pub_sub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                except (*REDIS_DOWN, RuntimeError) as exc:  # RuntimeError: it has no connection
                    self._lost(exc)
                    continue
                if message is not None and message.get("type") == "message":
                    channel = message["channel"].decode()
                    if channel in self._wanted:
                        yield channel, message["data"]
                continue
            await self._reconnect()
            for channel in sorted(self._wanted):  # notices may have been lost: look at the feed
                yield channel, MAYBE_MISSED

    def _lost(self, exc: BaseException) -> None:
        if self._connected:
            self._connected = False
            log.warning("realtime_redis_lost", error=type(exc).__name__)

    async def _reconnect(self) -> None:
        """A new pub/sub connection subscribed to every wanted channel, retried with backoff."""
        for attempt in itertools.count():
            await self._drop_pubsub()
            await asyncio.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
            try:
                wanted = list(self._wanted)
                if wanted:
                    await asyncio.wait_for(self._pub_sub.subscribe(*wanted), IO_TIMEOUT)
                else:
                    await asyncio.wait_for(self._redis.ping(), IO_TIMEOUT)
            except (*REDIS_DOWN, TimeoutError) as exc:
                if attempt == 0:
                    log.info("realtime_redis_reconnect_failed", error=type(exc).__name__)
                continue
            self._connected = True
            log.info("realtime_redis_reconnected", channels=len(self._wanted), attempts=attempt + 1)
            return

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with suppress(Exception):
                await asyncio.wait_for(pubsub.aclose(), IO_TIMEOUT)

    async def _send(self, data: bytes, channels: list[str]) -> None:
        await RedisChannelsPubSubBackend.publish(self, data, channels)

    async def on_shutdown(self) -> None:
        await self._drop_pubsub()
        with suppress(Exception):
            await asyncio.wait_for(self._redis.aclose(), IO_TIMEOUT)


def create_channels(settings: Settings) -> ChannelsPlugin:
    """Redis pub/sub when `TASKLY_REDIS_URL` is set, else Postgres LISTEN/NOTIFY."""
    if settings.redis_url:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import ConstantBackoff

        backend: ChannelsBackend = ResilientRedisBackend(Redis.from_url(
            settings.redis_url, socket_connect_timeout=IO_TIMEOUT,
            socket_timeout=IO_TIMEOUT, retry=Retry(ConstantBackoff(0.05), 1)))
    else:
        assert settings.database_url, "the realtime backend needs a database URL"
        backend = NotifyChannelsBackend(plain_dsn(settings.database_url))
    return ChannelsPlugin(backend=backend, arbitrary_channels_allowed=True)
