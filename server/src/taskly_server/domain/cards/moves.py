"""Moving cards in batches: one statement, one transaction and one commit for many moves.

`taskly_move_cards` (migration 0003) makes a batch of moves in order: it locks each card and its
target column, places the card, and numbers the Changes at the end, so the workspace row that
orders the feed is held once per batch instead of once per move, through its commit. Each server
process runs one batch at a time (`batching.Batches`); the moves that arrive meanwhile make the
next batch, so an idle server still answers a lone move at once, and a busy one commits many
moves together.

The statement skips whatever is not a permitted, well-formed move — a replayed key, a missing or
ambiguous card, a low role, an unknown column or anchor — and so does this module for references
it cannot pass on; `CardService.move` then makes that move the general way, with the precise
error when there is one.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import structlog
from litestar import Request, Response
from litestar.enums import MediaType
from sqlalchemy.ext.asyncio import AsyncEngine
from taskly_shared.models import CardMove, Role

from ...batching import Batches
from ..auth.tokens import Principal
from ..sync.mutation import (
    MAX_ATTEMPTS,
    RETRYABLE_SQLSTATES,
    announce,
    execute,
    fingerprint_of,
    idempotency_key,
    newest_seqs,
)
from ..workspaces.access import roles_at_least
from .edits import TRACKED_FIELDS
from .lookup import as_uuid, parse_card_reference
from .services import CardService, base_version_of

log = structlog.get_logger("taskly.cards")

MOVE_CARDS = ("SELECT out_body, out_workspace, out_seq FROM taskly_move_cards("
              + ", ".join(f"${n}" for n in range(1, 19)) + ")")
MEMBER_ROLES = roles_at_least(Role.MEMBER)
MAX_BATCH = 100
"""Moves per statement at most: every card and column it locks stays locked to its commit."""

Move = tuple[Any, ...]
"""One move's arguments, in the order of `taskly_move_cards`' arrays."""


async def move_card(request: Request, principal: Principal, ref: str, data: CardMove,
                    if_match: str | None) -> Response[Any]:
    """`POST /cards/{ref}/move`: in the next batch, else by `CardService.move`."""
    base_version = base_version_of(data.base_version, if_match)
    move = _arguments(principal, ref, data, base_version)
    if move is not None:
        key = idempotency_key(request)
        move += (key, await fingerprint_of(request) if key else None)
        body = await batcher(request.app.state).submit(move)
        if body is not None:
            return Response(body, media_type=MediaType.JSON)
    return await execute(request, principal,
                         lambda m: CardService(m).move(principal, ref, data, if_match))


def batcher(state: Any) -> Batches[Move, bytes | None]:
    """The app's batches of moves, made on first use."""
    found = getattr(state, "move_batches", None)
    if found is None:
        found = state.move_batches = Batches(lambda moves: _move_cards(state, moves), MAX_BATCH)
    return found


async def _move_cards(state: Any, moves: list[Move]) -> list[bytes | None]:
    """One statement for the batch; each move's answer, or None for the general path."""
    rows = await _execute(state.engine, moves)
    newest = newest_seqs((workspace_id, seq) for _, workspace_id, seq in rows)
    if newest:
        await announce(state, newest)
    return [body.encode() if body is not None else None for body, _, _ in rows]


async def _execute(engine: AsyncEngine, moves: list[Move]) -> list[tuple[str | None, Any, int | None]]:
    """The statement's rows; on an unexpected error, no answers (the general path decides)."""
    columns = [list(column) for column in zip(*moves, strict=True)]
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            async with engine.connect() as connection:
                raw = await connection.get_raw_connection()
                return await raw.driver_connection.fetch(MOVE_CARDS, MEMBER_ROLES, TRACKED_FIELDS,
                                                         *columns)
        except asyncpg.PostgresError as exc:
            if exc.sqlstate in RETRYABLE_SQLSTATES and attempt < MAX_ATTEMPTS:
                continue
            log.warning("card_moves_failed", sqlstate=exc.sqlstate, error=str(exc), moves=len(moves))
        except Exception as exc:  # the database is unreachable, say: each move finds out alone
            log.warning("card_moves_failed", error=repr(exc), moves=len(moves))
        break
    return [(None, None, None)] * len(moves)


def _arguments(principal: Principal, ref: str, data: CardMove,
               base_version: int | None) -> Move | None:
    """The move's arguments but its idempotency key and fingerprint; None when the request
    needs the general path (which also gives the errors)."""
    card = parse_card_reference(ref)
    anchor_ref = data.before or data.after
    anchor = parse_card_reference(anchor_ref, numbers=True) if anchor_ref is not None else (None, None, None)
    placements = [p for p in (data.before, data.after, data.position) if p is not None]
    # By id, or by name when ASCII (where Python's and Postgres' lower() agree).
    column_id, column_name = as_uuid(data.column), data.column.strip().lower()
    if card is None or anchor is None or len(placements) > 1 \
            or (column_id is None and not column_name.isascii()):
        return None
    if anchor_ref is not None:
        position = "before" if data.before is not None else "after"
    else:
        position = data.position or "bottom"
    return (
        principal.user_id, *card, column_id, column_name if column_id is None else None,
        position, *anchor, base_version,
        principal.actor_type, principal.token_id or principal.user_id, principal.username,
    )
