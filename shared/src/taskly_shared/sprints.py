"""Pure rules of sprints, shared by the server and the clients (which cache sprints offline)."""

from __future__ import annotations

from datetime import date

from .models import SprintStatus


def sprint_status(start: date, end: date, closed: bool, today: date) -> tuple[SprintStatus, bool]:
    """(status, overdue): completed once closed; otherwise planned before its start, active from
    its start on, and still active past its end until it is closed — then overdue."""
    if closed:
        return SprintStatus.COMPLETED, False
    if today < start:
        return SprintStatus.PLANNED, False
    return SprintStatus.ACTIVE, today > end


def ideal_points(scope: int, start: date, end: date, day: date) -> float:
    """The ideal burndown on `day`: `scope` on the start date falling linearly to 0 on the end
    date (0 after it; a one-day sprint is at 0 on its only day), rounded to 2 decimals."""
    length = (end - start).days
    if length <= 0 or day >= end:
        return 0.0
    if day <= start:
        return float(scope)
    return round(scope * (end - day).days / length, 2)


def overlaps(start: date, end: date, other_start: date, other_end: date) -> bool:
    """Two sprints' date ranges share a day (both ends included)."""
    return start <= other_end and other_start <= end
