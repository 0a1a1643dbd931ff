"""Recurring cards, a feed consumer: a card with a recurrence that enters a done column gets its
next occurrence, once.

Whatever path the card took to done (a move, a PATCH or bulk update with a column, automation
after a merged pull request, a replayed offline write), the feed has a card change whose new
state is in a done column: that is all this reads. The next card is made through the card
service (so its creation is in the feed, attributed to the recurrence rule) at the top of the
board's first todo column (backlog when there is none). `card_occurrences` holds one next card per
card (its primary key), so a card moved out of done and back, completed by two clients, or a batch
handled again after a crash never makes a second one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy import Row, select
from taskly_shared.models import CardCreate

from ...db.models import Board, BoardColumn, Card, CardOccurrence, Member, User
from ...errors import DomainError
from ...lib.consumers import Consumer, ConsumerContext
from ..cards.services import CardService
from ..cards.views import CardRenderer
from .dates import next_dates, shifted

log = structlog.get_logger("taskly.recurrence")

ACTOR = "recurrence rule"


def entered_done(change: Row[Any]) -> bool:
    """A card change that left the card, recurring, in a done column it was not in before."""
    data = change.data
    if change.entity_type != "card" or not data or change.op not in ("create", "update", "move"):
        return False
    if data.get("column_kind") != "done" or data.get("recurrence", "none") == "none":
        return False
    if data.get("deleted_at"):
        return False
    return change.op == "create" or "column_id" in (change.changes or {})


async def handle(ctx: ConsumerContext, changes: Sequence[Row[Any]]) -> None:
    done: dict[uuid.UUID, Row[Any]] = {}
    for change in changes:
        if entered_done(change):
            done.setdefault(change.entity_id, change)  # the first completion in the batch counts
    pending = ctx.mutation.pending[ctx.workspace_id]
    for card_id, change in done.items():
        mark = len(pending)
        try:
            async with ctx.db.begin_nested():
                if await next_occurrence(ctx, card_id, change):
                    ctx.effects += 1
        except (DomainError, ValidationError) as exc:  # data that cannot make a card: said once
            del pending[mark:]  # the savepoint took back what they described
            log.warning("recurrence_skipped", card_id=str(card_id), seq=change.seq,
                        error=type(exc).__name__, detail=str(exc)[:300])


async def next_occurrence(ctx: ConsumerContext, card_id: uuid.UUID, change: Row[Any]) -> bool:
    """Make the card after `card_id`, unless it exists or the series has stopped."""
    db = ctx.db
    if await db.scalar(select(CardOccurrence.next_card_id).where(CardOccurrence.card_id == card_id)):
        return False
    card = await db.get(Card, card_id)
    if card is None or card.deleted_at is not None or card.recurrence == "none":
        return False  # deleted, or recurrence turned off since: the series stops
    board = await db.get(Board, card.board_id)
    if board is None or board.deleted_at is not None:
        return False
    stored_anchor = await db.scalar(
        select(CardOccurrence.anchor_day).where(CardOccurrence.next_card_id == card_id))
    dates = next_dates(card.recurrence, card.recurrence_interval, card.due,
                       change.created_at.date(), stored_anchor)
    column = await _landing_column(ctx, board.id)
    data = CardCreate(
        title=card.title, description=card.description, labels=list(card.labels),
        priority=card.priority, points=card.points, due=dates.due,
        remind_at=shifted(card.remind_at, dates.shift), recurrence=card.recurrence,
        recurrence_interval=card.recurrence_interval,
        assignees=await _member_usernames(ctx, card), column=str(column.id),
    )
    before = len(ctx.mutation.pending[card.workspace_id])
    service = CardService(ctx.mutation)
    created = await service.create_on(board, data, card.created_by, top=True)
    previous_key = f"{board.key}-{card.number}"
    # the new card's creation names the card it follows (its activity: "next occurrence of WEB-7")
    ctx.mutation.pending[card.workspace_id][before]["changes"]["previous_occurrence"] = {
        "old": None, "new": previous_key}
    db.add(CardOccurrence(card_id=card.id, next_card_id=created.id, anchor_day=dates.anchor_day))
    await db.flush()
    # and the completed card names its successor ("created WEB-9"); nothing else of it changed
    current = await CardRenderer(db).one(card)
    ctx.mutation.record(card.workspace_id, "card", card.id, "update",
                        changes={"next_occurrence": (None, created.key)}, data=current,
                        version=card.version)
    log.info("recurrence_created", card=previous_key, next=created.key, due=str(dates.due))
    return True


async def _landing_column(ctx: ConsumerContext, board_id: uuid.UUID) -> BoardColumn:
    """The board's first todo column, else its first backlog column, else its first column."""
    columns = list((await ctx.db.scalars(
        select(BoardColumn).where(BoardColumn.board_id == board_id).order_by(BoardColumn.rank))).all())
    for kind in ("todo", "backlog"):
        for column in columns:
            if column.kind == kind:
                return column
    if not columns:
        raise DomainError("the board has no columns")
    return columns[0]


async def _member_usernames(ctx: ConsumerContext, card: Card) -> list[str]:
    """The card's assignees who are still members, in the card's order."""
    if not card.assignee_ids:
        return []
    rows = dict((await ctx.db.execute(
        select(User.id, User.username).join(Member, Member.user_id == User.id)
        .where(Member.workspace_id == card.workspace_id, User.id.in_(card.assignee_ids))
    )).all())
    return [rows[user_id] for user_id in card.assignee_ids if user_id in rows]


WHERE = ("entity_type = 'card' AND (op = 'create' OR changes ? 'column_id') "
         "AND data @> '{\"column_kind\": \"done\"}'")
"""What `entered_done` may accept, as a condition the database checks (most changes are moves
between other columns: they are not read)."""

CONSUMER = Consumer(name="recurrence", handle=handle, actor=ACTOR, where=WHERE)
