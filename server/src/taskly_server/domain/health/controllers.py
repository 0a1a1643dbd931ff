"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from litestar import get
from litestar.datastructures import State
from sqlalchemy import text
from taskly_shared.errors import ErrorCode

from ...db.session import head_revision
from ...errors import DomainError

CHECK_TIMEOUT = 2.0
"""Seconds each dependency has to answer the readiness probe."""


class NotReady(DomainError):
    status, code, title = 503, ErrorCode.UNAVAILABLE, "Not ready"


@get("/health/live", exclude_from_auth=True, sync_to_thread=False, include_in_schema=True)
def live() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@get("/health/ready")
async def ready(state: State) -> dict[str, str]:
    """The database answers and its schema is at the newest migration; Redis answers, when
    configured. Each dependency's status is in the body (`ok`, or what failed), 503 unless all are ok."""
    head = state.get("migration_head")
    if head is None:
        head = state.migration_head = await asyncio.to_thread(head_revision)
    checks = [_database(state), *([_redis(state)] if state.settings.redis_url else [])]
    (database, current), *redis = await asyncio.gather(*checks)
    statuses = {"database": database, **({"redis": redis[0]} if redis else {})}
    failing = [f"{name} {status}" for name, status in statuses.items() if status != "ok"]
    if failing:
        raise NotReady("; ".join(failing), **statuses)
    if current != head:
        raise NotReady(f"database schema is at {current}, the code expects {head}", **statuses)
    return {"status": "ok", **statuses, "migration": current}


async def _database(state: State) -> tuple[str, str | None]:
    """("ok", the schema's migration) or (what failed, None)."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            async with state.engine.connect() as connection:
                current = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}", None
    return "ok", current


async def _redis(state: State) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await state.queue.ping()
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"


ROUTES = [live, ready]
