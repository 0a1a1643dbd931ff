"""`process_webhook`: one stored GitHub delivery applied, exactly once.

The job claims its delivery row (marked processed, locked to commit) in the same transaction as
every change it makes, so a duplicate job, a redelivery or a retry after a crash either waits and
then finds it processed, or does the whole work itself: never half, never twice.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import structlog

from ...lib.jobs import Announcer
from ...lib.mutation import Mutation
from .processing import DeliveryProcessor, PayloadError
from .queries import PullStore

log = structlog.get_logger("taskly.webhooks")


async def process_webhook(ctx: dict[str, Any], *, delivery_id: str,
                          repository_ids: list[str] | None = None) -> dict[str, Any]:
    """Apply the delivery to each repository it was verified for; a summary of what changed."""
    announcer = Announcer(ctx)
    async with ctx["sessionmaker"]() as db, db.begin():
        store, claimed = await PullStore.claim(db, delivery_id)
        if claimed is None:
            return {"delivery_id": delivery_id, "outcome": "already processed or unknown"}
        row_id, event, action, repository_id, payload_text = claimed
        ids = [uuid.UUID(r) for r in repository_ids or []] or ([repository_id] if repository_id else [])
        repositories = await store.repositories(ids) if ids else []
        mutation = Mutation(db, actor_type="automation", actor_id=None, actor_name="github",
                            delivery_id=delivery_id)
        summary: dict[str, Any] = {"delivery_id": delivery_id, "event": event, "action": action,
                                   "moved": [], "skipped": [], "notes": []}
        error = None
        try:
            payload = msgspec.json.decode(payload_text) if payload_text else {}
            if not isinstance(payload, dict):
                raise PayloadError("the payload is not a JSON object")
            for repository in repositories:
                processor = DeliveryProcessor(mutation, store, repository)
                effects = await processor.run(event, action, payload)
                summary["notes"] += processor.notes
                if effects is not None:
                    summary["moved"] += [{"card": m.key, "column": m.column, "rule": m.rule}
                                         for m in effects.moved]
                    summary["skipped"] += effects.skipped
        except (PayloadError, msgspec.DecodeError) as exc:  # raised before anything was written
            mutation.pending.clear()
            error = str(exc)[:1000]
        summary["outcome"] = outcome = _outcome(summary, repositories, error)
        await store.record_outcome(row_id, outcome, error)
        await mutation.flush()
        if not announcer.redis:  # Redis: published after commit, below
            await store.notify(mutation.committed_seqs)
    await announcer.after_commit(mutation.committed_seqs)
    if error is not None:
        log.warning("webhook_invalid_payload", delivery_id=delivery_id, event=event, error=error)
    return summary


def _outcome(summary: dict[str, Any], repositories: list, error: str | None) -> str:
    if not repositories:
        return "repository not connected"
    if error is not None:
        return "invalid payload"
    if summary["moved"]:
        return f"moved {len(summary['moved'])} card(s)"
    if summary["notes"]:
        return summary["notes"][0]
    return "processed"


JOBS = [process_webhook]
