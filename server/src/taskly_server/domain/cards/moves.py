"""The move and edit endpoints in batches: one statement, one transaction and one commit for many.

A batch is one call of `taskly_move_cards`, the one mechanism that changes a card's column
(placement.py): it makes the moves in order, locking each card and its target column, and numbers
the Changes at the end, so the workspace row that orders the feed is held once per batch instead
of once per move, through its commit. Each server process runs one batch at a time
(`batching.Batches`); the moves that arrive meanwhile make the next batch, so an idle server still
answers a lone move at once, and a busy one commits many moves together.

A move the function refuses comes back with a code, which `CardService.refusal` turns into the
error; a replayed Idempotency-Key, a request the batches do not take (a card reference that names
no card, two placements, a non-ASCII column name) and a failed batch go to `CardService.move` in a
transaction of their own (`execute`), which answers the replay or calls the function itself.

A PATCH that sets only the card's own fields (`OWN_FIELDS`: title, description, priority, points,
due, reminder, recurrence, branch) joins the same batches as a move that stays, carrying the
checked values (`Move.edits`); one that names labels, assignees, a sprint or a column, that the
function refuses or whose batch failed goes to `CardService.update`.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import structlog
from litestar import Request, Response
from litestar.enums import MediaType
from sqlalchemy.ext.asyncio import AsyncEngine
from taskly_shared.models import CardMove, CardPatch

from ...errors import DomainError
from ...lib.batching import Batches
from ...lib.mutation import (
    MAX_ATTEMPTS,
    RETRYABLE_SQLSTATES,
    announce,
    execute,
    fingerprint_of,
    idempotency_key,
    newest_seqs,
)
from ...lib.principal import Principal
from .edits import OWN_FIELDS, stored_value
from .placement import Move, Placed, requested_move, run_moves
from .queries import parse_card_reference
from .services import CardService, base_version_of

log = structlog.get_logger("taskly.cards")

MAX_BATCH = 100
"""Moves per statement at most: every card and column it locks stays locked to its commit."""
UNANSWERED = Placed(None, None, None, None)
"""A move of a failed batch: the general path makes it."""


async def move_card(request: Request, principal: Principal, ref: str, data: CardMove,
                    if_match: str | None) -> Response[Any]:
    """`POST /cards/{ref}/move`: in the next batch, else by `CardService.move`."""
    base_version = base_version_of(data.base_version, if_match)
    move = _batchable(principal, ref, data, base_version)
    if move is not None:
        placed = await _submit(request, move)
        if placed.body is not None:
            return Response(placed.body.encode(), media_type=MediaType.JSON)
        if placed.code is not None and placed.code != "replayed":
            async with request.app.state.sessionmaker() as db:
                raise await CardService(db).refusal(principal, ref, data, placed.code)
    return await execute(request, principal,
                         lambda m: CardService(m).move(principal, ref, data, if_match))


async def edit_card(request: Request, principal: Principal, ref: str, data: CardPatch,
                    if_match: str | None) -> Response[Any]:
    """`PATCH /cards/{ref}`: in the next batch when it sets only the card's own fields, else by
    `CardService.update` (which also answers every refusal)."""
    base_version = base_version_of(data.base_version, if_match)
    edit = _batchable_edit(principal, ref, data, base_version)
    if edit is not None:
        placed = await _submit(request, edit)
        if placed.body is not None:
            return Response(placed.body.encode(), media_type=MediaType.JSON)
    return await execute(request, principal,
                         lambda m: CardService(m).update(principal, ref, data, if_match))


async def _submit(request: Request, move: Move) -> Placed:
    """The move in the next batch, claiming the request's Idempotency-Key there."""
    key = idempotency_key(request)
    if key is not None:
        move = move._replace(key=key, fingerprint=await fingerprint_of(request))
    return await batcher(request.app.state).submit(move)


def batcher(state: Any) -> Batches[Move, Placed]:
    """The app's batches of moves, made on first use."""
    found = getattr(state, "move_batches", None)
    if found is None:
        found = state.move_batches = Batches(lambda moves: _move_cards(state, moves), MAX_BATCH)
    return found


async def _move_cards(state: Any, moves: list[Move]) -> list[Placed]:
    """One statement for the batch, then the realtime notices of its Changes."""
    answers = await _execute(state.engine, moves)
    newest = newest_seqs((answer.workspace_id, answer.seq) for answer in answers)
    if newest:
        await announce(state, newest)
    return answers


async def _execute(engine: AsyncEngine, moves: list[Move]) -> list[Placed]:
    """The function's answers; on an unexpected error, none (the general path decides)."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            async with engine.connect() as connection:
                raw = await connection.get_raw_connection()
                return await run_moves(raw.driver_connection, moves)
        except asyncpg.PostgresError as exc:
            if exc.sqlstate in RETRYABLE_SQLSTATES and attempt < MAX_ATTEMPTS:
                continue
            log.warning("card_moves_failed", sqlstate=exc.sqlstate, error=str(exc), moves=len(moves))
        except Exception as exc:  # the database is unreachable, say: each move finds out alone
            log.warning("card_moves_failed", error=repr(exc), moves=len(moves))
        break
    return [UNANSWERED] * len(moves)


def _batchable(principal: Principal, ref: str, data: CardMove, base_version: int | None) -> Move | None:
    """The move, but its idempotency key and fingerprint; None when the request needs the general
    path: a card reference that names no card, two placements, a non-ASCII column name."""
    card = parse_card_reference(ref)
    placements = [p for p in (data.before, data.after, data.position) if p is not None]
    if card is None or len(placements) > 1:
        return None
    move = requested_move(principal, card, data, base_version)
    return move if move.column_id is not None or move.column_name is not None else None


def _batchable_edit(principal: Principal, ref: str, data: CardPatch,
                    base_version: int | None) -> Move | None:
    """The edit as a move that stays, its fields' stored values in `edits`; None when the request
    needs the general path: no field, a field not of `OWN_FIELDS`, a value it refuses (refused
    there, after the card's checks, as before), a card reference that names no card."""
    names = data.model_fields_set - {"base_version"}
    card = parse_card_reference(ref)
    if not names or not names <= OWN_FIELDS or card is None:
        return None
    try:
        values = {name: stored_value(name, getattr(data, name)) for name in names}
    except DomainError:
        return None
    edits = json.dumps(values, default=lambda value: value.isoformat())  # due, remind_at
    return Move.of(principal, card, position="stay", base_version=base_version, edits=edits)
