"""`pr_comments`, a feed consumer: a card change that links a pull request, or changes what the
pull request's Taskly comment shows (key, title, column, assignees), queues `sync_pr_comment` for
each of the card's pull requests, after the batch commits (comments.py does the GitHub side).

The write paths know nothing of it: webhooks linking a PR, reconcile, moves, edits and offline
writes all reach it through the change feed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row

from ...lib.consumers import Consumer, ConsumerContext
from .comments import comment_job

SHOWN = ("pull_requests", "title", "column", "column_id", "assignees", "key", "number", "deleted_at")
"""Card fields whose change may change the comment."""


async def handle(ctx: ConsumerContext, changes: Sequence[Row[Any]]) -> None:
    pulls: dict[str, int] = {}
    for change in changes:
        for pull in (change.data or {}).get("pull_requests") or []:
            if isinstance(pull, dict) and pull.get("id"):
                pulls[str(pull["id"])] = change.seq
    if not pulls or ctx.queue is None:
        return

    async def enqueue() -> None:
        for pull_id, seq in pulls.items():
            await ctx.queue.saq.enqueue(comment_job(pull_id, seq))

    ctx.after_commit.append(enqueue)
    ctx.effects += len(pulls)


WHERE = ("entity_type = 'card' AND changes ?| array['" + "', '".join(SHOWN) + "']"
         " AND jsonb_typeof(data->'pull_requests') = 'array' AND data->'pull_requests' <> '[]'::jsonb")
"""Card changes that may change a linked pull request's comment (most cards have no PR)."""

CONSUMER = Consumer(name="pr_comments", handle=handle, actor="pr comments", where=WHERE)
