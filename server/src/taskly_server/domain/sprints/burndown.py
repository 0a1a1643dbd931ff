"""The burndown: one pass over a sprint's card changes in feed order, one row per day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from taskly_shared.models import BurndownDay
from taskly_shared.sprints import ideal_points

CardChange = tuple[Any, date, int | None, bool | None, bool | None, bool | None]
"""A row of `queries.BURNDOWN_CHANGES`: card, day, then points, in the sprint, in a done column
and deleted as the change left them — None where it left the field alone."""


def burndown(changes: Iterable[CardChange], start: date, end: date, today: date) -> list[BurndownDay]:
    """Each day from `start` to min(`end`, `today`): the sprint's cards as of the day's end —
    scope (their points), completed (those in a done column), remaining — and the ideal line
    from the first day's scope to 0 on `end`. `changes` come in feed order, in one pass."""
    last = min(end, today)
    if last < start:
        return []
    cards: dict[Any, list] = {}  # card: [points, in sprint, done, deleted]
    scope = completed = 0
    rows = iter(changes)
    pending = next(rows, None)
    days: list[BurndownDay] = []
    first_scope = 0
    day = start
    while day <= last:
        while pending is not None and pending[1] <= day:
            card_id, _, points, in_sprint, done, deleted = pending
            card = cards.get(card_id)
            if card is None:
                card = cards[card_id] = [0, False, False, False]
            elif card[1] and not card[3]:  # what it counted until now
                scope -= card[0]
                completed -= card[0] if card[2] else 0
            if points is not None:
                card[0] = points
            if in_sprint is not None:
                card[1] = in_sprint
            if done is not None:
                card[2] = done
            if deleted is not None:
                card[3] = deleted
            if card[1] and not card[3]:
                scope += card[0]
                completed += card[0] if card[2] else 0
            pending = next(rows, None)
        if day == start:
            first_scope = scope
        days.append(BurndownDay(date=day, remaining_points=scope - completed,
                                completed_points=completed, scope_points=scope,
                                ideal_points=ideal_points(first_scope, start, end, day)))
        day += timedelta(days=1)
    return days
