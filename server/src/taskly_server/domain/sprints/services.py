"""Sprints: create, list, read, edit, soft delete, close with carry-over, burndown.

Readers are viewers of the board's workspace; writers members (admins and owners too). A write
that checks names or dates against the board's other sprints holds the board row lock, so two of
them cannot both pass; closing and deleting lock the sprint row, so they happen once. Cards join
and leave sprints only through the card edit path (`CardService.set_sprint`), each with its Change.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.errors import ErrorCode
from taskly_shared.models import (
    Role,
    SprintBurndown,
    SprintClose,
    SprintClosed,
    SprintCreate,
    SprintOut,
    SprintPatch,
)

from ...db.base import utcnow
from ...db.models import Board, Sprint
from ...errors import Conflict, Invalid, NotFound
from ...lib.access import require_role
from ...lib.clock import Clock
from ...lib.mutation import Mutation
from ...lib.principal import Principal
from ..boards.services import BoardService
from ..cards.services import CardService, base_version_of
from . import queries
from .burndown import burndown
from .views import sprint_out

WIRE_FIELDS = {"name": "name", "start_date": "starts_on", "end_date": "ends_on", "goal": "goal",
               "capacity_points": "capacity_points"}
"""The editable wire fields and their columns; a Change names the wire fields."""


class SprintService:
    """Reads take a session; writes take the Mutation of `execute` and record their changes."""

    def __init__(self, target: AsyncSession | Mutation, clock: Clock | None = None) -> None:
        self.mutation = target if isinstance(target, Mutation) else None
        self.db = target.db if isinstance(target, Mutation) else target
        self.clock = clock

    # --- reads -----------------------------------------------------------------------------

    async def list(self, principal: Principal, board_id: uuid.UUID) -> list[SprintOut]:
        """The board's live sprints by start date."""
        board, _ = await BoardService(self.db).board(principal, board_id)
        return await self.render_all(board.workspace_id, await queries.board_sprints(self.db, [board.id]))

    async def get(self, principal: Principal, sprint_id: uuid.UUID) -> SprintOut:
        sprint, board = await self._sprint(principal, sprint_id)
        return await self.render(sprint, board.workspace_id)

    async def burndown(self, principal: Principal, sprint_id: uuid.UUID) -> SprintBurndown:
        """One row per day from the start to min(end, today), replayed from the card changes."""
        sprint, board = await self._sprint(principal, sprint_id)
        today = await queries.today(self.db, self.clock)
        last = min(sprint.ends_on, today)
        rows = await queries.burndown_changes(
            self.db, board.workspace_id, sprint.id, await queries.done_columns(self.db, board.id),
            last + timedelta(days=1)) if last >= sprint.starts_on else []
        days = burndown(rows, sprint.starts_on, sprint.ends_on, today)
        return SprintBurndown(sprint=await self.render(sprint, board.workspace_id, today), days=days)

    async def render(self, sprint: Sprint, workspace_id: uuid.UUID,
                     today: date | None = None) -> SprintOut:
        totals = await queries.totals(self.db, [sprint.id])
        return sprint_out(sprint, workspace_id, totals.get(sprint.id),
                          today or await queries.today(self.db, self.clock))

    async def render_all(self, workspace_id: uuid.UUID, sprints: list[Sprint]) -> list[SprintOut]:
        """Sprints of one workspace, with one query for their totals."""
        if not sprints:
            return []
        totals = await queries.totals(self.db, [s.id for s in sprints])
        today = await queries.today(self.db, self.clock)
        return [sprint_out(s, workspace_id, totals.get(s.id), today) for s in sprints]

    # --- writes ----------------------------------------------------------------------------

    async def create(self, principal: Principal, board_id: uuid.UUID, data: SprintCreate) -> SprintOut:
        board, _ = await BoardService(self.db).board(principal, board_id, Role.MEMBER, lock=True)
        sprint_id = data.id or uuid.uuid4()
        if await self.db.get(Sprint, sprint_id) is not None:
            raise Conflict(f"a sprint with id {sprint_id} exists", code=ErrorCode.DUPLICATE)
        _check_dates(data.start_date, data.end_date)
        await self._check_name(board.id, data.name)
        await self._check_overlap(board.id, data.start_date, data.end_date)
        now = utcnow()
        sprint = Sprint(id=sprint_id, board_id=board.id, name=data.name, starts_on=data.start_date,
                        ends_on=data.end_date, goal=data.goal or None,
                        capacity_points=data.capacity_points, version=1, created_at=now,
                        updated_at=now)
        self.db.add(sprint)
        await self._flush(data.name)
        out = await self.render(sprint, board.workspace_id)
        self._record(board, sprint, "create", {wire: (None, getattr(out, wire)) for wire in WIRE_FIELDS},
                     out)
        return out

    async def update(self, principal: Principal, sprint_id: uuid.UUID, data: SprintPatch,
                     if_match: str | None = None) -> SprintOut:
        """The fields the body names; a `base_version` (or If-Match) other than the sprint's is 409."""
        expected = base_version_of(data.base_version, if_match)
        sprint, board = await self._sprint(principal, sprint_id, Role.MEMBER, lock=True)
        if expected is not None and expected != sprint.version:
            raise Conflict(f"the sprint changed since version {expected} (it is at "
                           f"{sprint.version}): read it again", version=sprint.version)
        names = data.model_fields_set
        changes: dict[str, tuple[Any, Any]] = {}
        for wire, column in WIRE_FIELDS.items():
            if wire not in names:
                continue
            value = getattr(data, wire)
            if wire == "goal":
                value = value or None
            elif value is None:
                continue  # null keeps a required field
            if getattr(sprint, column) != value:
                changes[wire] = (getattr(sprint, column), value)
        if not changes:
            return await self.render(sprint, board.workspace_id)
        start = changes.get("start_date", (None, sprint.starts_on))[1]
        end = changes.get("end_date", (None, sprint.ends_on))[1]
        _check_dates(start, end)
        if changes.keys() & {"name", "start_date", "end_date"}:
            # as create does: the board's sprints are checked under its row lock (after the
            # sprint's, the order card writes take them in)
            await BoardService(self.db).board(principal, board.id, Role.MEMBER, lock=True)
        if "name" in changes:
            await self._check_name(board.id, changes["name"][1], sprint.id)
        if sprint.closed_at is None and ("start_date" in changes or "end_date" in changes):
            await self._check_overlap(board.id, start, end, sprint.id)
        for wire, (_, new) in changes.items():
            setattr(sprint, WIRE_FIELDS[wire], new)
        sprint.version += 1
        sprint.updated_at = utcnow()
        await self._flush(sprint.name)
        out = await self.render(sprint, board.workspace_id)
        self._record(board, sprint, "update", changes, out)
        return out

    async def delete(self, principal: Principal, sprint_id: uuid.UUID) -> None:
        """Soft delete; its cards (soft-deleted ones too) leave it, each with its card Change."""
        sprint, board = await self._sprint(principal, sprint_id, Role.MEMBER, lock=True)
        await CardService(self.mutation).set_sprint(
            await queries.card_ids(self.db, sprint.id, unfinished_only=False), None)
        sprint.deleted_at = sprint.updated_at = utcnow()
        sprint.version += 1
        await self.db.flush()
        out = await self.render(sprint, board.workspace_id)
        self._record(board, sprint, "delete", {"deleted_at": (None, sprint.deleted_at)}, out)

    async def close(self, principal: Principal, sprint_id: uuid.UUID, data: SprintClose) -> SprintClosed:
        """Close once: its unfinished cards (live, not in a done column) go to `carry_over_to`
        or leave it; a second close (also a concurrent one, which waits for the first) is 409."""
        sprint, board = await self._sprint(principal, sprint_id, Role.MEMBER, lock=True)
        if sprint.closed_at is not None:
            raise Conflict(f"the sprint {sprint.name!r} is already closed",
                           closed_at=sprint.closed_at.isoformat())
        target = None
        if data.carry_over_to is not None:
            target = await self._carry_over_target(sprint, data.carry_over_to)
        unfinished = await queries.card_ids(self.db, sprint.id, unfinished_only=True)
        moved = await CardService(self.mutation).set_sprint(unfinished,
                                                            target.id if target else None)
        sprint.closed_at = sprint.updated_at = utcnow()
        sprint.version += 1
        await self.db.flush()
        out = await self.render(sprint, board.workspace_id)
        self._record(board, sprint, "update", {"closed_at": (None, sprint.closed_at)}, out)
        return SprintClosed(sprint=out, carried_over=[card.key for card in moved],
                            carry_over_to=await self.render(target, board.workspace_id) if target else None)

    # --- helpers ---------------------------------------------------------------------------

    async def _sprint(self, principal: Principal, sprint_id: uuid.UUID, minimum: Role = Role.VIEWER,
                      lock: bool = False) -> tuple[Sprint, Board]:
        """A live sprint the caller may see (404 otherwise, in the same words for a missing one),
        with its board; 403 below `minimum`. Locked (and re-read) after the role check."""
        found = await queries.live_sprint(self.db, sprint_id)
        if found is None:
            raise NotFound("sprint not found")
        await require_role(self.db, found[1].workspace_id, principal.user_id, minimum, "sprint")
        if lock:
            found = await queries.live_sprint(self.db, sprint_id, lock=True)
            if found is None:  # deleted while we waited for its lock
                raise NotFound("sprint not found")
        return found

    async def _carry_over_target(self, sprint: Sprint, target_id: uuid.UUID) -> Sprint:
        if target_id == sprint.id:
            raise Invalid("carry_over_to must be another sprint")
        found = await queries.live_sprint(self.db, target_id)
        if found is None or found[0].board_id != sprint.board_id:
            raise Invalid(f"carry_over_to: no sprint {target_id} on this board")
        if found[0].closed_at is not None:
            raise Invalid(f"carry_over_to: the sprint {found[0].name!r} is closed")
        return found[0]

    async def _check_name(self, board_id: uuid.UUID, name: str, other_than: uuid.UUID | None = None) -> None:
        if await queries.name_taken(self.db, board_id, name, other_than):
            raise Conflict(f"a sprint named {name!r} exists on this board", code=ErrorCode.DUPLICATE)

    async def _check_overlap(self, board_id: uuid.UUID, start: date, end: date,
                             other_than: uuid.UUID | None = None) -> None:
        other = await queries.overlapping(self.db, board_id, start, end, other_than)
        if other is not None:
            raise Conflict(f"the dates overlap the open sprint {other.name!r} "
                           f"({other.starts_on.isoformat()} to {other.ends_on.isoformat()})",
                           sprint_id=str(other.id))

    async def _flush(self, name: str) -> None:
        """Flush; a concurrent sprint of the same name (the unique index) is a 409."""
        try:
            await self.db.flush()
        except IntegrityError:
            raise Conflict(f"a sprint named {name!r} exists on this board",
                           code=ErrorCode.DUPLICATE) from None

    def _record(self, board: Board, sprint: Sprint, op: str, changes: dict[str, tuple[Any, Any]],
                out: SprintOut) -> None:
        assert self.mutation is not None, "writes take the Mutation of execute"
        self.mutation.record(board.workspace_id, "sprint", sprint.id, op, changes=changes, data=out,
                             version=sprint.version)


MAX_DAYS = 366
"""The longest sprint, in days: a burndown has a row per day."""


def _check_dates(start: date, end: date) -> None:
    if end < start:
        raise Invalid(f"end_date ({end.isoformat()}) is before start_date ({start.isoformat()})")
    if (end - start).days >= MAX_DAYS:
        raise Invalid(f"a sprint lasts at most {MAX_DAYS} days")

