"""Boards: create with the default columns, list, read with cards, edit, soft delete."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from fractional_indexing import generate_key_between
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.errors import ErrorCode
from taskly_shared.models import (
    BoardCreate,
    BoardDetail,
    BoardOut,
    BoardPatch,
    ColumnKind,
    ColumnOut,
    Role,
)

from ...db.base import utcnow
from ...db.models import Board, BoardColumn, Card, Repository
from ...errors import Conflict, Invalid, NotFound
from ...lib.access import refuse_archived, require_role
from ...lib.mutation import Mutation
from ...lib.principal import Principal
from ..cards.views import CardRenderer

DEFAULT_COLUMNS = (
    ("Backlog", ColumnKind.BACKLOG),
    ("Todo", ColumnKind.TODO),
    ("In Progress", ColumnKind.IN_PROGRESS),
    ("In Review", ColumnKind.REVIEW),
    ("Done", ColumnKind.DONE),
)
"""Every new board starts with these columns, in this order."""


def column_out(column: BoardColumn) -> ColumnOut:
    return ColumnOut.model_validate(column)


def board_out(board: Board, columns: Sequence[BoardColumn]) -> BoardOut:
    out = BoardOut.model_validate(board)
    out.columns = [column_out(c) for c in sorted(columns, key=lambda c: c.rank)]
    return out


class BoardService:
    """Reads take a session; writes take the Mutation of `execute` and record their changes."""

    def __init__(self, target: AsyncSession | Mutation) -> None:
        self.mutation = target if isinstance(target, Mutation) else None
        self.db = target.db if isinstance(target, Mutation) else target

    async def list(self, principal: Principal, workspace_id: uuid.UUID) -> list[BoardOut]:
        await require_role(self.db, workspace_id, principal.user_id)
        boards = (await self.db.scalars(
            select(Board).where(Board.workspace_id == workspace_id, Board.deleted_at.is_(None))
            .order_by(Board.created_at, Board.key)
        )).all()
        columns: dict[uuid.UUID, list[BoardColumn]] = {board.id: [] for board in boards}
        if boards:
            for column in (await self.db.scalars(
                select(BoardColumn).where(BoardColumn.board_id.in_(columns))
            )).all():
                columns[column.board_id].append(column)
        return [board_out(board, columns[board.id]) for board in boards]

    async def get(self, principal: Principal, board_id: uuid.UUID) -> BoardDetail:
        """The board with its columns and its cards, in column order then card order."""
        board, _ = await self.board(principal, board_id)
        columns = await self.columns(board.id)
        cards = (await self.db.scalars(
            select(Card).join(BoardColumn, BoardColumn.id == Card.column_id)
            .where(Card.board_id == board.id, Card.deleted_at.is_(None))
            .order_by(BoardColumn.rank, Card.rank, Card.number)
        )).all()
        detail = BoardDetail.model_validate(board_out(board, columns).model_dump())
        detail.cards = await CardRenderer(self.db).many(cards)
        return detail

    async def create(self, principal: Principal, workspace_id: uuid.UUID, data: BoardCreate) -> BoardOut:
        """A board with the five default columns; its key is unique in the workspace."""
        await require_role(self.db, workspace_id, principal.user_id, Role.ADMIN)
        board_id = data.id or uuid.uuid4()
        if await self.db.get(Board, board_id) is not None:
            raise Conflict("a board with this id exists", code=ErrorCode.DUPLICATE)
        taken = await self.db.scalar(
            select(Board.id).where(Board.workspace_id == workspace_id, Board.key == data.key))
        if taken is not None:
            raise Conflict(f"the key {data.key} is taken in this workspace", code=ErrorCode.DUPLICATE)
        board = Board(id=board_id, workspace_id=workspace_id, name=data.name, key=data.key,
                      next_card_number=1, automation={}, archived=False, version=1)
        self.db.add(board)
        try:
            await self.db.flush()
        except IntegrityError:
            raise Conflict(f"the key {data.key} is taken in this workspace",
                           code=ErrorCode.DUPLICATE) from None
        columns, rank = [], None
        for name, kind in DEFAULT_COLUMNS:
            rank = generate_key_between(rank, None)
            columns.append(BoardColumn(id=uuid.uuid4(), board_id=board_id, name=name, rank=rank,
                                       kind=kind.value, version=1))
        self.db.add_all(columns)
        await self.db.flush()
        out = board_out(board, columns)
        self.mutation.record(workspace_id, "board", board_id, "create",
                             changes={"name": (None, board.name), "key": (None, board.key)},
                             data=out, version=board.version)
        for column in out.columns:
            self.mutation.record(workspace_id, "column", column.id, "create",
                                 changes={"name": (None, column.name), "kind": (None, column.kind),
                                          "rank": (None, column.rank)},
                                 data=column, version=column.version)
        return out

    async def update(self, principal: Principal, board_id: uuid.UUID, data: BoardPatch) -> BoardOut:
        """Rename, (un)archive, set the branch template or repository; an archived board takes
        only its unarchiving (with a rename, if any) and nothing else."""
        board, _ = await self.board(principal, board_id, Role.ADMIN, archived_ok=True)
        if board.archived and data.archived is not False:
            refuse_archived(board)
        changes: dict[str, tuple[Any, Any]] = {}
        for field in ("name", "archived", "branch_template"):
            if field not in data.model_fields_set:
                continue
            value = getattr(data, field)
            if value is None and field != "branch_template":
                continue
            if getattr(board, field) != value:
                changes[field] = (getattr(board, field), value)
                setattr(board, field, value)
        if "default_repository_id" in data.model_fields_set:
            await self._check_repository(board, data.default_repository_id)
            if board.default_repository_id != data.default_repository_id:
                changes["default_repository_id"] = (board.default_repository_id,
                                                    data.default_repository_id)
                board.default_repository_id = data.default_repository_id
        out = await self._bump(board, changes, "update")
        return out

    async def set_default_repository(self, board: Board, repository_id: uuid.UUID) -> BoardOut:
        """Make a connected repository the board's default (the caller checked both)."""
        changes = {}
        if board.default_repository_id != repository_id:
            changes["default_repository_id"] = (board.default_repository_id, repository_id)
            board.default_repository_id = repository_id
        return await self._bump(board, changes, "update")

    async def _check_repository(self, board: Board, repository_id: uuid.UUID | None) -> None:
        if repository_id is None:
            return
        found = await self.db.scalar(select(Repository.id).where(
            Repository.id == repository_id, Repository.workspace_id == board.workspace_id,
            Repository.active.is_(True)))
        if found is None:
            raise Invalid("default_repository_id must be a connected repository of this workspace")

    async def delete(self, principal: Principal, board_id: uuid.UUID) -> None:
        """Soft delete (archived or not): afterwards the board and its cards and columns answer 404."""
        board, _ = await self.board(principal, board_id, Role.ADMIN, archived_ok=True)
        board.deleted_at = utcnow()
        await self._bump(board, {"deleted_at": (None, board.deleted_at)}, "delete")

    # --- shared with the column service ----------------------------------------------------

    async def board(self, principal: Principal, board_id: uuid.UUID, minimum: Role = Role.VIEWER,
                    lock: bool = False, archived_ok: bool = False) -> tuple[Board, Role]:
        """A live board the caller may see (404 otherwise) with the caller's role (403 below minimum);
        for a write (`minimum` above viewer), not an archived one (409) unless `archived_ok`."""
        query = select(Board).where(Board.id == board_id, Board.deleted_at.is_(None))
        board = await self.db.scalar(query.with_for_update() if lock else query)
        if board is None:
            raise NotFound("board not found")
        role = await require_role(self.db, board.workspace_id, principal.user_id, minimum, "board")
        if minimum != Role.VIEWER and not archived_ok:
            refuse_archived(board)
        return board, role

    async def columns(self, board_id: uuid.UUID, lock: bool = False) -> list[BoardColumn]:
        """The board's columns in rank order."""
        query = select(BoardColumn).where(BoardColumn.board_id == board_id).order_by(
            BoardColumn.rank, BoardColumn.id)
        return list((await self.db.scalars(query.with_for_update() if lock else query)).all())

    async def _bump(self, board: Board, changes: dict[str, tuple[Any, Any]], op: str) -> BoardOut:
        """New version and a Change row when anything changed; the board as the wire sees it."""
        if changes:
            board.version += 1
            await self.db.flush()
        out = board_out(board, await self.columns(board.id))
        if changes:
            self.mutation.record(board.workspace_id, "board", board.id, op, changes=changes,
                                 data=out, version=board.version)
        return out
