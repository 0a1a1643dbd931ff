"""Jobs of the change feed: pruning it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, null, select, update

from ...db.base import utcnow
from ...db.models import Change, Workspace


async def prune_feed(ctx: dict[str, Any], *, retention_days: float | None = None,
                     workspace_id: str | None = None) -> dict[str, Any]:
    """Retire the sync payload of changes older than the retention; the activity log keeps its rows.

    A Change row is two things: a sync record (`data`, the whole entity after the change, the bulk
    of the feed) and an activity/audit entry (op, fields with old and new values, actor, time).
    Per workspace, everything up to the newest seq older than the cutoff is pruned: those rows
    lose `data`, and `workspace.feed_floor` rises to that seq, so the feed answers 410 to older
    cursors (the client reloads the snapshot) and never serves a row without its payload. Rows are
    not deleted: card activity, `taskly log` and sprint burndown still read them. Idempotent.
    `workspace_id` limits the run to one workspace (every workspace when absent).
    """
    settings = ctx["settings"]
    days = settings.feed_retention_days if retention_days is None else retention_days
    cutoff = utcnow() - timedelta(days=days)
    pruned_workspaces = 0
    pruned_changes = 0
    query = (
        select(Change.workspace_id, func.max(Change.seq))
        .join(Workspace, Workspace.id == Change.workspace_id)
        .where(Change.created_at < cutoff, Change.seq > Workspace.feed_floor)
        .group_by(Change.workspace_id)
    )
    if workspace_id is not None:
        query = query.where(Change.workspace_id == uuid.UUID(str(workspace_id)))
    async with ctx["sessionmaker"]() as db:
        candidates = (await db.execute(query)).all()
    for workspace_id, floor in candidates:
        # First raise the floor (a short transaction: writers of the workspace barely wait), so no
        # reader is served a row below it; then strip the payloads below it.
        async with ctx["sessionmaker"]() as db, db.begin():
            old_floor = await db.scalar(
                select(Workspace.feed_floor).where(Workspace.id == workspace_id).with_for_update()
            )
            if old_floor is None or old_floor >= floor:
                continue
            await db.execute(update(Workspace).where(Workspace.id == workspace_id)
                             .values(feed_floor=floor))
        async with ctx["sessionmaker"]() as db, db.begin():
            result = await db.execute(
                update(Change)
                .where(Change.workspace_id == workspace_id, Change.seq > old_floor,
                       Change.seq <= floor)
                .values(data=null())
            )
        pruned_workspaces += 1
        pruned_changes += result.rowcount or 0
    return {"cutoff": cutoff.isoformat(), "retention_days": days,
            "workspaces": pruned_workspaces, "changes": pruned_changes}
