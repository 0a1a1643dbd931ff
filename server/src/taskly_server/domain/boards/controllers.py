"""HTTP routes of boards and columns."""

from __future__ import annotations

import uuid

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import Parameter
from sqlalchemy import select
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

from ...db.models import Board, Workspace
from ...lib.mutation import execute
from ...lib.principal import Principal
from ...lib.rendered import IfNoneMatch, etag_key, held_response, tagged_json
from ..cards.reads import BOARD_SEQ, board_card_list, live_cards_json
from ..feed.reads import changes_after
from .columns import ColumnService
from .services import BoardService, board_out


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
    async def read(self, request: Request, principal: Principal, state: State,
                   board_id: uuid.UUID) -> Response[BoardDetail]:
        """The board with its columns and live cards (ETag: 304 when If-None-Match has it)."""
        key, conditions, rendered = etag_key("board", board_id), IfNoneMatch(request), state.rendered
        held = await held_response(request, state.engine, rendered, key, conditions,
                                   changes_after(state, principal.user_id), BOARD_SEQ,
                                   board_id, principal.user_id)
        if held is not None:
            return held
        async with state.sessionmaker() as db:
            # The seq first: the tag never claims a newer seq than the document read after it.
            seq = await db.scalar(select(Workspace.seq).join(Board, Board.workspace_id == Workspace.id)
                                  .where(Board.id == board_id)) or 0
            service = BoardService(db)
            board, _ = await service.board(principal, board_id)
            body = rendered.body(key, seq, None)
            if body is None and not conditions.matches(seq, key):
                columns = await service.columns(board.id)
                # BoardDetail is BoardOut and its cards: the cards, rendered by Postgres, go in as bytes.
                head = board_out(board, columns).model_dump_json().encode()[:-1] + b',"cards":['
                inside = (await live_cards_json(db, board.id))[1:-1]
                body = rendered.body(key, seq, b"".join((head, inside, b"]}")), board_card_list(
                    board.id, [str(column.id) for column in columns], len(head),
                    len(head) + len(inside), "number"))
        return tagged_json(request, body, seq, key, conditions)

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
