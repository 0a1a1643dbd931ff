"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from litestar import get
from litestar.datastructures import State
from sqlalchemy import text
from taskly_shared.errors import ErrorCode

from ...db.session import head_revision
from ...errors import DomainError


class NotReady(DomainError):
    status, code, title = 503, ErrorCode.UNAVAILABLE, "Not ready"


@get("/health/live", exclude_from_auth=True, sync_to_thread=False, include_in_schema=True)
def live() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@get("/health/ready")
async def ready(state: State) -> dict[str, str]:
    """The database answers and its schema is at the newest migration."""
    head = state.get("migration_head")
    if head is None:
        head = state.migration_head = await asyncio.to_thread(head_revision)
    try:
        async with state.engine.connect() as connection:
            current = await asyncio.wait_for(
                connection.scalar(text("SELECT version_num FROM alembic_version")), timeout=2
            )
    except Exception as exc:
        raise NotReady(f"database unreachable: {type(exc).__name__}") from None
    if current != head:
        raise NotReady(f"database schema is at {current}, the code expects {head}")
    return {"status": "ok", "database": "ok", "migration": current}


ROUTES = [live, ready]
