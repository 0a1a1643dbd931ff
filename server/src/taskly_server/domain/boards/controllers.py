"""HTTP routes of boards and columns."""

from __future__ import annotations

import uuid

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import (
    BoardCreate,
    BoardDetail,
    BoardOut,
    BoardPatch,
    ColumnCreate,
    ColumnOut,
    ColumnPatch,
)

from ..auth.tokens import Principal
from ..sync.mutation import execute
from .columns import ColumnService
from .services import BoardService


class WorkspaceBoardController(Controller):
    path = "/api/v1/workspaces/{workspace_id:uuid}/boards"
    tags = ["boards"]

    @get("/")
    async def list_boards(self, principal: Principal, db: AsyncSession,
                          workspace_id: uuid.UUID) -> list[BoardOut]:
        """The workspace's boards with their columns in order."""
        return await BoardService(db).list(principal, workspace_id)

    @post("/", status_code=201)
    async def create(self, request: Request, principal: Principal, workspace_id: uuid.UUID,
                     data: BoardCreate) -> Response[BoardOut]:
        """A board with the columns Backlog, Todo, In Progress, In Review and Done."""
        return await execute(request, principal,
                             lambda m: BoardService(m).create(principal, workspace_id, data), 201)


class BoardController(Controller):
    path = "/api/v1/boards/{board_id:uuid}"
    tags = ["boards"]

    @get("/")
    async def read(self, principal: Principal, db: AsyncSession, board_id: uuid.UUID) -> BoardDetail:
        """The board with its columns and live cards."""
        return await BoardService(db).get(principal, board_id)

    @patch("/")
    async def update(self, request: Request, principal: Principal, board_id: uuid.UUID,
                     data: BoardPatch) -> Response[BoardOut]:
        return await execute(request, principal,
                             lambda m: BoardService(m).update(principal, board_id, data))

    @delete("/", status_code=204)
    async def remove(self, request: Request, principal: Principal, board_id: uuid.UUID) -> Response[None]:
        return await execute(request, principal,
                             lambda m: BoardService(m).delete(principal, board_id), 204)

    @post("/columns", status_code=201)
    async def add_column(self, request: Request, principal: Principal, board_id: uuid.UUID,
                         data: ColumnCreate) -> Response[ColumnOut]:
        return await execute(request, principal,
                             lambda m: ColumnService(m).create(principal, board_id, data), 201)


class ColumnController(Controller):
    path = "/api/v1/columns/{column_id:uuid}"
    tags = ["boards"]

    @patch("/")
    async def update(self, request: Request, principal: Principal, column_id: uuid.UUID,
                     data: ColumnPatch) -> Response[ColumnOut]:
        """Rename, change kind or WIP limit (null clears it), or move to a 0-based position."""
        return await execute(request, principal,
                             lambda m: ColumnService(m).update(principal, column_id, data))

    @delete("/", status_code=204)
    async def remove(self, request: Request, principal: Principal, column_id: uuid.UUID,
                     move_to: str | None = Parameter(default=None, max_length=100)) -> Response[None]:
        """Delete a column; its cards move to the bottom of `move_to` (a column id or name)."""
        return await execute(request, principal,
                             lambda m: ColumnService(m).delete(principal, column_id, move_to), 204)


ROUTES = [WorkspaceBoardController, BoardController, ColumnController]
