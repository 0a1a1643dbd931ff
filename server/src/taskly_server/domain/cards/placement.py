"""The Python side of `taskly_move_cards` (db/sql), the one mechanism that changes an existing
card's column or rank.

Every mover builds `Move`s and runs them here: the move endpoint's batches (moves.py, one
statement on a connection of their own), CardService (PATCH, bulk update and the move endpoint's
general path), pull-request automation (pulls/effects.py) and column deletion (boards/columns.py),
these inside their write's transaction (`make_moves`). create_branch's starts reach the function
from SQL (taskly_start_cards). The function decides placement, rank, version, the card's wire form
and its Change row; a move it refuses comes back with a code (`REFUSALS`), which
`CardService.refusal` turns into the error the checks it replaced raised.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

from asyncpg import Connection
from sqlalchemy import text
from taskly_shared.models import CardMove, Role

from ...lib.access import roles_at_least
from ...lib.mutation import Mutation
from ...lib.principal import Principal
from .edits import TRACKED_FIELDS
from .queries import CardReference, as_uuid, parse_card_reference

MEMBER_ROLES = roles_at_least(Role.MEMBER)
"""The roles that may move a card (the `p_roles` of the function)."""
CARD_REFUSALS = frozenset({"card_not_found", "card_ambiguous", "forbidden"})
REFUSALS = ("position_invalid", *sorted(CARD_REFUSALS), "board_archived", "column_not_found",
            "anchor_not_found", "anchor_not_in_column", "anchor_is_card", "replayed")
"""The codes of a refused move, which changes nothing; `replayed`: its Idempotency-Key was used."""


class Move(NamedTuple):
    """One move as `taskly_move_cards` takes it: one array per field, in this order."""

    user_id: uuid.UUID | None = None
    """Whose role decides; None for a caller that checked access itself (it names the card by id)."""
    card_id: uuid.UUID | None = None
    card_board: str | None = None
    card_number: int | None = None
    column_id: uuid.UUID | None = None
    column_name: str | None = None
    """The target column, by id or by lower-case name; not read when staying."""
    position: str = "bottom"
    """top, bottom, before or after the anchor, or stay (column and rank kept)."""
    anchor_id: uuid.UUID | None = None
    anchor_board: str | None = None
    anchor_number: int | None = None
    base_version: int | None = None
    actor_type: str = "user"
    actor_id: uuid.UUID | None = None
    actor_name: str | None = None
    key: str | None = None
    """The Change's mutation id (the request's Idempotency-Key)."""
    fingerprint: str | None = None
    """Set when the statement claims `key` itself and stores the answer (the endpoint's batches)."""
    before: str | None = None
    """The card's wire form (JSON) before the caller's other edits in this transaction; None: now."""
    op: str | None = None
    """The Change's op; None: `move` when only placement fields changed, else `update`."""
    extra_changes: str | None = None
    """A JSON object merged into the Change's `changes` (automation's `pull_requests`)."""
    delivery_id: str | None = None
    edits: str | None = None
    """A JSON object of the card's own fields to set first (column name -> stored value, checked)."""

    @classmethod
    def of(cls, principal: Principal, card: CardReference, **fields: Any) -> Move:
        """A move of `card` by the user of the request (the function checks their role)."""
        return cls(principal.user_id, *card, actor_type=principal.actor_type,
                   actor_id=principal.token_id or principal.user_id,
                   actor_name=principal.username, **fields)

    @classmethod
    def by(cls, mutation: Mutation, **fields: Any) -> Move:
        """A move by a caller that checked access, attributed as `mutation` records its changes."""
        return cls(**{"actor_type": mutation.actor_type, "actor_id": mutation.actor_id,
                      "actor_name": mutation.actor_name, "key": mutation.mutation_id,
                      "delivery_id": mutation.delivery_id, **fields})


class Placed(NamedTuple):
    """The function's answer to one move."""

    body: str | None
    """The card's wire form (JSON, with its conflicts); None when refused."""
    workspace_id: uuid.UUID | None
    seq: int | None
    """The Change written (both None when nothing changed or the move was refused)."""
    code: str | None
    """Why the move was refused (one of `REFUSALS`); None when it was made."""


def requested_move(principal: Principal, card: CardReference, data: CardMove,
                   base_version: int | None) -> Move:
    """The move a `POST /cards/{ref}/move` body asks for.

    An anchor that names no card passes as none (the function refuses it as not found, after the
    card and column checks); a non-ASCII column name passes as none, Postgres' lower() agreeing
    with Python's on ASCII only (CardService resolves it).
    """
    anchor_ref = data.before or data.after
    anchor = parse_card_reference(anchor_ref, numbers=True) if anchor_ref is not None else None
    if anchor_ref is not None:
        position = "before" if data.before is not None else "after"
    else:
        position = data.position or "bottom"
    name = data.column.strip().lower()
    anchor_id, anchor_board, anchor_number = anchor or (None, None, None)
    return Move.of(principal, card, column_id=as_uuid(data.column),
                   column_name=name if name.isascii() else None, position=position,
                   anchor_id=anchor_id, anchor_board=anchor_board, anchor_number=anchor_number,
                   base_version=base_version)


_COUNT = len(Move._fields) + 2
_OPTIONAL = tuple(Move._fields.index(f)
                  for f in ("before", "op", "extra_changes", "delivery_id", "edits"))
_CALL = ("SELECT out_body, out_workspace, out_seq, out_code FROM taskly_move_cards("
         + ", ".join(f"${n}" for n in range(1, _COUNT + 1)) + ")")
_CALL_TEXT = text("SELECT out_body, out_workspace, out_seq, out_code FROM taskly_move_cards("
                  + ", ".join(f":p{n}" for n in range(1, _COUNT + 1)) + ")")


def _arguments(moves: Sequence[Move]) -> list[Any]:
    """The function's arguments: an array per field; the optional fields NULL when nobody set them."""
    columns: list[Any] = [list(column) for column in zip(*moves, strict=True)]
    for index in _OPTIONAL:
        if all(value is None for value in columns[index]):
            columns[index] = None
    return [MEMBER_ROLES, TRACKED_FIELDS, *columns]


async def run_moves(connection: Connection, moves: Sequence[Move]) -> list[Placed]:
    """One statement on an asyncpg connection; outside a transaction it commits by itself."""
    rows = await connection.fetch(_CALL, *_arguments(moves))
    return [Placed(*row) for row in rows]


async def make_moves(mutation: Mutation, moves: Sequence[Move]) -> list[Placed]:
    """The moves in the transaction of `mutation`'s session (the caller's edits flushed); their
    Changes are announced with the rows it records after commit.

    Call it after the caller's other row locks and before `mutation.flush`: the function locks
    the target columns, then the workspace rows (for the Changes it writes), and every writer
    takes them in that order.
    """
    if not moves:
        return []
    arguments = _arguments(moves)
    result = await mutation.db.execute(
        _CALL_TEXT, {f"p{n}": value for n, value in enumerate(arguments, start=1)})
    placed = [Placed(*row) for row in result.all()]
    for answer in placed:
        if answer.seq is not None:
            mutation.note_written(answer.workspace_id, answer.seq)
    return placed
