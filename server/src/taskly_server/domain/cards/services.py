"""Cards: create, read, edit field by field, move, delete, restore and bulk edit."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.errors import ErrorCode
from taskly_shared.models import BulkUpdate, CardCreate, CardMove, CardOut, CardPatch, Role

from ...db.base import utcnow
from ...db.models import Board, BoardColumn, Card
from ...errors import Conflict, DomainError, Invalid, NotFound
from ...lib.access import refuse_archived_boards, require_role
from ...lib.mutation import Mutation
from ...lib.principal import Principal
from ..labels.services import add_card_labels
from .edits import EDITABLE, TRACKED, FieldEditor
from .placement import CARD_REFUSALS, Move, make_moves, requested_move
from .queries import (
    board_columns,
    find_card,
    find_cards_by_id,
    first_rank,
    last_rank,
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
        self.named_labels: dict[uuid.UUID, set[str]] = {}
        """Per workspace, the labels this write set on cards: the catalogue gets those it lacks."""

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
        return await self.create_on(board, data, principal.user_id)

    async def create_on(self, board: Board, data: CardCreate, created_by: uuid.UUID | None,
                        top: bool = False) -> CardOut:
        """`create` once the caller may write to `board` (also for the server's own rules, e.g.
        the next card of a recurring one): at the bottom of its column, or at the top."""
        if data.id is not None and await self.db.get(Card, data.id) is not None:
            raise Conflict(f"a card with id {data.id} exists", code=ErrorCode.DUPLICATE)
        column = pick_column(await board_columns(self.db, board.id), data.column)
        card = Card(id=data.id or uuid.uuid4(), workspace_id=board.workspace_id, board_id=board.id,
                    column_id=column.id, title="", description="", labels=[], priority="none",
                    recurrence="none", recurrence_interval=1, assignee_ids=[],
                    created_by=created_by, version=1)
        await self.editor.apply(card, data, set(EDITABLE))
        if card.labels:
            await add_card_labels(self.mutation, board.workspace_id, card.labels)
        # The board row stays locked to commit: numbers are consecutive and never skipped.
        number = await self.db.scalar(
            update(Board).where(Board.id == board.id)
            .values(next_card_number=Board.next_card_number + 1)
            .returning(Board.next_card_number - 1)
        )
        await self._lock_column(column.id)
        card.number = number
        card.rank = (rank_between(None, await first_rank(self.db, column.id)) if top
                     else rank_between(await last_rank(self.db, column.id), None))
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
        [out] = await self._save([await self._edit(card, data, base_version)])
        return out

    async def move(self, principal: Principal, ref: str, data: CardMove,
                   if_match: str | None = None) -> CardOut:
        """Place a card in a column of its board: before or after a card, at the top or bottom.

        The move function decides (as for the endpoint's batched moves, which come here only when
        the request needs more than they do); this turns its refusals into errors.
        """
        base_version = base_version_of(data.base_version, if_match)
        placements = [p for p in (data.before, data.after, data.position) if p is not None]
        if len(placements) > 1:
            raise Invalid("give at most one of before, after and position")
        card = parse_card_reference(ref)
        if card is None:
            raise await self.refusal(principal, ref, data, "card_not_found")
        move = requested_move(principal, card, data, base_version)
        move = move._replace(key=self.mutation.mutation_id)
        [placed] = await make_moves(self.mutation, [move])
        if placed.code == "column_not_found" and move.column_id is None and move.column_name is None:
            # A non-ASCII name: found as Python lowers it, or refused in today's words.
            column = await self._requested_column(principal, ref, data.column)
            [placed] = await make_moves(self.mutation, [move._replace(column_id=column.id)])
        if placed.code is not None:
            raise await self.refusal(principal, ref, data, placed.code)
        return CardOut.model_validate_json(placed.body)

    async def refusal(self, principal: Principal, ref: str, data: CardMove, code: str) -> DomainError:
        """The error for a move that `taskly_move_cards` refused with `code`, in the words of the
        checks it stands in for; the names they show are read here."""
        if code == "board_archived":
            handle = await find_card(self.db, principal.user_id, ref)
            board = await self.db.get_one(Board, handle.board_id)
            return Conflict(f"board {board.key} is archived (read-only); an admin can unarchive it "
                            f"with `taskly board unarchive {board.key}`", code=ErrorCode.BOARD_ARCHIVED,
                            board=board.key)
        if code in CARD_REFUSALS:
            handle = await find_card(self.db, principal.user_id, ref)
            await require_role(self.db, handle.workspace_id, principal.user_id, Role.MEMBER,
                               what="card")
            return NotFound("card not found")  # it changed since the move was refused
        anchor = data.before or data.after or ""
        if code == "anchor_is_card":
            return Invalid("a card cannot be placed next to itself")
        if code == "anchor_not_found" and parse_card_reference(anchor, numbers=True) is None:
            return Invalid(f"no card {shown(anchor)} to place next to")
        column = await self._requested_column(principal, ref, data.column)
        if code in ("anchor_not_found", "anchor_not_in_column"):
            return Invalid(f"card {shown(anchor)} is not in column {column.name!r}")
        return Invalid(f"the card cannot be moved ({code})")

    async def delete(self, principal: Principal, ref: str) -> CardOut:
        """Soft delete: the card leaves its board but stays readable by id and key."""
        card = await self._load(principal, ref, Role.MEMBER, lock=True)
        before = await self.views.one(card)
        if card.deleted_at is None:
            card.deleted_at = utcnow()
        return await self._commit(card, before, "delete")

    async def restore(self, principal: Principal, ref: str) -> CardOut:
        card = await self._load(principal, ref, Role.MEMBER, lock=True)
        before = await self.views.one(card)
        card.deleted_at = None
        return await self._commit(card, before, "restore")

    async def bulk_update(self, principal: Principal, data: BulkUpdate) -> list[CardOut]:
        """Every patch in one transaction: one failure and nothing is applied.

        Cards are locked in id order, then their target columns in id order, so two bulk
        updates over the same cards queue up instead of deadlocking.
        """
        items: list[tuple[uuid.UUID, Any]] = []
        seen: dict[uuid.UUID, str] = {}
        by_id = await find_cards_by_id(self.db, [item.card for item in data.cards])
        allowed: set[uuid.UUID] = set()
        for item in data.cards:
            with _naming(item.card):
                handle = by_id.get(item.card) or await find_card(self.db, principal.user_id, item.card)
                if handle.workspace_id not in allowed:  # once per workspace
                    await require_role(self.db, handle.workspace_id, principal.user_id, Role.MEMBER,
                                       what="card")
                    allowed.add(handle.workspace_id)
                if handle.id in seen:
                    raise Invalid(f"the same card is also listed as {shown(seen[handle.id])}")
                seen[handle.id] = item.card
                items.append((handle.id, item))
        cards = {card.id: card for card in (await self.db.scalars(
            select(Card).where(Card.id.in_(seen)).order_by(Card.id)
            .with_for_update().execution_options(populate_existing=True)
        )).all()}
        await refuse_archived_boards(self.db, {card.board_id for card in cards.values()})
        targets: set[uuid.UUID] = set()
        for card_id, item in items:
            if "column" in item.model_fields_set and item.column is not None:
                with _naming(item.card):
                    columns = await self._columns(cards[card_id].board_id)  # once per board
                    targets.add(pick_column(columns, item.column).id)
        for column_id in sorted(targets):
            await self._lock_column(column_id)
        await self.views.load(cards.values())  # what the wire form needs, in a few queries for all
        edits = []
        for card_id, item in items:
            with _naming(item.card):
                card, move = await self._edit(cards[card_id], item, item.base_version)
                if item.deleted is not None:
                    move = self._delete_or_restore(card, move, item.deleted)
                edits.append((card, move))
        return await self._save(edits)

    @staticmethod
    def _delete_or_restore(card: Card, move: Move, deleted: bool) -> Move:
        """A bulk item's `deleted`: the soft delete (or restore) recorded as that op's Change."""
        if deleted and card.deleted_at is None:
            card.deleted_at = utcnow()
            return move._replace(op="delete")
        if not deleted and card.deleted_at is not None:
            card.deleted_at = None
            return move._replace(op="restore")
        return move

    async def set_sprint(self, card_ids: Sequence[uuid.UUID], sprint_id: uuid.UUID | None) -> list[CardOut]:
        """The cards join sprint `sprint_id` (None: no sprint) as a PATCH of `sprint_id` would
        make them (a Change per card that changes); closing and deleting sprints call it, after
        checking the caller's role on the board. Cards are locked in id order."""
        cards = (await self.db.scalars(
            select(Card).where(Card.id.in_(card_ids)).order_by(Card.id)
            .with_for_update().execution_options(populate_existing=True)
        )).all()
        patch = CardPatch(sprint_id=sprint_id)
        return await self._save([await self._edit(card, patch, None) for card in cards])

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

    async def _requested_column(self, principal: Principal, ref: str, name: str) -> BoardColumn:
        """The column `name` on the board of card `ref` (`pick_column`'s error when none)."""
        handle = await find_card(self.db, principal.user_id, ref)
        return pick_column(await self._columns(handle.board_id), name)

    async def _edit(self, card: Card, data: CardPatch, base_version: int | None) -> tuple[Card, Move]:
        """Set the fields the body names on `card`; the move that finishes the edit (to the bottom
        of the named column when it is another one, else staying), with the form before."""
        before = await self.views.one(card)
        names = data.model_fields_set
        await self.editor.apply(card, data, names)
        if "labels" in names and card.labels:
            self.named_labels.setdefault(card.workspace_id, set()).update(card.labels)
        column_id, position = None, "stay"
        if "column" in names:
            if data.column is None:
                raise Invalid("column cannot be null")
            column = pick_column(await self._columns(card.board_id), data.column)
            if column.id != card.column_id:
                column_id, position = column.id, "bottom"
        return card, Move.by(self.mutation, card_id=card.id, column_id=column_id, position=position,
                             base_version=base_version, before=before.model_dump_json())

    async def _save(self, edits: list[tuple[Card, Move]]) -> list[CardOut]:
        """Flush the edits, then the move function places each card and, where anything changed,
        bumps its version and writes its Change; the cards as the wire shows them now."""
        await self.db.flush()
        for workspace_id, names in self.named_labels.items():
            await add_card_labels(self.mutation, workspace_id, names)
        self.named_labels.clear()
        placed = await make_moves(self.mutation, [move for _, move in edits])
        outs = []
        for (card, _), answer in zip(edits, placed, strict=True):
            self.db.expire(card)  # the function changed its row: reloaded when read again
            if answer.body is None:
                raise Conflict(f"the card cannot be saved ({answer.code}); try again")
            outs.append(CardOut.model_validate_json(answer.body))
        return outs

    async def _commit(self, card: Card, before: CardOut, op: str) -> CardOut:
        """Bump the version and record the Change when anything changed (delete and restore)."""
        after = await self.views.one(card)
        old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
        changes = {f: (old[f], new[f]) for f in TRACKED if old[f] != new[f]}
        if not changes:
            return before
        card.version += 1
        card.updated_at = utcnow()
        await self.db.flush()
        out = await self.views.one(card)
        self.mutation.record(card.workspace_id, "card", card.id, op, changes=changes, data=out,
                             version=card.version)
        return out


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

