"""HTTP routes of cards, their moves, bulk edits, comments and activity."""

from __future__ import annotations

import uuid

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import HeaderParameter, Parameter
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import (
    BulkUpdate,
    CardCreate,
    CardMove,
    CardOut,
    CardPatch,
    ChangeOut,
    CommentCreate,
    CommentOut,
    CommentPatch,
)

from ...lib.mutation import execute
from ...lib.principal import Principal
from ...lib.rendered import IfNoneMatch, etag_key, held_response, tagged_json
from ..feed.reads import changes_after
from .comments import CommentService, card_activity
from .moves import edit_card, move_card
from .reads import BOARD_SEQ, board_cards_json, card_json
from .services import CardService

IF_MATCH = HeaderParameter(name="If-Match", default=None, required=False,
                           description="The card version the client saw (like `base_version`).")


class BoardCardController(Controller):
    path = "/api/v1/boards/{board_id:uuid}/cards"
    tags = ["cards"]

    @get("/")
    async def list_cards(self, request: Request, principal: Principal, state: State,
                         board_id: uuid.UUID, include_deleted: bool = False) -> Response[list[CardOut]]:
        """The board's cards ordered by column, then by rank inside the column (ETag: 304 when
        If-None-Match has it)."""
        conditions, rendered = IfNoneMatch(request), state.rendered
        key = etag_key("board cards", board_id, include_deleted)
        held = await held_response(request, state.engine, rendered, key, conditions,
                                   changes_after(state, principal.user_id), BOARD_SEQ,
                                   board_id, principal.user_id)
        if held is not None:
            return held
        seq, body, cards = await board_cards_json(state, principal.user_id, board_id, include_deleted,
                                                  rendered.known_seq(key, conditions.known_seq(key)))
        return tagged_json(request, rendered.body(key, seq, body, cards), seq, key, conditions)

    @post("/", status_code=201)
    async def create(self, request: Request, principal: Principal, board_id: uuid.UUID,
                     data: CardCreate) -> Response[CardOut]:
        """A card at the bottom of its column (the first column unless named)."""
        return await execute(request, principal,
                             lambda m: CardService(m).create(principal, board_id, data), 201)


class CardController(Controller):
    path = "/api/v1/cards"
    tags = ["cards"]

    @post("/bulk-update", status_code=200)
    async def bulk_update(self, request: Request, principal: Principal,
                          data: BulkUpdate) -> Response[list[CardOut]]:
        """Patch many cards in one transaction: all of them or none."""
        return await execute(request, principal,
                             lambda m: CardService(m).bulk_update(principal, data))

    @get("/{card_ref:str}")
    async def read(self, request: Request, principal: Principal, state: State,
                   card_ref: str) -> Response[CardOut]:
        """A card by id or by key (`WEB-12`, case-insensitive); ETag: 304 when If-None-Match has it.
        The ETag is not a card version: If-Match on writes takes the version."""
        conditions, rendered = IfNoneMatch(request), state.rendered
        card_id, seq, body = await card_json(state, principal.user_id, card_ref, rendered.known_seq(
            rendered.alias(card_ref), conditions.known_seq()))
        key = rendered.alias(card_ref, etag_key("card", card_id))
        body = rendered.body(key, seq, body)
        if body is None and not conditions.matches(seq, key):  # the seq held was another card's
            card_id, seq, body = await card_json(state, principal.user_id, str(card_id))
            body = rendered.body(key, seq, body)
        return tagged_json(request, body, seq, key, conditions)

    @patch("/{card_ref:str}")
    async def update(self, request: Request, principal: Principal, card_ref: str, data: CardPatch,
                     if_match: str | None = IF_MATCH) -> Response[CardOut]:
        """Change the named fields; `base_version` or If-Match lets the answer report conflicts."""
        return await edit_card(request, principal, card_ref, data, if_match)

    @delete("/{card_ref:str}", status_code=200)
    async def remove(self, request: Request, principal: Principal,
                     card_ref: str) -> Response[CardOut]:
        """Soft delete; the card stays readable by id and key with `deleted_at` set."""
        return await execute(request, principal,
                             lambda m: CardService(m).delete(principal, card_ref))

    @post("/{card_ref:str}/restore", status_code=200)
    async def restore(self, request: Request, principal: Principal,
                      card_ref: str) -> Response[CardOut]:
        return await execute(request, principal,
                             lambda m: CardService(m).restore(principal, card_ref))

    @post("/{card_ref:str}/move", status_code=200)
    async def move(self, request: Request, principal: Principal, card_ref: str, data: CardMove,
                   if_match: str | None = IF_MATCH) -> Response[CardOut]:
        """Into a column of the same board: before or after a card, or at the top or bottom."""
        return await move_card(request, principal, card_ref, data, if_match)

    @get("/{card_ref:str}/comments")
    async def list_comments(self, principal: Principal, db: AsyncSession,
                            card_ref: str) -> list[CommentOut]:
        return await CommentService(db).list(principal, card_ref)

    @post("/{card_ref:str}/comments", status_code=201)
    async def add_comment(self, request: Request, principal: Principal, card_ref: str,
                          data: CommentCreate) -> Response[CommentOut]:
        return await execute(request, principal,
                             lambda m: CommentService(m).create(principal, card_ref, data), 201)

    @get("/{card_ref:str}/activity")
    async def activity(self, principal: Principal, db: AsyncSession, card_ref: str,
                       limit: int = Parameter(default=100, ge=1, le=1000)) -> list[ChangeOut]:
        """The card's changes and its comments' changes, newest first."""
        return await card_activity(db, principal, card_ref, limit)


class CommentController(Controller):
    path = "/api/v1/comments/{comment_id:uuid}"
    tags = ["cards"]

    @patch("/")
    async def update(self, request: Request, principal: Principal, comment_id: uuid.UUID,
                     data: CommentPatch) -> Response[CommentOut]:
        """Only the author edits; the comment is marked edited."""
        return await execute(request, principal,
                             lambda m: CommentService(m).update(principal, comment_id, data))

    @delete("/", status_code=200)
    async def remove(self, request: Request, principal: Principal,
                     comment_id: uuid.UUID) -> Response[CommentOut]:
        """The author or a workspace admin deletes; the comment leaves the list."""
        return await execute(request, principal,
                             lambda m: CommentService(m).delete(principal, comment_id))


ROUTES = [BoardCardController, CardController, CommentController]
