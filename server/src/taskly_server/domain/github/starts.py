"""The card side of create_branch: record the branch, assign the starter, move the card.

`taskly_start_cards` starts cards in one statement: each card records its branch and its starter
is assigned (when a member), then the one move function (`taskly_move_cards`, see
cards/placement.py) moves it to the bottom of the board's first in-progress column, or leaves it
where it is when it is in one already, and writes its one Change, attributed to its starter; a
card that records the branch already is left alone, a deleted or missing one answers nothing.
When other branch jobs of the same worker reach this point while a statement runs, their starts
make the next one (`batching.Batches`): one transaction, one numbering of the Changes, one notice
and one commit for all of them. When a shared statement fails, each start is made again on its
own, so only the one at fault fails.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import text

from ...lib.batching import Batches
from ...lib.jobs import Announcer
from ...lib.mutation import newest_seqs
from ..cards.edits import TRACKED_FIELDS

log = structlog.get_logger("taskly.jobs")

MAX_BATCH = 32
"""Starts per statement at most: their cards stay locked to its commit."""
_START_CARDS = text("SELECT out_body, out_changed, out_workspace, out_seq "
                    "FROM taskly_start_cards(:card_ids, :user_ids, :branches, :tracked)")

Started = tuple[dict[str, Any] | None, bool]
"""The card's wire form (`CardOut` as JSON; None when it is gone) and whether it changed."""


@dataclass(frozen=True, slots=True)
class _Start:
    user_id: uuid.UUID
    card_id: uuid.UUID
    branch: str


class CardStarts:
    """One per worker process (in the job context as `card_starts`)."""

    def __init__(self, ctx: dict[str, Any]) -> None:
        self.ctx = ctx
        self.batches: Batches[_Start, Started] = Batches(self._commit, MAX_BATCH)

    async def start(self, user_id: uuid.UUID, card_id: uuid.UUID, branch: str) -> Started:
        """Start the card in the next statement, committed."""
        return await self.batches.submit(_Start(user_id, card_id, branch))

    async def _commit(self, batch: list[_Start]) -> list[Started | Exception]:
        try:
            return await commit_starts(self.ctx, batch)
        except Exception as exc:
            if len(batch) == 1:
                return [exc]
            log.warning("card_starts_batch_failed", size=len(batch), error=type(exc).__name__)
        outcomes: list[Started | Exception] = []
        for start in batch:  # on its own, each start fails or succeeds by itself
            try:
                outcomes.extend(await commit_starts(self.ctx, [start]))
            except Exception as exc:
                outcomes.append(exc)
        return outcomes


async def commit_starts(ctx: dict[str, Any], starts: list[_Start]) -> list[Started]:
    """One transaction: the statement for every start, then the realtime notices."""
    announcer = Announcer(ctx)
    async with ctx["sessionmaker"]() as db, db.begin():
        rows = (await db.execute(_START_CARDS, {
            "card_ids": [start.card_id for start in starts],
            "user_ids": [start.user_id for start in starts],
            "branches": [start.branch for start in starts], "tracked": TRACKED_FIELDS,
        })).all()
        newest = newest_seqs((workspace_id, seq) for _, _, workspace_id, seq in rows)
        await announcer.before_commit(db, newest)
    await announcer.after_commit(newest)
    return [(json.loads(body) if body is not None else None, changed) for body, changed, _, _ in rows]


async def start_card(ctx: dict[str, Any], user_id: uuid.UUID, card_id: uuid.UUID,
                     branch: str) -> Started:
    """Through the worker's `CardStarts` when it has one, else in a statement of its own."""
    starts: CardStarts | None = ctx.get("card_starts")
    if starts is not None:
        return await starts.start(user_id, card_id, branch)
    [result] = await commit_starts(ctx, [_Start(user_id, card_id, branch)])
    return result
