"""The card side of create_branch: record the branch, assign the starter, move the card.

Each card's change is one transaction with its Change row and realtime notice, as SPEC §4 asks.
When other branch jobs of the same worker reach this point while a commit is running, their
changes share the next transaction: one BEGIN, one column lock, one numbering of the Changes,
one notice and one COMMIT for all of them instead of one each. A round trip to Postgres costs
~0.2 ms of CPU on each side here, and the column and workspace rows every start locks made the
starts queue up behind each other's commits. A lone job still commits at once; when a shared
transaction fails, each change is committed again on its own, so only the one at fault fails.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import bindparam, select
from taskly_shared.models import CardOut

from ...batching import Batches
from ...db.models import Card
from ..cards.services import CardService
from ..jobs.runtime import Announcer
from ..sync.mutation import Mutation

log = structlog.get_logger("taskly.jobs")

MAX_BATCH = 32
"""Starts per transaction at most: their cards stay locked to its commit."""
_LOCK_CARDS = (select(Card.id).where(Card.id.in_(bindparam("card_ids", expanding=True)))
               .order_by(Card.id).with_for_update())
"""A batch locks all its cards first, in id order (as bulk edits do), then their column: so it
never holds a column while it waits for a card that a move holding that card waits to place."""

Started = tuple[CardOut | None, bool]


@dataclass(frozen=True, slots=True)
class Starter:
    """Who starts the card: the change is theirs, and they are assigned."""

    id: uuid.UUID
    username: str


@dataclass(frozen=True, slots=True)
class _Start:
    user: Starter
    card_id: uuid.UUID
    branch: str


class CardStarts:
    """One per worker process (in the job context as `card_starts`)."""

    def __init__(self, ctx: dict[str, Any]) -> None:
        self.ctx = ctx
        self.batches: Batches[_Start, Started] = Batches(self._commit, MAX_BATCH)

    async def start(self, user: Starter, card_id: uuid.UUID, branch: str) -> Started:
        """`CardService.start` for this card, committed; the card (None when gone) and whether
        it changed."""
        return await self.batches.submit(_Start(user, card_id, branch))

    async def _commit(self, batch: list[_Start]) -> list[Started | Exception]:
        try:
            return list(await commit_starts(self.ctx, batch))
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
    """One transaction: every start, each change attributed to its starter, then the notices."""
    announcer = Announcer(ctx)
    results: list[Started] = []
    async with ctx["sessionmaker"]() as db, db.begin():
        if len(starts) > 1:
            await db.execute(_LOCK_CARDS, {"card_ids": sorted({start.card_id for start in starts})})
        mutations: dict[uuid.UUID, Mutation] = {}
        services: dict[uuid.UUID, CardService] = {}
        for start in starts:
            user = start.user
            if user.id not in mutations:
                mutations[user.id] = Mutation(db, actor_type="user", actor_id=user.id,
                                              actor_name=user.username)
                services[user.id] = CardService(mutations[user.id])
            results.append(await services[user.id].start(start.card_id, user.id, start.branch))
        mutation, *others = mutations.values()
        for other in others:  # one numbering of every start's Change rows
            for workspace_id, rows in other.pending.items():
                mutation.pending[workspace_id].extend(rows)
            other.pending.clear()
        await mutation.flush()
        await announcer.before_commit(db, mutation.committed_seqs)
    await announcer.after_commit(mutation.committed_seqs)
    return results


async def start_card(ctx: dict[str, Any], user: Starter, card_id: uuid.UUID, branch: str) -> Started:
    """Through the worker's `CardStarts` when it has one, else in a transaction of its own."""
    starts: CardStarts | None = ctx.get("card_starts")
    if starts is not None:
        return await starts.start(user, card_id, branch)
    [result] = await commit_starts(ctx, [_Start(user, card_id, branch)])
    return result
