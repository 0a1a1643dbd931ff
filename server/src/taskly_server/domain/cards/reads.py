"""Card reads rendered by Postgres: `taskly_card_json` (db/sql/) makes a card's wire form and
`taskly_cards_json` many cards' as one array, and the server sends the text as it comes (no ORM
object or pydantic model per card). The documents equal `CardRenderer`'s (tests/server/test_reads.py holds them to it).

A card and a board's cards are each one statement on the driver (lib/rendered.py's `fetch`) that
also checks the caller's membership; when it finds nothing, the checked path of queries.py runs
to raise the right error (404, 409 or 403).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from litestar.datastructures import State
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ...lib.rendered import NO_SEQ, CardList, fetch
from .queries import CARDS_BY_KEY, MAX_NUMBER, load_board, load_card, parse_card_reference

# The workspace's seq and id, when the caller is a member of the board's (`held_response`'s statement).
BOARD_SEQ = """
SELECT w.seq, w.id
  FROM boards b
  JOIN workspaces w ON w.id = b.workspace_id AND w.deleted_at IS NULL
  JOIN members m ON m.workspace_id = w.id AND m.user_id = $2
 WHERE b.id = $1 AND b.deleted_at IS NULL
"""

# Each: the card's id, the workspace's seq, and the card (not rendered when the seq is $3's, the
# one of the client's ETag: lib/rendered.py).
_CARD_BY_ID = """
SELECT c.id, w.seq, CASE WHEN w.seq = $3 THEN NULL ELSE taskly_card_json(c.id)::text END
  FROM cards c
  JOIN boards b ON b.id = c.board_id AND b.deleted_at IS NULL
  JOIN workspaces w ON w.id = c.workspace_id AND w.deleted_at IS NULL
  JOIN members m ON m.workspace_id = c.workspace_id AND m.user_id = $2
 WHERE c.id = $1
"""

_CARD_BY_KEY = ("SELECT c.id, w.seq, CASE WHEN w.seq = $4 THEN NULL ELSE taskly_card_json(c.id)::text END"
                + CARDS_BY_KEY)

_BOARD_CARDS = """
SELECT w.seq, CASE WHEN w.seq = $4 THEN NULL ELSE taskly_cards_json(ARRAY(
           SELECT c.id
             FROM cards c
             JOIN board_columns col ON col.id = c.column_id
            WHERE c.board_id = b.id AND ($3 OR c.deleted_at IS NULL)
            ORDER BY col.rank, c.rank, c.id)) END,
       ARRAY(SELECT col.id::text FROM board_columns col WHERE col.board_id = b.id ORDER BY col.rank)
  FROM boards b
  JOIN workspaces w ON w.id = b.workspace_id AND w.deleted_at IS NULL
  JOIN members m ON m.workspace_id = b.workspace_id AND m.user_id = $2
 WHERE b.id = $1 AND b.deleted_at IS NULL
"""


async def card_json(state: State, user_id: uuid.UUID, ref: str,
                    known_seq: int = NO_SEQ) -> tuple[uuid.UUID, int, bytes | None]:
    """The card `ref` names (id or key), if the caller is a member of its workspace: its id, the
    workspace's seq and its JSON (None when the seq is `known_seq`)."""
    reference = parse_card_reference(ref)
    rows: list = []
    if reference is not None:
        card_id, board_key, number = reference
        if card_id is not None:
            rows = await fetch(state.engine, _CARD_BY_ID, card_id, user_id, known_seq)
        elif number is not None and number <= MAX_NUMBER:
            rows = await fetch(state.engine, _CARD_BY_KEY, board_key, number, user_id, known_seq)
    if len(rows) != 1:
        # Not found, ambiguous or not allowed: the checked path raises the error; should the card
        # have appeared in between, it is rendered by id.
        async with state.sessionmaker() as db:
            card = await load_card(db, user_id, ref)
        rows = await fetch(state.engine, _CARD_BY_ID, card.id, user_id, known_seq)
    [(found_id, seq, body)] = rows
    return found_id, seq, None if body is None else body.encode()


def board_card_list(board_id: uuid.UUID, columns: Sequence[str], start: int, end: int,
                    tiebreak: str, include_deleted: bool = False) -> CardList:
    """Where a board's cards are in a held document (`body[start:end]`) and their order: column
    (`columns`, the board's column ids in rank order), rank, then `tiebreak`; deleted cards only
    with `include_deleted`. A card in a column not in `columns` cannot be placed (KeyError: the
    document is rendered again)."""
    position = {column: n for n, column in enumerate(columns)}
    board = str(board_id)

    def order(card: Mapping[str, Any]) -> tuple[int, str, Any] | None:
        if card["board_id"] != board or (card["deleted_at"] is not None and not include_deleted):
            return None
        return position[card["column_id"]], card["rank"], card[tiebreak]

    return CardList(start, end, order, ("board_id", "deleted_at", "column_id", "rank", tiebreak))


async def board_cards_json(state: State, user_id: uuid.UUID, board_id: uuid.UUID,
                           include_deleted: bool = False, known_seq: int = NO_SEQ
                           ) -> tuple[int, bytes | None, CardList | None]:
    """The workspace's seq and the board's cards as a JSON array in board order (column rank, card
    rank, id), and where they are in it; None for the cards when the seq is `known_seq`."""
    rows = await fetch(state.engine, _BOARD_CARDS, board_id, user_id, include_deleted, known_seq)
    if not rows:
        async with state.sessionmaker() as db:
            await load_board(db, user_id, board_id)  # raises 404 (or the board appeared)
        rows = await fetch(state.engine, _BOARD_CARDS, board_id, user_id, include_deleted, known_seq)
    [(seq, body, columns)] = rows
    if body is None:
        return seq, None, None
    encoded = body.encode()
    return seq, encoded, board_card_list(board_id, columns, 1, len(encoded) - 1, "id", include_deleted)


_LIVE_CARDS = text("""
SELECT taskly_cards_json(ARRAY(
           SELECT c.id
             FROM cards c
             JOIN board_columns col ON col.id = c.column_id
            WHERE c.board_id = :board_id AND c.deleted_at IS NULL
            ORDER BY col.rank, c.rank, c.number))
""")


async def live_cards_json(db: AsyncSession, board_id: uuid.UUID) -> bytes:
    """The board's live cards as a JSON array, as `BoardDetail.cards` orders them (column rank,
    card rank, number); the caller has checked access."""
    return (await db.scalar(_LIVE_CARDS, {"board_id": board_id})).encode()
