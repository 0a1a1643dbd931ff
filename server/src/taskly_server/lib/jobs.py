"""The job runtime: the queue jobs go through (`JobQueue`), and what job functions share: clear
failures, a heartbeat while they wait, realtime notices.

A job that fails by design raises `fail(...)`: a `JobFailed` with a one-line reason, also kept in
`job.meta["error"]`, saying whether another attempt may help (a permanent failure spends the
remaining attempts). Such a failure is stored and logged as that one line (the queues in
lib/queues.py, `QuietJobFailures`), not as the traceback SAQ keeps of any other exception.
Changes a job commits are announced to the servers' realtime fan-out like a request's are:
NOTIFY inside the transaction on the Postgres backend, PUBLISH after commit on Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import structlog
from saq import Job, Queue
from sqlalchemy import String, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .notices import NOTIFICATIONS_CHANNEL, Notice, UserNotice, channel_name

log = structlog.get_logger("taskly.jobs")

JOB_DEFAULTS: dict[str, Any] = {"timeout": 60, "retries": 4, "retry_delay": 1.0,
                                "retry_backoff": 60.0, "ttl": 24 * 3600}
"""Every job: up to 4 attempts with jittered exponential backoff (1 s, 2 s, 4 s, capped at 60 s)."""
HEARTBEAT = 5
"""Seconds without a sign of life after which a running GitHub job counts as lost (its worker
died) and the next sweep of a worker retries it."""


class JobQueue:
    """What the server and jobs enqueue through; duplicates by `key` collapse (returns None)."""

    def __init__(self, queue: Queue) -> None:
        self.saq = queue

    async def enqueue(self, name: str, *, key: str | None = None, **kwargs: Any) -> Job | None:
        """Queue job `name` with keyword arguments `kwargs`; None when `key` is already queued or running."""
        job = Job(function=name, kwargs=kwargs, **JOB_DEFAULTS)
        if key is not None:
            job.key = key
        return await self.saq.enqueue(job)

    async def job(self, key: str) -> Job | None:
        return await self.saq.job(key)

    async def ping(self) -> None:
        """One round trip to the queue's Redis (raises when it is down); the Postgres queue's
        database is checked with the server's own."""
        redis = getattr(self.saq, "redis", None)
        if redis is not None:
            await redis.ping()


class JobFailed(Exception):
    """A job attempt failed for the reason given (already one line, fit for a user)."""


def fail(ctx: dict[str, Any], message: str, *, retry: bool) -> JobFailed:
    """The exception to raise: records `message`, and spends the attempts left unless `retry`."""
    job = ctx.get("job")
    if job is not None:
        job.meta["error"] = message
        if not retry:
            job.retries = job.attempts
    return JobFailed(message)


class JobDeferred(JobFailed):
    """Not a failure: the job waits (GitHub's rate limit) and runs again at a given time, without
    spending an attempt."""


def defer(ctx: dict[str, Any], until: float, reason: str) -> JobDeferred:
    """The exception to raise to run the job again at `until` (epoch seconds); the attempt is not
    counted and the job's own retry policy comes back at the next attempt (`restore_retry_policy`)."""
    job = ctx.get("job")
    message = f"{reason}; the job runs again at " + time.strftime("%H:%M:%S UTC", time.gmtime(until))
    if job is not None:
        job.meta.setdefault("retry_policy", [job.retry_delay, job.retry_backoff])
        job.meta["error"] = message
        job.meta["deferred_until"] = until
        job.retries += 1
        job.retry_delay = max(until - time.time(), 1.0)
        job.retry_backoff = False
    return JobDeferred(message)


def restore_retry_policy(job: Job) -> None:
    """After a deferral: the job's own retry delays again."""
    policy = job.meta.pop("retry_policy", None)
    if policy is not None:
        job.retry_delay, job.retry_backoff = policy
        job.meta.pop("deferred_until", None)


class QuietJobFailures(logging.Filter):
    """For SAQ's logger: drops its ERROR-with-traceback for a `JobFailed`, a failure by design the
    worker logs as one WARNING line of its own (`job_failed`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], JobFailed))

    @classmethod
    def install(cls, logger: logging.Logger) -> None:
        if not any(isinstance(existing, cls) for existing in logger.filters):
            logger.addFilter(cls())


def succeeded(ctx: dict[str, Any]) -> None:
    """Clear the reason of an earlier failed attempt."""
    job = ctx.get("job")
    if job is not None:
        job.meta.pop("error", None)


@contextlib.asynccontextmanager
async def heartbeat(ctx: dict[str, Any]) -> AsyncIterator[None]:
    """Touch the job while the body runs, so a sweep tells a slow job from a dead worker's."""
    job = ctx.get("job")
    if job is None or not job.heartbeat:
        yield
        return

    async def beat() -> None:
        while True:
            await asyncio.sleep(job.heartbeat / 3)
            try:
                await job.update()
            except Exception as exc:  # a missed beat at worst gets the job retried
                log.warning("job_heartbeat_failed", job=job.function, error=type(exc).__name__)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


_NOTIFY = select(func.pg_notify(bindparam("channel", type_=String), bindparam("payload", type_=String)))
"""Built once: building and keying the statement on every call cost ~0.4 ms a notice."""


class Announcer:
    """Realtime notices for the changes one job commits."""

    def __init__(self, ctx: dict[str, Any]) -> None:
        self.redis = ctx["settings"].redis_url is not None
        queue = ctx.get("queue")
        self.client = getattr(getattr(queue, "saq", None), "redis", None) if self.redis else None

    async def before_commit(self, db: AsyncSession, committed_seqs: dict[uuid.UUID, int]) -> None:
        """Postgres: NOTIFY in the transaction, delivered exactly when it commits."""
        if self.redis:
            return
        for workspace_id, seq in committed_seqs.items():
            await db.execute(_NOTIFY, {"channel": channel_name(workspace_id),
                                       "payload": Notice(workspace_id, seq).encode().decode()})

    async def after_commit(self, committed_seqs: dict[uuid.UUID, int]) -> None:
        """Redis: PUBLISH once committed; a lost notice is healed by the servers' feed poll."""
        if not self.redis or self.client is None:
            return
        for workspace_id, seq in committed_seqs.items():
            try:
                notice = Notice(workspace_id, seq).encode()
                await self.client.publish(channel_name(workspace_id), notice)
            except Exception as exc:
                log.warning("realtime_notice_not_published", workspace_id=str(workspace_id),
                            error=type(exc).__name__)

    async def users_before_commit(self, db: AsyncSession, newest: dict[uuid.UUID, int]) -> None:
        """Postgres: NOTIFY each user's newest notification seq, delivered when it commits."""
        if self.redis:
            return
        for user_id, seq in newest.items():
            await db.execute(_NOTIFY, {"channel": NOTIFICATIONS_CHANNEL,
                                       "payload": UserNotice(user_id, seq).encode().decode()})

    async def users_after_commit(self, newest: dict[uuid.UUID, int]) -> None:
        """Redis: PUBLISH once committed; a socket that misses one catches up when it reconnects."""
        if not self.redis or self.client is None:
            return
        for user_id, seq in newest.items():
            try:
                await self.client.publish(NOTIFICATIONS_CHANNEL, UserNotice(user_id, seq).encode())
            except Exception as exc:
                log.warning("notification_notice_not_published", error=type(exc).__name__)
