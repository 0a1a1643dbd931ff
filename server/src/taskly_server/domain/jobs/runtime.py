"""What job functions share: clear failures, a heartbeat while they wait, realtime notices.

A job that fails sets a one-line reason in `job.meta["error"]` (SAQ itself stores a traceback)
and says whether another attempt may help; a permanent failure spends the remaining attempts.
Changes a job commits are announced to the servers' realtime fan-out like a request's are:
NOTIFY inside the transaction on the Postgres backend, PUBLISH after commit on Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import structlog
from sqlalchemy import String, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ...realtime.channels import Notice, channel_name

log = structlog.get_logger("taskly.jobs")

HEARTBEAT = 5
"""Seconds without a sign of life after which a running GitHub job counts as lost (its worker
died) and the next sweep of a worker retries it."""


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
