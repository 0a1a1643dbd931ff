"""Cards as the wire sees them: column name and kind, key, assignee and author names."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.keys import format_card_key
from taskly_shared.models import (
    Actor,
    CardOut,
    ChangeOut,
    ColumnKind,
    CommentOut,
    FieldConflict,
    PullRequestOut,
)

from ...db.models import Board, BoardColumn, Card, Change, Comment, User
from ..pulls.views import pull_requests_of


class CardRenderer:
    """Renders cards with the boards, columns and users it loads once per request."""

    def __init__(self, db: AsyncSession) -> None:
        self.db = db
        self.boards: dict[uuid.UUID, Board] = {}
        self.columns: dict[uuid.UUID, BoardColumn] = {}
        self.usernames: dict[uuid.UUID, str] = {}
        self.pull_requests: dict[uuid.UUID, list[PullRequestOut]] = {}

    async def load(self, cards: Iterable[Card]) -> None:
        cards = list(cards)
        board_ids = {c.board_id for c in cards} - self.boards.keys()
        if board_ids:
            for board in (await self.db.scalars(select(Board).where(Board.id.in_(board_ids)))).all():
                self.boards[board.id] = board
            columns = await self.db.scalars(select(BoardColumn).where(BoardColumn.board_id.in_(board_ids)))
            for column in columns.all():
                self.columns[column.id] = column
        missing_columns = {c.column_id for c in cards} - self.columns.keys()
        if missing_columns:
            for column in (await self.db.scalars(
                select(BoardColumn).where(BoardColumn.id.in_(missing_columns))
            )).all():
                self.columns[column.id] = column
        user_ids = {u for c in cards for u in c.assignee_ids}
        user_ids |= {c.created_by for c in cards if c.created_by}
        user_ids -= self.usernames.keys()
        if user_ids:
            rows = await self.db.execute(select(User.id, User.username).where(User.id.in_(user_ids)))
            self.usernames.update(dict(rows.all()))
        unlinked = {c.id for c in cards} - self.pull_requests.keys()
        if unlinked:
            self.pull_requests.update(await pull_requests_of(self.db, unlinked))

    def render(self, card: Card, conflicts: Sequence[FieldConflict] = ()) -> CardOut:
        board = self.boards[card.board_id]
        column = self.columns[card.column_id]
        return CardOut(
            id=card.id, key=format_card_key(board.key, card.number), number=card.number,
            board_id=card.board_id, workspace_id=card.workspace_id, title=card.title,
            description=card.description, column=column.name, column_id=column.id,
            column_kind=ColumnKind(column.kind), rank=card.rank, labels=list(card.labels),
            priority=card.priority, points=card.points, due=card.due, remind_at=card.remind_at,
            recurrence=card.recurrence, recurrence_interval=card.recurrence_interval,
            assignees=[self.usernames.get(u, str(u)) for u in card.assignee_ids],
            sprint_id=card.sprint_id, branch=card.branch,
            created_by=self.usernames.get(card.created_by) if card.created_by else None,
            version=card.version, created_at=card.created_at, updated_at=card.updated_at,
            deleted_at=card.deleted_at, pull_requests=self.pull_requests.get(card.id, []),
            conflicts=list(conflicts),
        )

    async def one(self, card: Card, conflicts: Sequence[FieldConflict] = ()) -> CardOut:
        await self.load([card])
        return self.render(card, conflicts)

    async def many(self, cards: Sequence[Card]) -> list[CardOut]:
        await self.load(cards)
        return [self.render(card) for card in cards]


def comment_out(comment: Comment, author: str | None) -> CommentOut:
    """A comment on the wire; a deleted comment's body is not shown to anyone."""
    return CommentOut(
        id=comment.id, card_id=comment.card_id, author_id=comment.author_id, author=author,
        body="" if comment.deleted else comment.body, edited=comment.edited, deleted=comment.deleted,
        version=comment.version, created_at=comment.created_at, updated_at=comment.updated_at,
    )


def change_out(change: Change) -> ChangeOut:
    """A row of the change feed on the wire."""
    return ChangeOut(
        seq=change.seq, workspace_id=change.workspace_id, entity_type=change.entity_type,
        entity_id=change.entity_id, op=change.op, version=change.version,
        changes=change.changes or {}, data=change.data,
        actor=Actor(type=change.actor_type, id=change.actor_id, name=change.actor_name,
                    delivery_id=change.delivery_id),
        mutation_id=change.mutation_id, conflicts=change.conflicts or [], created_at=change.created_at,
    )
