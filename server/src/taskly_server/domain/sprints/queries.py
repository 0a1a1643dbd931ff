"""Reads of sprints: totals of their cards, the open sprints of a board, today, the burndown's
card changes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import Row, case, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import ColumnKind

from ...db.models import Board, BoardColumn, Card, Sprint
from ...lib.clock import Clock


@dataclass(frozen=True, slots=True)
class Totals:
    """A sprint's live cards: how many, their points, the points of those in a done column."""

    card_count: int = 0
    committed_points: int = 0
    completed_points: int = 0


async def today(db: AsyncSession, clock: Clock | None = None) -> date:
    """What sprint statuses and burndowns count days by: the test clock's date when a test set
    one (`TASKLY_TEST_CLOCK_FILE`), else the database's date in UTC."""
    if clock is not None and clock.test_file is not None:
        return clock.now().date()
    return await db.scalar(text("SELECT (now() AT TIME ZONE 'UTC')::date"))


async def totals(db: AsyncSession, sprint_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Totals]:
    ids = list(set(sprint_ids))
    if not ids:
        return {}
    points = func.coalesce(Card.points, 0)
    rows = await db.execute(
        select(Card.sprint_id, func.count(), func.coalesce(func.sum(points), 0),
               func.coalesce(func.sum(case((BoardColumn.kind == ColumnKind.DONE.value, points),
                                           else_=0)), 0))
        .join(BoardColumn, BoardColumn.id == Card.column_id)
        .where(Card.sprint_id.in_(ids), Card.deleted_at.is_(None))
        .group_by(Card.sprint_id)
    )
    return {sprint_id: Totals(int(count), int(committed), int(completed))
            for sprint_id, count, committed, completed in rows.all()}


async def live_sprint(db: AsyncSession, sprint_id: uuid.UUID,
                      lock: bool = False) -> tuple[Sprint, Board] | None:
    """A sprint that is not deleted, on a live board, with its board; locked FOR UPDATE on request
    (re-read: a waiting writer sees what the one before it committed)."""
    query = (select(Sprint, Board).join(Board, Board.id == Sprint.board_id)
             .where(Sprint.id == sprint_id, Sprint.deleted_at.is_(None), Board.deleted_at.is_(None)))
    if lock:
        query = query.with_for_update(of=Sprint).execution_options(populate_existing=True)
    row = (await db.execute(query)).first()
    return (row[0], row[1]) if row is not None else None


async def board_sprints(db: AsyncSession, board_ids: Sequence[uuid.UUID]) -> list[Sprint]:
    """The boards' live sprints, by start date then name."""
    if not board_ids:
        return []
    return list((await db.scalars(
        select(Sprint).where(Sprint.board_id.in_(board_ids), Sprint.deleted_at.is_(None))
        .order_by(Sprint.board_id, Sprint.starts_on, func.lower(Sprint.name), Sprint.id)
    )).all())


async def name_taken(db: AsyncSession, board_id: uuid.UUID, name: str,
                     other_than: uuid.UUID | None = None) -> bool:
    query = select(Sprint.id).where(Sprint.board_id == board_id, Sprint.deleted_at.is_(None),
                                    func.lower(Sprint.name) == name.lower())
    if other_than is not None:
        query = query.where(Sprint.id != other_than)
    return await db.scalar(query.limit(1)) is not None


async def overlapping(db: AsyncSession, board_id: uuid.UUID, start: date, end: date,
                      other_than: uuid.UUID | None = None) -> Sprint | None:
    """An open sprint of the board whose dates share a day with start..end (both included)."""
    query = select(Sprint).where(
        Sprint.board_id == board_id, Sprint.deleted_at.is_(None), Sprint.closed_at.is_(None),
        Sprint.starts_on <= end, Sprint.ends_on >= start)
    if other_than is not None:
        query = query.where(Sprint.id != other_than)
    return await db.scalar(query.order_by(Sprint.starts_on).limit(1))


async def card_ids(db: AsyncSession, sprint_id: uuid.UUID, unfinished_only: bool) -> list[uuid.UUID]:
    """The cards in the sprint (soft-deleted ones too), or only its live cards outside done columns."""
    query = select(Card.id).where(Card.sprint_id == sprint_id)
    if unfinished_only:
        query = (query.join(BoardColumn, BoardColumn.id == Card.column_id)
                 .where(Card.deleted_at.is_(None), BoardColumn.kind != ColumnKind.DONE.value))
    return list((await db.scalars(query.order_by(Card.id))).all())


async def done_columns(db: AsyncSession, board_id: uuid.UUID) -> set[str]:
    """Ids (as text, as the change feed holds them) of the board's columns of kind done."""
    return {str(column_id) for column_id in (await db.scalars(
        select(BoardColumn.id).where(BoardColumn.board_id == board_id,
                                     BoardColumn.kind == ColumnKind.DONE.value))).all()}


BURNDOWN_CHANGES = text("""
WITH members AS (
    SELECT entity_id AS card_id FROM changes
    WHERE entity_type = 'card' AND changes ? 'sprint_id'
      AND (changes #>> '{sprint_id,new}') = :sprint_text AND workspace_id = :workspace_id
    UNION
    SELECT id FROM cards WHERE sprint_id = :sprint_id
)
SELECT ch.entity_id, (ch.created_at AT TIME ZONE 'UTC')::date,
       CASE WHEN ch.changes ? 'points' THEN coalesce((ch.changes #>> '{points,new}')::int, 0) END,
       CASE WHEN ch.changes ? 'sprint_id'
            THEN (ch.changes #>> '{sprint_id,new}') IS NOT DISTINCT FROM :sprint_text END,
       CASE WHEN (ch.changes #>> '{column_id,new}') IS NOT NULL
            THEN (ch.changes #>> '{column_id,new}') = ANY (:done_columns) END,
       CASE WHEN ch.changes ? 'deleted_at' THEN (ch.changes #>> '{deleted_at,new}') IS NOT NULL END
FROM changes ch JOIN members m ON m.card_id = ch.entity_id
WHERE ch.workspace_id = :workspace_id AND ch.entity_type = 'card'
  AND ch.changes ?| array['points', 'sprint_id', 'column_id', 'deleted_at']
  AND ch.created_at < :until
ORDER BY ch.seq
""")
"""Every change of points, sprint, column or deletion of each card that was ever in the sprint,
in feed order: (card, day in UTC, points, in the sprint, in a done column, deleted) — each value
as the change left it, NULL where the change left that field alone (points null count 0)."""


async def burndown_changes(db: AsyncSession, workspace_id: uuid.UUID, sprint_id: uuid.UUID,
                           done_columns: set[str], until: date) -> Sequence[Row]:
    """The rows of `BURNDOWN_CHANGES` made before the day `until` (UTC)."""
    result = await db.execute(BURNDOWN_CHANGES, {
        "sprint_text": str(sprint_id), "sprint_id": sprint_id, "workspace_id": workspace_id,
        "done_columns": sorted(done_columns), "until": datetime.combine(until, time(), UTC)})
    return result.all()
