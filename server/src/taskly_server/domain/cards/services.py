"""Cards: create, read, edit field by field, move, delete, restore and bulk edit."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.errors import ErrorCode
from taskly_shared.models import (
    BulkUpdate,
    CardCreate,
    CardMove,
    CardOut,
    CardPatch,
    FieldConflict,
    Role,
)

from ...db.base import utcnow
from ...db.models import Board, BoardColumn, Card, Change
from ...errors import Conflict, DomainError, Invalid
from ..auth.tokens import Principal
from ..sync.mutation import Mutation
from ..workspaces.access import require_role
from .edits import EDITABLE, PLACEMENT, TRACKED, FieldEditor
from .lookup import (
    Ranks,
    board_columns,
    find_card,
    load_board,
    load_card_context,
    lock_column,
    parse_card_reference,
    pick_column,
    rank_between,
    shown,
)
from .views import CardRenderer

IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')
MAX_BASE_VERSION = 2**31 - 1


def base_version_of(body_value: int | None, if_match: str | None) -> int | None:
    """The version the client saw: `base_version` in the body, else the If-Match header."""
    if body_value is None and if_match is not None:
        match = IF_MATCH.match(if_match)
        if match is None:
            raise Invalid("If-Match must be the card version the client saw, e.g. If-Match: \"3\"")
        body_value = int(match[1])
    if body_value is not None and body_value > MAX_BASE_VERSION:
        raise Invalid("base_version is larger than any card version")
    return body_value


class CardService:
    """Reads take a session; writes take the Mutation of `execute` and record their changes."""

    def __init__(self, target: AsyncSession | Mutation) -> None:
        self.mutation = target if isinstance(target, Mutation) else None
        self.db = target.db if isinstance(target, Mutation) else target
        self.views = CardRenderer(self.db)
        self.editor = FieldEditor(self.db)
        self.columns: dict[uuid.UUID, list[BoardColumn]] = {}
        self.locked_columns: set[uuid.UUID] = set()

    # --- reads -----------------------------------------------------------------------------

    async def get(self, principal: Principal, ref: str) -> CardOut:
        return await self.views.one(await self._load(principal, ref))

    async def list(self, principal: Principal, board_id: uuid.UUID,
                   include_deleted: bool = False) -> list[CardOut]:
        """A board's cards in board order: by column rank, then card rank."""
        await load_board(self.db, principal.user_id, board_id)
        query = (
            select(Card).join(BoardColumn, BoardColumn.id == Card.column_id)
            .where(Card.board_id == board_id).order_by(BoardColumn.rank, Card.rank, Card.id)
        )
        if not include_deleted:
            query = query.where(Card.deleted_at.is_(None))
        return await self.views.many((await self.db.scalars(query)).all())

    # --- writes ----------------------------------------------------------------------------

    async def create(self, principal: Principal, board_id: uuid.UUID, data: CardCreate) -> CardOut:
        """A card at the bottom of its column, numbered next in its board without gaps."""
        board = await load_board(self.db, principal.user_id, board_id, Role.MEMBER)
        if data.id is not None and await self.db.get(Card, data.id) is not None:
            raise Conflict(f"a card with id {data.id} exists", code=ErrorCode.DUPLICATE)
        column = pick_column(await board_columns(self.db, board.id), data.column)
        card = Card(id=data.id or uuid.uuid4(), workspace_id=board.workspace_id, board_id=board.id,
                    column_id=column.id, title="", description="", labels=[], priority="none",
                    recurrence="none", recurrence_interval=1, assignee_ids=[],
                    created_by=principal.user_id, version=1)
        await self.editor.apply(card, data, set(EDITABLE))
        # The board row stays locked to commit: numbers are consecutive and never skipped.
        number = await self.db.scalar(
            update(Board).where(Board.id == board.id)
            .values(next_card_number=Board.next_card_number + 1)
            .returning(Board.next_card_number - 1)
        )
        await self._lock_column(column.id)
        card.number = number
        card.rank = rank_between(await Ranks(self.db, column.id).last(), None)
        card.created_at = card.updated_at = utcnow()
        self.db.add(card)
        try:
            await self.db.flush()
        except IntegrityError:
            raise Conflict(f"a card with id {card.id} exists", code=ErrorCode.DUPLICATE) from None
        out = await self.views.one(card)
        wire = out.model_dump(mode="json")
        self.mutation.record(card.workspace_id, "card", card.id, "create",
                             changes={f: (None, wire[f]) for f in ("key", "number", *TRACKED)},
                             data=out, version=card.version)
        return out

    async def update(self, principal: Principal, ref: str, data: CardPatch,
                     if_match: str | None = None) -> CardOut:
        """Change only the fields the body names; `column` moves the card to its column's bottom."""
        base_version = base_version_of(data.base_version, if_match)
        card = await self._load(principal, ref, Role.MEMBER, lock=True)
        return await self._patch(card, data, base_version)

    async def move(self, principal: Principal, ref: str, data: CardMove,
                   if_match: str | None = None) -> CardOut:
        """Place a card in a column of its board: before or after a card, at the top or bottom."""
        base_version = base_version_of(data.base_version, if_match)
        placements = [p for p in (data.before, data.after, data.position) if p is not None]
        if len(placements) > 1:
            raise Invalid("give at most one of before, after and position")
        card = await self._load(principal, ref, Role.MEMBER, lock=True)
        before = await self.views.one(card)
        column = pick_column(await self._columns(card.board_id), data.column)
        await self._lock_column(column.id)
        anchor_ref = data.before or data.after
        anchor = await self._anchor(card, column, anchor_ref) if anchor_ref else None
        position = ("before" if data.before else "after") if anchor else data.position or "bottom"
        await self._place(card, column, position, anchor)
        return await self._commit(card, before, base_version)

    async def delete(self, principal: Principal, ref: str) -> CardOut:
        """Soft delete: the card leaves its board but stays readable by id and key."""
        card = await self._load(principal, ref, Role.MEMBER, lock=True)
        before = await self.views.one(card)
        if card.deleted_at is None:
            card.deleted_at = utcnow()
        return await self._commit(card, before, None, op="delete")

    async def restore(self, principal: Principal, ref: str) -> CardOut:
        card = await self._load(principal, ref, Role.MEMBER, lock=True)
        before = await self.views.one(card)
        card.deleted_at = None
        return await self._commit(card, before, None, op="restore")

    async def bulk_update(self, principal: Principal, data: BulkUpdate) -> list[CardOut]:
        """Every patch in one transaction: one failure and nothing is applied.

        Cards are locked in id order, then their target columns in id order, so two bulk
        updates over the same cards queue up instead of deadlocking.
        """
        items: list[tuple[uuid.UUID, Any]] = []
        seen: dict[uuid.UUID, str] = {}
        for item in data.cards:
            with _naming(item.card):
                handle = await find_card(self.db, principal.user_id, item.card)
                await require_role(self.db, handle.workspace_id, principal.user_id, Role.MEMBER,
                                   what="card")
                if handle.id in seen:
                    raise Invalid(f"the same card is also listed as {shown(seen[handle.id])}")
                seen[handle.id] = item.card
                items.append((handle.id, item))
        cards = {card.id: card for card in (await self.db.scalars(
            select(Card).where(Card.id.in_(seen)).order_by(Card.id)
            .with_for_update().execution_options(populate_existing=True)
        )).all()}
        targets: set[uuid.UUID] = set()
        for card_id, item in items:
            if "column" in item.model_fields_set and item.column is not None:
                with _naming(item.card):
                    columns = await board_columns(self.db, cards[card_id].board_id)
                    targets.add(pick_column(columns, item.column).id)
        for column_id in sorted(targets):
            await self._lock_column(column_id)
        results = []
        for card_id, item in items:
            with _naming(item.card):
                results.append(await self._patch(cards[card_id], item, item.base_version))
        return results

    # --- the steps of a write --------------------------------------------------------------

    async def _load(self, principal: Principal, ref: str, minimum: Role = Role.VIEWER,
                    lock: bool = False) -> Card:
        """The card `ref` names; what the renderer needs for it comes in the same query."""
        found = await load_card_context(self.db, principal.user_id, ref, minimum, lock)
        card = found.card
        if found.board is not None:
            self.views.boards[found.board.id] = found.board
            self.views.columns.update((column.id, column) for column in found.columns)
            self.columns[found.board.id] = found.columns
        if found.creator is not None and card.created_by is not None:
            self.views.usernames[card.created_by] = found.creator
        if found.unlinked:
            self.views.pull_requests[card.id] = []
        return card

    async def _lock_column(self, column_id: uuid.UUID) -> None:
        """`lock_column`, unless this transaction holds that lock already."""
        if column_id not in self.locked_columns:
            await lock_column(self.db, column_id)
            self.locked_columns.add(column_id)

    async def _columns(self, board_id: uuid.UUID) -> list[BoardColumn]:
        """The board's columns in board order, queried once per request."""
        if board_id not in self.columns:
            self.columns[board_id] = await board_columns(self.db, board_id)
        return self.columns[board_id]

    async def _patch(self, card: Card, data: CardPatch, base_version: int | None) -> CardOut:
        before = await self.views.one(card)
        names = data.model_fields_set
        await self.editor.apply(card, data, names)
        if "column" in names:
            if data.column is None:
                raise Invalid("column cannot be null")
            column = pick_column(await self._columns(card.board_id), data.column)
            if column.id != card.column_id:
                await self._lock_column(column.id)
                await self._place(card, column, "bottom")
        return await self._commit(card, before, base_version)

    async def _anchor(self, card: Card, column: BoardColumn, ref: str) -> Card:
        """The card to place next to: by id, key or number, in the target column."""
        found = parse_card_reference(ref, numbers=True)
        if found is None:
            raise Invalid(f"no card {shown(ref)} to place next to")
        card_id, board_key, number = found
        query = select(Card).where(Card.board_id == card.board_id)
        if card_id is not None:
            query = query.where(Card.id == card_id)
        elif board_key is not None:
            query = query.join(Board, Board.id == Card.board_id).where(
                Board.key == board_key, Card.number == number)
        else:
            query = query.where(Card.number == number)
        anchor = await self.db.scalar(query)
        if anchor is None or anchor.deleted_at is not None or anchor.column_id != column.id:
            raise Invalid(f"card {shown(ref)} is not in column {column.name!r}")
        if anchor.id == card.id:
            raise Invalid("a card cannot be placed next to itself")
        return anchor

    async def _place(self, card: Card, column: BoardColumn, position: str,
                     anchor: Card | None = None) -> None:
        """Give `card` a rank at `position` in `column` (whose row the caller has locked)."""
        lower, upper = await Ranks(self.db, column.id, moving=card.id).bounds(position, anchor)
        current = card.rank if card.column_id == column.id else None
        rank = rank_between(lower, upper, current)
        if card.column_id != column.id:
            card.column_id = column.id
        if card.rank != rank:
            card.rank = rank

    async def _commit(self, card: Card, before: CardOut, base_version: int | None,
                      op: str | None = None) -> CardOut:
        """Bump the version and record the Change when anything changed; report conflicts."""
        after = await self.views.one(card)
        old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
        changes = {f: (old[f], new[f]) for f in TRACKED if old[f] != new[f]}
        if not changes:
            return before
        conflicts = await self._conflicts(card.id, before.version, base_version, changes)
        card.version += 1
        card.updated_at = utcnow()
        await self.db.flush()
        out = await self.views.one(card)
        if op is None:
            op = "move" if set(changes) <= set(PLACEMENT) else "update"
        self.mutation.record(card.workspace_id, "card", card.id, op, changes=changes, data=out,
                             version=card.version, conflicts=[c.field for c in conflicts])
        return out.model_copy(update={"conflicts": conflicts})

    async def _conflicts(self, card_id: uuid.UUID, version: int, base_version: int | None,
                         changes: dict[str, tuple[Any, Any]]) -> list[FieldConflict]:
        """Fields this write changes that a change after the client's view had changed too."""
        if base_version is None or base_version >= version:
            return []
        rows = await self.db.scalars(
            select(Change.changes).where(Change.entity_type == "card", Change.entity_id == card_id,
                                         Change.version > base_version)
        )
        touched = {field for fields in rows.all() for field in fields or {}}
        return [FieldConflict(field=f, overwritten=old, value=new)
                for f, (old, new) in changes.items() if f in touched and f != "column_id"]


class _naming:
    """Prefixes a domain error raised inside a bulk update with the card it concerns."""

    def __init__(self, ref: str) -> None:
        self.ref = ref

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if isinstance(error, DomainError) and "card" not in error.extra:
            error.detail = f"card {shown(self.ref)}: {error.detail}"
            error.args = (error.detail,)
            error.extra = {**error.extra, "card": self.ref}
        return False

