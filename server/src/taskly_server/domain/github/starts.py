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

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import bindparam, select
from taskly_shared.models import CardOut

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


@dataclass(slots=True)
class _Start:
    user: Starter
    card_id: uuid.UUID
    branch: str
    done: asyncio.Future[Started]


class CardStarts:
    """One per worker process (in the job context as `card_starts`)."""

    def __init__(self, ctx: dict[str, Any]) -> None:
        self.ctx = ctx
        self.waiting: list[_Start] = []
        self.runner: asyncio.Task[None] | None = None

    async def start(self, user: Starter, card_id: uuid.UUID, branch: str) -> Started:
        """`CardService.start` for this card, committed; the card (None when gone) and whether
        it changed."""
        done: asyncio.Future[Started] = asyncio.get_running_loop().create_future()
        self.waiting.append(_Start(user, card_id, branch, done))
        if self.runner is None or self.runner.done():
            self.runner = asyncio.create_task(self._run(), name="card-starts")
        return await done

    async def _run(self) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting[:MAX_BATCH], self.waiting[MAX_BATCH:]
            try:
                results = await commit_starts(self.ctx, batch)
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0], error=exc)
                    continue
                log.warning("card_starts_batch_failed", size=len(batch), error=type(exc).__name__)
                for start in batch:  # on its own, each start fails or succeeds by itself
                    try:
                        [result] = await commit_starts(self.ctx, [start])
                    except Exception as single:
                        _settle(start, error=single)
                    else:
                        _settle(start, result)
            else:
                for start, result in zip(batch, results, strict=True):
                    _settle(start, result)


def _settle(start: _Start, result: Started | None = None, error: BaseException | None = None) -> None:
    if start.done.done():  # its job was cancelled meanwhile: the retry finds the card started
        return
    if error is not None:
        start.done.set_exception(error)
    else:
        start.done.set_result(result)


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
    done: asyncio.Future[Started] = asyncio.get_running_loop().create_future()
    [result] = await commit_starts(ctx, [_Start(user, card_id, branch, done)])
    return result
