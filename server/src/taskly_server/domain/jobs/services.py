"""Enqueueing jobs on behalf of a user, and reading them back (`GET /api/v1/jobs/{id}`).

A job's id is its SAQ key (`branch:<card id>`, `repo:<workspace id>:<owner/name>` …): asking for
the same work again while it is queued or running returns the same job. Its `meta` names the
user who enqueued it and, for work teammates may share (a branch of a card), the workspace and
the role that may follow it too; everyone else gets 404.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from saq import Job
from saq.job import Status
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import JobOut, JobStatus, Role

from ...errors import NotFound
from ...lib.access import ROLE_RANK, member_role
from ...lib.jobs import JOB_DEFAULTS, JobQueue
from ...lib.principal import Principal

STATUSES = {Status.NEW: JobStatus.QUEUED,
            Status.QUEUED: JobStatus.QUEUED, Status.ACTIVE: JobStatus.ACTIVE,
            Status.ABORTING: JobStatus.ACTIVE, Status.ABORTED: JobStatus.ABORTED,
            Status.FAILED: JobStatus.FAILED, Status.COMPLETE: JobStatus.COMPLETE}
JOB_ID = re.compile(r"[\x21-\x7e]{1,300}")
"""Job ids are keys like `branch:<uuid>`: printable ASCII."""


async def enqueue(queue: JobQueue, function: str, kwargs: dict[str, Any], *, key: str,
                  user_id: uuid.UUID, workspace_id: uuid.UUID | None = None,
                  shared_with: Role | None = None, options: dict[str, Any] | None = None) -> Job:
    """Queue `function(**kwargs)` under `key`, or return the job already queued or running there.

    `shared_with`: members of `workspace_id` with this role or higher may read the job too.
    `options`: SAQ job settings over JOB_DEFAULTS (timeout, retries, heartbeat, ttl …).
    """
    meta = {"user_id": str(user_id)}
    if workspace_id is not None:
        meta["workspace_id"] = str(workspace_id)
    if shared_with is not None:
        meta["shared_with"] = shared_with.value
    for _ in range(3):
        job = Job(function=function, kwargs=kwargs, key=key, meta=dict(meta),
                  **{**JOB_DEFAULTS, **(options or {})})
        queued = await queue.saq.enqueue(job)
        if queued is not None:
            return queued
        existing = await queue.job(key)
        if existing is not None:
            return existing
    raise NotFound("the job could not be queued; try again")  # pragma: no cover - a 3-way race


def job_out(job: Job, result: Any) -> JobOut:
    """The job on the wire, with `result` as the caller may see it."""
    error = job.meta.get("error") or _last_line(job.error)
    status = STATUSES.get(job.status, JobStatus.QUEUED)
    return JobOut(id=job.key, function=job.function, status=status,
                  result=result,
                  error=error if status != JobStatus.COMPLETE else None,
                  attempts=job.attempts, retries=job.retries)


def _last_line(error: str | None) -> str | None:
    """The exception line of a traceback, without the exception's module path."""
    if not error:
        return None
    lines = [line for line in error.strip().splitlines() if line.strip()]
    last = lines[-1].strip() if lines else ""
    name, sep, message = last.partition(": ")
    if sep and "." in name and " " not in name:
        last = f"{name.rsplit('.', 1)[-1]}: {message}"
    return last[:500] or None


class JobService:
    def __init__(self, db: AsyncSession, queue: JobQueue) -> None:
        self.db = db
        self.queue = queue

    async def get(self, principal: Principal, job_id: str) -> Job:
        """The job, if the caller enqueued it or may follow it; 404 otherwise."""
        job = await self.queue.job(job_id) if JOB_ID.fullmatch(job_id) else None
        if job is None or not await self.visible(principal, job):
            raise NotFound("job not found")
        return job

    async def visible(self, principal: Principal, job: Job) -> bool:
        meta = job.meta or {}
        if meta.get("user_id") == str(principal.user_id):
            return True
        shared_with, workspace = meta.get("shared_with"), meta.get("workspace_id")
        if not shared_with or not workspace:
            return False
        try:
            role = await member_role(self.db, uuid.UUID(workspace), principal.user_id)
            return role is not None and ROLE_RANK[role] >= ROLE_RANK[Role(shared_with)]
        except ValueError:
            return False

    @staticmethod
    def enqueued_by(principal: Principal, job: Job) -> bool:
        return (job.meta or {}).get("user_id") == str(principal.user_id)
