"""Storing a verified delivery (its GitHub delivery id is unique) and queueing its processing.

A redelivery, also one racing the first, hits the unique index and is not stored or processed
again; while the first is still unprocessed its job is queued again under the same key (a no-op
while queued or running), so a crash between storing and queueing heals on redelivery.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any, Literal

import asyncpg
from saq import Job
from sqlalchemy.ext.asyncio import AsyncEngine
from taskly_shared.errors import ErrorCode

from ...errors import DomainError
from ...lib.jobs import JOB_DEFAULTS, JobQueue

JOB = "process_webhook"
JOB_OPTIONS: dict[str, Any] = {**JOB_DEFAULTS, "timeout": 30, "ttl": 600}
"""Results are kept ten minutes: deliveries come in thousands, the delivery row keeps the outcome."""

INSERT = """
    INSERT INTO webhook_deliveries
        (id, delivery_id, event, action, repository_id, payload, received_at, processed_at, outcome)
    VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, now(),
            CASE WHEN $7 THEN now() END, CASE WHEN $7 THEN 'ignored' END)
    ON CONFLICT (delivery_id) DO NOTHING
    RETURNING id
"""
PROCESSED = "SELECT processed_at IS NOT NULL FROM webhook_deliveries WHERE delivery_id = $1"


class QueueUnavailable(DomainError):
    status, code, title = 503, ErrorCode.UNAVAILABLE, "Service unavailable"


def job_key(delivery_id: str) -> str:
    return f"webhook:{delivery_id}"


async def store(engine: AsyncEngine, *, delivery_id: str, event: str, action: str | None,
                repository_id: uuid.UUID, payload_text: str, payload: Any,
                ignored: bool) -> Literal["new", "duplicate", "pending"]:
    """`new`: stored now; `duplicate`: stored and processed before; `pending`: stored, not processed."""
    values = [uuid.uuid4(), delivery_id, event, action, repository_id, payload_text, ignored]
    async with engine.connect() as connection:
        # the driver's connection with no transaction open: each statement commits on its own,
        # at a fifth of the CPU of the same statement through SQLAlchemy
        driver = (await connection.get_raw_connection()).driver_connection
        try:
            inserted = await driver.fetchval(INSERT, *values)
        except asyncpg.DataError:  # JSON that jsonb refuses (a \u0000 escape): store it without NULs
            values[5] = json.dumps(_without_nul(payload))
            inserted = await driver.fetchval(INSERT, *values)
        if inserted is not None:
            return "new"
        processed = await driver.fetchval(PROCESSED, delivery_id)
    return "duplicate" if processed or ignored else "pending"


async def enqueue(queue: JobQueue, delivery_id: str, repository_ids: Sequence[uuid.UUID]) -> None:
    """Queue `process_webhook` keyed by the delivery id (a duplicate key collapses)."""
    job = Job(function=JOB, key=job_key(delivery_id),
              kwargs={"delivery_id": delivery_id, "repository_ids": [str(r) for r in repository_ids]},
              **JOB_OPTIONS)
    try:
        await queue.saq.enqueue(job)
    except Exception as exc:  # the delivery is stored: a redelivery queues it again
        raise QueueUnavailable("the job queue is unavailable; the delivery is stored and will be "
                               f"processed when GitHub redelivers it ({type(exc).__name__})") from None


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value
