"""Columns of a board: add, rename, change kind or WIP limit, reorder, delete (moving the cards)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from fractional_indexing import generate_key_between
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from taskly_shared.errors import ErrorCode
from taskly_shared.models import ColumnCreate, ColumnOut, ColumnPatch, Role

from ...db.models import Board, BoardColumn, Card
from ...errors import Conflict, Invalid, NotFound
from ...lib.mutation import Mutation
from ...lib.principal import Principal
from ..cards.placement import Move, make_moves
from .services import BoardService, column_out


def rank_at(others: Sequence[BoardColumn], position: int | None) -> str:
    """A rank that puts a column at 0-based `position` among `others` (the end when None)."""
    index = len(others) if position is None else min(position, len(others))
    before = others[index - 1].rank if index > 0 else None
    after = others[index].rank if index < len(others) else None
    return generate_key_between(before, after)


class ColumnService:
    """Column writes; each one locks its board row so concurrent reorders cannot collide."""

    def __init__(self, mutation: Mutation) -> None:
        self.mutation = mutation
        self.db = mutation.db
        self.boards = BoardService(mutation)

    async def create(self, principal: Principal, board_id: uuid.UUID, data: ColumnCreate) -> ColumnOut:
        board, _ = await self.boards.board(principal, board_id, Role.ADMIN, lock=True)
        columns = await self.boards.columns(board.id)
        self._check_name(columns, data.name)
        column_id = data.id or uuid.uuid4()
        if await self.db.get(BoardColumn, column_id) is not None:
            raise Conflict("a column with this id exists", code=ErrorCode.DUPLICATE)
        column = BoardColumn(id=column_id, board_id=board.id, name=data.name, kind=data.kind.value,
                             wip_limit=data.wip_limit, rank=rank_at(columns, data.position), version=1)
        self.db.add(column)
        await self._flush_named(data.name)
        out = column_out(column)
        self.mutation.record(board.workspace_id, "column", column.id, "create",
                             changes={"name": (None, column.name), "kind": (None, column.kind),
                                      "rank": (None, column.rank), "wip_limit": (None, column.wip_limit)},
                             data=out, version=column.version)
        return out

    async def update(self, principal: Principal, column_id: uuid.UUID, data: ColumnPatch) -> ColumnOut:
        column, board = await self._column(principal, column_id)
        columns = await self.boards.columns(board.id)
        others = [c for c in columns if c.id != column.id]
        fields = data.model_fields_set
        changes: dict[str, tuple[Any, Any]] = {}
        if data.name is not None and data.name != column.name:
            self._check_name(others, data.name)
            changes["name"] = (column.name, data.name)
        if data.kind is not None and data.kind.value != column.kind:
            changes["kind"] = (column.kind, data.kind.value)
        if "wip_limit" in fields and data.wip_limit != column.wip_limit:
            changes["wip_limit"] = (column.wip_limit, data.wip_limit)
        if data.position is not None:
            index = min(data.position, len(others))
            if columns.index(column) != index:
                changes["rank"] = (column.rank, rank_at(others, index))
        if not changes:
            return column_out(column)
        for field, (_, new) in changes.items():
            setattr(column, field, new)
        column.version += 1
        await self._flush_named(data.name)
        out = column_out(column)
        self.mutation.record(board.workspace_id, "column", column.id, "update", changes=changes,
                             data=out, version=column.version)
        return out

    async def delete(self, principal: Principal, column_id: uuid.UUID, move_to: str | None) -> None:
        """Delete a column; its cards (soft-deleted ones too) go to the bottom of `move_to`.

        Without `move_to` only a column without live cards can go; its soft-deleted cards then
        move to the first remaining column so they can still be restored.
        """
        column, board = await self._column(principal, column_id)
        others = [c for c in await self.boards.columns(board.id) if c.id != column.id]
        if not others:
            raise Conflict("a board keeps at least one column")
        target = self._target(column, others, move_to) if move_to and move_to.strip() else None
        cards = list((await self.db.scalars(
            select(Card).where(Card.column_id == column.id).order_by(Card.rank, Card.number)
            .with_for_update()
        )).all())
        if target is None and any(card.deleted_at is None for card in cards):
            raise Conflict(f"the column {column.name!r} still has cards; give a column to move "
                           "them to (move_to)", code=ErrorCode.COLUMN_NOT_EMPTY)
        if cards:
            await self._move_cards(target or others[0], cards)
        await self.db.delete(column)
        await self.db.flush()
        self.mutation.record(board.workspace_id, "column", column.id, "delete",
                             changes={"name": (column.name, None)}, version=column.version + 1)

    # --- helpers ---------------------------------------------------------------------------

    async def _column(self, principal: Principal, column_id: uuid.UUID) -> tuple[BoardColumn, Board]:
        """A column of a live board the caller administers; 404 when the caller may not see it."""
        board_id = await self.db.scalar(select(BoardColumn.board_id).where(BoardColumn.id == column_id))
        if board_id is None:
            raise NotFound("column not found")
        try:
            board, _ = await self.boards.board(principal, board_id, Role.ADMIN, lock=True)
        except NotFound:  # a non-member must not tell an existing column from a missing one
            raise NotFound("column not found") from None
        column = await self.db.scalar(
            select(BoardColumn).where(BoardColumn.id == column_id).with_for_update())
        if column is None:
            raise NotFound("column not found")
        return column, board

    async def _flush_named(self, name: str | None) -> None:
        """Flush; a concurrent column of the same name (the unique index) is a 409."""
        try:
            await self.db.flush()
        except IntegrityError:
            raise Conflict(f"a column named {name!r} exists on this board",
                           code=ErrorCode.DUPLICATE) from None

    @staticmethod
    def _check_name(columns: Sequence[BoardColumn], name: str) -> None:
        if any(c.name.lower() == name.lower() for c in columns):
            raise Conflict(f"a column named {name!r} exists on this board", code=ErrorCode.DUPLICATE)

    @staticmethod
    def _target(column: BoardColumn, others: Sequence[BoardColumn], move_to: str) -> BoardColumn:
        """The column named by id or by name (case-insensitive) among the board's other columns."""
        ref = move_to.strip().lower()
        if ref in (column.name.lower(), str(column.id)):
            raise Invalid("move_to must name another column of the board")
        for other in others:
            if ref in (other.name.lower(), str(other.id)):
                return other
        raise NotFound(f"no column {move_to!r} on this board")

    async def _move_cards(self, target: BoardColumn, cards: Sequence[Card]) -> None:
        """Append `cards` in their order to the bottom of `target`, through the one move function:
        one Change each, attributed to the principal."""
        placed = await make_moves(self.mutation, [
            Move.by(self.mutation, card_id=card.id, column_id=target.id, position="bottom")
            for card in cards])
        for card, answer in zip(cards, placed, strict=True):
            self.db.expire(card)  # the function changed its row
            if answer.body is None:
                raise Conflict(f"card {card.number} could not be moved ({answer.code}); try again")
