"""Rate limits: a token bucket per user and per client IP, in Redis when configured, else in process.

Each key (`user:<id>`, `ip:<address>`) holds a bucket of `limit` requests that refills evenly over
the window (GCRA: one timestamp per key, the "theoretical arrival time"). A full bucket lets a
burst of `limit` requests through; after that one request per `window / limit` seconds. With
`TASKLY_REDIS_URL` the buckets live in Redis, updated by one Lua script per request (atomic, on
Redis's clock), so every replica counts against the same limit; without it, in this process.

Redis failing must not take the API down with it: a request whose bucket cannot be read is let
through (fail open) and one warning is logged per minute.
"""

from __future__ import annotations

import math
import time
from typing import Any, Protocol

import structlog

from ..settings import Settings

log = structlog.get_logger("taskly.rate_limits")

WINDOWS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}
MEMORY_KEYS = 100_000
"""Buckets kept in process before the full ones (idle long enough to refill) are dropped."""
REDIS_TIMEOUT = 0.5
WARN_EVERY = 60.0

_GCRA = """
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next_tat = tat + interval
local allowed_at = next_tat - interval * burst
if now < allowed_at then return allowed_at - now end
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', math.ceil(next_tat - now) + 1)
return 0
"""
"""Milliseconds until the request would be allowed (0: allowed, and counted)."""


class Buckets(Protocol):
    async def take(self, key: str, interval_ms: int, burst: int) -> float: ...
    async def close(self) -> None: ...


class MemoryBuckets:
    """The buckets of one process."""

    def __init__(self) -> None:
        self.tats: dict[str, float] = {}

    async def take(self, key: str, interval_ms: int, burst: int) -> float:
        now = time.monotonic() * 1000
        tat = max(self.tats.get(key, now), now)
        allowed_at = tat + interval_ms - interval_ms * burst
        if now < allowed_at:
            return allowed_at - now
        if len(self.tats) >= MEMORY_KEYS:
            self.tats = {k: v for k, v in self.tats.items() if v > now}
        self.tats[key] = tat + interval_ms
        return 0.0

    async def close(self) -> None:
        self.tats.clear()


class RedisBuckets:
    """The buckets of every replica, in Redis (one round trip per request)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._client: Any = None
        self._script: Any = None

    async def take(self, key: str, interval_ms: int, burst: int) -> float:
        if self._script is None:
            from redis.asyncio import Redis

            self._client = Redis.from_url(self.url, socket_timeout=REDIS_TIMEOUT,
                                          socket_connect_timeout=REDIS_TIMEOUT)
            self._script = self._client.register_script(_GCRA)
        return float(await self._script(keys=[key], args=[interval_ms, burst]))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = self._script = None


class RateLimiter:
    """`check_user` and `check_ip`: None when the request may go on, else seconds to wait."""

    def __init__(self, settings: Settings, buckets: Buckets | None = None) -> None:
        self.user_limit = settings.rate_limit_user
        self.ip_limit = settings.rate_limit_ip
        self.window_ms = WINDOWS[settings.rate_limit_window] * 1000
        self.prefix = f"taskly:rate:{settings.queue_name}:"
        self.buckets = buckets or (RedisBuckets(settings.redis_url) if settings.redis_url else MemoryBuckets())
        self._warned_at = -math.inf

    @property
    def enabled(self) -> bool:
        return bool(self.user_limit or self.ip_limit)

    async def check_user(self, user_id: object) -> int | None:
        return await self._take(f"user:{user_id}", self.user_limit)

    async def check_ip(self, address: str) -> int | None:
        return await self._take(f"ip:{address}", self.ip_limit)

    async def _take(self, key: str, limit: int) -> int | None:
        if not limit:
            return None
        interval_ms = max(1, round(self.window_ms / limit))
        try:
            wait_ms = await self.buckets.take(self.prefix + key, interval_ms, limit)
        except Exception as exc:  # Redis down or slow: let the request through, say so now and then
            now = time.monotonic()
            if now - self._warned_at > WARN_EVERY:
                self._warned_at = now
                log.warning("rate_limit_unavailable", error=type(exc).__name__)
            return None
        return max(1, math.ceil(wait_ms / 1000)) if wait_ms > 0 else None

    async def close(self) -> None:
        await self.buckets.close()
