"""Finding what a request names: cards by id or key, columns by name or id, a new card's rank."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cache

from fractional_indexing import generate_key_between
from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.errors import ErrorCode
from taskly_shared.keys import format_card_key, parse_card_key
from taskly_shared.models import Role

from ...db.models import Board, BoardColumn, Card, CardPullRequest, Member, User, Workspace
from ...errors import Conflict, Invalid, NotFound
from ...lib.access import refuse_archived, require_role, roles_at_least
from ...lib.rendered import fetch


def as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


MAX_NUMBER = 2**31 - 1
"""Card numbers are Postgres integers: a larger one names no card."""

CardReference = tuple[uuid.UUID | None, str | None, int | None]


def parse_card_reference(ref: str, numbers: bool = False) -> CardReference | None:
    """A card by id (id, None, None), by key (None, board key, number) or, with `numbers`, by
    number in the board at hand (None, None, number); None for anything else."""
    card_id = as_uuid(ref)
    if card_id is not None:
        return card_id, None, None
    key = parse_card_key(ref)
    if key is not None:
        return (None, *key) if key[1] <= MAX_NUMBER else None
    text = ref.strip()
    if numbers and text.isascii() and text.isdigit() and len(text) <= 9:
        return None, None, int(text)
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


async def find_cards_by_id(db: AsyncSession, refs: list[str]) -> dict[str, CardHandle]:
    """The cards that `refs` name by id, found in one query (ref → handle; the others are not in
    it: `find_card` says why). Access is the caller's to check, as after `find_card`."""
    ids = {ref: card_id for ref in refs if (card_id := as_uuid(ref)) is not None}
    if not ids:
        return {}
    rows = (await db.execute(
        select(Card.id, Card.workspace_id, Card.board_id).join(Board, Board.id == Card.board_id)
        .where(Card.id.in_(set(ids.values())), Board.deleted_at.is_(None))
    )).all()
    found = {row.id: CardHandle(row.id, row.workspace_id, row.board_id) for row in rows}
    return {ref: found[card_id] for ref, card_id in ids.items() if card_id in found}


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


@dataclass(slots=True)
class CardContext:
    """A card and what rendering and placing it needs, as `load_card_context` found them."""

    card: Card
    board: Board | None = None
    """None when not loaded here (the renderer loads it)."""
    columns: list[BoardColumn] = field(default_factory=list)
    """The board's columns in board order, when `board` is loaded."""
    creator: str | None = None
    """The username of `card.created_by`, when known."""
    unlinked: bool = False
    """True when the card is known to have no pull requests."""


def _permitted(query: Select, minimum: Role) -> Select:
    """`query` over the card with id :card_id, if user :user_id may use it with `minimum`.

    The conditions of `find_card` and `require_role` together: a live board, a live workspace,
    and a membership with a role at least `minimum`.
    """
    return (
        query.join(Board, Board.id == Card.board_id)
        .join(Member, and_(Member.workspace_id == Card.workspace_id,
                           Member.user_id == bindparam("user_id")))
        .join(Workspace, Workspace.id == Card.workspace_id)
        .where(Card.id == bindparam("card_id"), Board.deleted_at.is_(None),
               Workspace.deleted_at.is_(None), Member.role.in_(roles_at_least(minimum)))
    )


def _locked(query: Select, lock: bool) -> Select:
    if not lock:
        return query
    return query.with_for_update(of=Card).execution_options(populate_existing=True)


@cache
def _card_query(minimum: Role, lock: bool) -> Select:
    """Built once per variant, so SQLAlchemy's cache key is computed once too."""
    return _locked(_permitted(select(Card).select_from(Card), minimum), lock)


@cache
def _context_query(minimum: Role, lock: bool) -> Select:
    """The card, its board, the board's columns (a row each), its author's name, whether linked."""
    creator = select(User.username).where(User.id == Card.created_by).scalar_subquery()
    linked = select(CardPullRequest.card_id).where(CardPullRequest.card_id == Card.id).exists()
    query = _permitted(
        select(Card, Board, BoardColumn, creator.label("creator"), linked.label("linked"))
        .select_from(Card), minimum,
    ).outerjoin(BoardColumn, BoardColumn.board_id == Card.board_id).order_by(BoardColumn.rank)
    return _locked(query, lock)


async def load_card(db: AsyncSession, user_id: uuid.UUID, ref: str, minimum: Role = Role.VIEWER,
                    lock: bool = False) -> Card:
    """The card named by `ref` once the caller's role allows; `lock` holds its row to commit.

    A card the caller may use costs one query (two for a key); the errors, which must tell a
    missing card from a low role, come from the separate steps of `_load_checked`.
    """
    card_id = await _card_id(db, user_id, ref)
    card = await db.scalar(_card_query(minimum, lock), {"card_id": card_id, "user_id": user_id})
    if card is None:
        card = await _load_checked(db, user_id, ref, minimum, lock)
    if minimum != Role.VIEWER:  # a write: not on an archived board
        refuse_archived(await db.get_one(Board, card.board_id))
    return card


# The cards (c) a key names ($1 the board's key, $2 the number) in the workspaces (w) of a member
# ($3); two rows when it is ambiguous (409 on the checked path).
CARDS_BY_KEY = """
  FROM boards b
  JOIN cards c ON c.board_id = b.id AND c.number = $2
  JOIN workspaces w ON w.id = c.workspace_id AND w.deleted_at IS NULL
  JOIN members m ON m.workspace_id = c.workspace_id AND m.user_id = $3
 WHERE b.key = $1 AND b.deleted_at IS NULL
 LIMIT 2
"""
_IDS_BY_KEY = "SELECT c.id" + CARDS_BY_KEY


async def _card_id(db: AsyncSession, user_id: uuid.UUID, ref: str) -> uuid.UUID:
    """The id `ref` gives, or the id of the card its key names: one statement on the driver (a
    third of a card write's time went into building `find_card`'s query), else `find_card`, which
    raises the error (404 or 409)."""
    card_id = as_uuid(ref)
    if card_id is not None:
        return card_id
    key = parse_card_key(ref)
    if key is not None and key[1] <= MAX_NUMBER:
        rows = await fetch(db.bind, _IDS_BY_KEY, *key, user_id)
        if len(rows) == 1:
            return rows[0][0]
    return (await find_card(db, user_id, ref)).id


async def load_card_context(db: AsyncSession, user_id: uuid.UUID, ref: str,
                            minimum: Role = Role.VIEWER, lock: bool = False) -> CardContext:
    """Like `load_card`, with the card's board, columns and author's name in the same query."""
    params = {"card_id": await _card_id(db, user_id, ref), "user_id": user_id}
    rows = (await db.execute(_context_query(minimum, lock), params)).all()
    if rows:
        card, board = rows[0][0], rows[0][1]
        columns = [row[2] for row in rows if row[2] is not None]
        found = CardContext(card, board, columns, rows[0].creator, not rows[0].linked)
    else:
        found = CardContext(await _load_checked(db, user_id, ref, minimum, lock))
    if minimum != Role.VIEWER:  # a write: not on an archived board
        refuse_archived(found.board or await db.get_one(Board, found.card.board_id))
    return found


async def _load_checked(db: AsyncSession, user_id: uuid.UUID, ref: str, minimum: Role,
                        lock: bool) -> Card:
    """Find, check the role, then load: each step raises its own error (404, 409 or 403)."""
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
    if minimum != Role.VIEWER:  # a write: not on an archived board
        refuse_archived(board)
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


_COLUMNS = BoardColumn.__table__
_CARDS = Card.__table__
# Core statements built once: every card creation skips building and keying them.
_LOCK_COLUMN = (select(_COLUMNS.c.id).where(_COLUMNS.c.id == bindparam("column_id"))
                .with_for_update(key_share=True))


async def lock_column(db: AsyncSession, column_id: uuid.UUID) -> None:
    """Serialises rank choices inside one column (FK checks of card writes are not blocked), as
    the move function locks its target columns: a new card's, or a bulk update's targets in id
    order before the function places the cards.

    The ranks must be read by a later statement than this one: a statement reads the rows
    committed when it started, so a read in the same statement could miss the card that the
    transaction we waited for has just placed.
    """
    await db.execute(_LOCK_COLUMN, {"column_id": column_id})


_LAST_RANK = (select(_CARDS.c.rank).where(_CARDS.c.column_id == bindparam("column_id"))
              .order_by(_CARDS.c.rank.desc()).limit(1))


async def last_rank(db: AsyncSession, column_id: uuid.UUID) -> str | None:
    """The last rank of a column's cards, deleted ones included so a restored card never ties.

    Where a new card goes; a card already made moves through the move function
    (placement.py), which ranks in SQL.
    """
    return await db.scalar(_LAST_RANK, {"column_id": column_id})


_FIRST_RANK = (select(_CARDS.c.rank).where(_CARDS.c.column_id == bindparam("column_id"))
               .order_by(_CARDS.c.rank.asc()).limit(1))


async def first_rank(db: AsyncSession, column_id: uuid.UUID) -> str | None:
    """The first rank of a column's cards, deleted ones included (see `last_rank`)."""
    return await db.scalar(_FIRST_RANK, {"column_id": column_id})


def rank_between(lower: str | None, upper: str | None, current: str | None = None) -> str:
    """`current` when it already lies between the bounds, else a new key between them."""
    above_lower = current is not None and (lower is None or lower < current)
    if above_lower and (upper is None or current < upper):
        return current
    return generate_key_between(lower, upper)
