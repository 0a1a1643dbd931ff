"""Sprints as the wire sees them."""

from __future__ import annotations

import uuid
from datetime import date

from taskly_shared.models import SprintOut
from taskly_shared.sprints import sprint_status

from ...db.models import Sprint
from .queries import Totals


def sprint_out(sprint: Sprint, workspace_id: uuid.UUID, totals: Totals | None, today: date) -> SprintOut:
    """The sprint with its status as of `today` and the totals of its live cards."""
    totals = totals or Totals()
    status, overdue = sprint_status(sprint.starts_on, sprint.ends_on, sprint.closed_at is not None,
                                    today)
    return SprintOut(
        id=sprint.id, board_id=sprint.board_id, workspace_id=workspace_id, name=sprint.name, start_date=sprint.starts_on,
        end_date=sprint.ends_on, goal=sprint.goal, capacity_points=sprint.capacity_points,
        status=status, overdue=overdue, closed_at=sprint.closed_at,
        card_count=totals.card_count, committed_points=totals.committed_points,
        completed_points=totals.completed_points,
        remaining_points=totals.committed_points - totals.completed_points,
        over_capacity=totals.committed_points > sprint.capacity_points,
        version=sprint.version, created_at=sprint.created_at, updated_at=sprint.updated_at,
        deleted_at=sprint.deleted_at,
    )
