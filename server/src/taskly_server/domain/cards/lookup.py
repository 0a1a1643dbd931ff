"""Finding what a request names: cards by id or key, columns by name or id, ranks in a column."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from fractional_indexing import generate_key_between
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.errors import ErrorCode
from taskly_shared.keys import format_card_key, parse_card_key
from taskly_shared.models import Role

from ...db.models import Board, BoardColumn, Card, Member, Workspace
from ...errors import Conflict, Invalid, NotFound
from ..workspaces.access import require_role


def as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def shown(ref: str) -> str:
    """A client-supplied reference, short enough to echo in an error."""
    return repr(ref if len(ref) <= 64 else ref[:61] + "...")


@dataclass(frozen=True, slots=True)
class CardHandle:
    """Where a card lives, found without loading (or locking) the card itself."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    board_id: uuid.UUID


async def find_card(db: AsyncSession, user_id: uuid.UUID, ref: str) -> CardHandle:
    """A card by id, or by key among the caller's workspaces; 404 when neither."""
    base = (
        select(Card.id, Card.workspace_id, Card.board_id, Board.key, Card.number)
        .join(Board, Board.id == Card.board_id)
        .where(Board.deleted_at.is_(None))
    )
    card_id = as_uuid(ref)
    if card_id is not None:
        row = (await db.execute(base.where(Card.id == card_id))).first()
        if row is None:  # the same words as require_role's, so a non-member learns nothing
            raise NotFound("card not found")
        return CardHandle(row.id, row.workspace_id, row.board_id)
    key = parse_card_key(ref)
    if key is None:
        raise NotFound(f"no card {shown(ref)}: give a card id or a key like WEB-12")
    board_key, number = key
    rows = (await db.execute(
        base.join(Member, Member.workspace_id == Card.workspace_id)
        .join(Workspace, Workspace.id == Card.workspace_id)
        .where(Board.key == board_key, Card.number == number, Member.user_id == user_id,
               Workspace.deleted_at.is_(None))
        .order_by(Card.workspace_id)
    )).all()
    if not rows:
        raise NotFound(f"no card {format_card_key(board_key, number)}")
    if len(rows) > 1:
        raise Conflict(
            f"{format_card_key(board_key, number)} names a card in {len(rows)} of your workspaces; "
            "use the card id", code=ErrorCode.AMBIGUOUS_KEY,
            candidates=[{"id": str(r.id), "key": format_card_key(r.key, r.number),
                         "workspace_id": str(r.workspace_id), "board_id": str(r.board_id)}
                        for r in rows],
        )
    return CardHandle(rows[0].id, rows[0].workspace_id, rows[0].board_id)


async def load_card(db: AsyncSession, user_id: uuid.UUID, ref: str, minimum: Role = Role.VIEWER,
                    lock: bool = False) -> Card:
    """The card named by `ref` once the caller's role allows; `lock` holds its row to commit."""
    handle = await find_card(db, user_id, ref)
    await require_role(db, handle.workspace_id, user_id, minimum, what="card")
    query = select(Card).where(Card.id == handle.id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    card = await db.scalar(query)
    if card is None:  # hard-deleted between the two reads
        raise NotFound(f"no card {shown(ref)}")
    return card


async def load_board(db: AsyncSession, user_id: uuid.UUID, board_id: uuid.UUID,
                     minimum: Role = Role.VIEWER) -> Board:
    board = await db.scalar(select(Board).where(Board.id == board_id, Board.deleted_at.is_(None)))
    if board is None:
        raise NotFound("board not found")
    await require_role(db, board.workspace_id, user_id, minimum, what="board")
    return board


async def board_columns(db: AsyncSession, board_id: uuid.UUID) -> list[BoardColumn]:
    return list((await db.scalars(
        select(BoardColumn).where(BoardColumn.board_id == board_id).order_by(BoardColumn.rank)
    )).all())


def pick_column(columns: list[BoardColumn], ref: str | None) -> BoardColumn:
    """A column by id or by name (case-insensitive); the first column when `ref` is None."""
    if not columns:
        raise Invalid("this board has no columns")
    if ref is None:
        return columns[0]
    column_id = as_uuid(ref)
    wanted = ref.strip().lower()
    for column in columns:
        if column.id == column_id or column.name.lower() == wanted:
            return column
    names = [column.name for column in columns]
    raise Invalid(f"no column {shown(ref)} on this board; valid columns: {', '.join(names)}",
                  columns=names)


async def lock_column(db: AsyncSession, column_id: uuid.UUID) -> None:
    """Serialises rank choices inside one column (FK checks of card writes are not blocked)."""
    await db.execute(
        select(BoardColumn.id).where(BoardColumn.id == column_id).with_for_update(key_share=True)
    )


class Ranks:
    """Ranks of one column's cards, deleted ones included so a restored card never ties."""

    def __init__(self, db: AsyncSession, column_id: uuid.UUID, moving: uuid.UUID | None = None):
        self.db = db
        self.column_id = column_id
        self.moving = moving

    def _query(self):
        query = select(Card.rank).where(Card.column_id == self.column_id)
        if self.moving is not None:
            query = query.where(Card.id != self.moving)
        return query

    async def first(self) -> str | None:
        return await self.db.scalar(self._query().order_by(Card.rank).limit(1))

    async def last(self) -> str | None:
        return await self.db.scalar(self._query().order_by(Card.rank.desc()).limit(1))

    async def below(self, rank: str) -> str | None:
        """The nearest rank after `rank`."""
        return await self.db.scalar(
            self._query().where(Card.rank > rank).order_by(Card.rank).limit(1)
        )

    async def above(self, rank: str) -> str | None:
        """The nearest rank before `rank`."""
        return await self.db.scalar(
            self._query().where(Card.rank < rank).order_by(Card.rank.desc()).limit(1)
        )

    async def bounds(self, position: str,
                     anchor: Card | None = None) -> tuple[str | None, str | None]:
        """The ranks a card placed at `position` (top, bottom, before, after) goes between."""
        if position == "top":
            return None, await self.first()
        if position == "bottom":
            return await self.last(), None
        assert anchor is not None
        if position == "before":
            return await self.above(anchor.rank), anchor.rank
        return anchor.rank, await self.below(anchor.rank)


def rank_between(lower: str | None, upper: str | None, current: str | None = None) -> str:
    """`current` when it already lies between the bounds, else a new key between them."""
    above_lower = current is not None and (lower is None or lower < current)
    if above_lower and (upper is None or current < upper):
        return current
    return generate_key_between(lower, upper)
