"""`process_webhook`: one stored GitHub delivery applied, exactly once.

The job claims its delivery row (locked to commit) and marks it processed in the same transaction
as every change it makes, so a duplicate job, a redelivery or a retry after a crash either waits
and then finds it processed, or does the whole work itself: never half, never twice.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import structlog
from sqlalchemy import cast, select, update
from sqlalchemy.types import Text

from ...db.base import utcnow
from ...db.models import Repository, WebhookDelivery
from ..jobs.runtime import Announcer
from ..sync.mutation import Mutation
from .processing import DeliveryProcessor, PayloadError

log = structlog.get_logger("taskly.webhooks")


async def process_webhook(ctx: dict[str, Any], *, delivery_id: str,
                          repository_ids: list[str] | None = None) -> dict[str, Any]:
    """Apply the delivery to each repository it was verified for; a summary of what changed."""
    announcer = Announcer(ctx)
    async with ctx["sessionmaker"]() as db, db.begin():
        row = (await db.execute(
            select(WebhookDelivery.id, WebhookDelivery.event, WebhookDelivery.action,
                   WebhookDelivery.processed_at, WebhookDelivery.repository_id,
                   cast(WebhookDelivery.payload, Text))
            .where(WebhookDelivery.delivery_id == delivery_id).with_for_update()
        )).first()
        if row is None:
            return {"delivery_id": delivery_id, "outcome": "unknown delivery"}
        if row.processed_at is not None:
            return {"delivery_id": delivery_id, "outcome": "already processed"}
        ids = [uuid.UUID(r) for r in repository_ids or []] or ([row.repository_id] if row.repository_id else [])
        repositories = (await db.scalars(
            select(Repository).where(Repository.id.in_(ids), Repository.active.is_(True))
            .order_by(Repository.id))).all() if ids else []
        mutation = Mutation(db, actor_type="automation", actor_id=None, actor_name="github",
                            delivery_id=delivery_id)
        summary: dict[str, Any] = {"delivery_id": delivery_id, "event": row.event, "action": row.action,
                                   "moved": [], "skipped": [], "notes": []}
        error = None
        try:
            payload = msgspec.json.decode(row[5]) if row[5] else {}
            if not isinstance(payload, dict):
                raise PayloadError("the payload is not a JSON object")
            for repository in repositories:  # payloads are decoded before anything is written
                processor = DeliveryProcessor(mutation, repository)
                effects = await processor.run(row.event, row.action, payload)
                summary["notes"] += processor.notes
                if effects is not None:
                    summary["moved"] += [vars_of(m) for m in effects.moved]
                    summary["skipped"] += effects.skipped
        except (PayloadError, msgspec.DecodeError) as exc:
            mutation.pending.clear()
            error = str(exc)[:1000]
        if not repositories:
            outcome = "repository not connected"
        elif error is not None:
            outcome = "invalid payload"
        else:
            outcome = _outcome(summary)
        summary["outcome"] = outcome
        await db.execute(update(WebhookDelivery).where(WebhookDelivery.id == row.id).values(
            processed_at=utcnow(), outcome=outcome[:64], error=error))
        await mutation.flush()
        await announcer.before_commit(db, mutation.committed_seqs)
    await announcer.after_commit(mutation.committed_seqs)
    if error is not None:
        log.warning("webhook_invalid_payload", delivery_id=delivery_id, event=row.event, error=error)
    return summary


def vars_of(moved: Any) -> dict[str, str]:
    return {"card": moved.key, "column": moved.column, "rule": moved.rule}


def _outcome(summary: dict[str, Any]) -> str:
    if summary["moved"]:
        return f"moved {len(summary['moved'])} card(s)"
    if summary["notes"]:
        return summary["notes"][0]
    return "processed"


JOBS = [process_webhook]
