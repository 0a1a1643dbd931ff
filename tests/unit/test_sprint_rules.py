"""Sprints' pure rules: status from dates, the ideal line, overlaps, and the server's one-pass
burndown replay over change rows."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from taskly_server.domain.sprints.burndown import burndown
from taskly_shared.models import SprintStatus
from taskly_shared.sprints import ideal_points, overlaps, sprint_status

FAST = settings(max_examples=200, deadline=None, database=None)
START, END = date(2026, 12, 7), date(2026, 12, 18)
SPRINT = "sprint-1"
DONE = {"col-done"}


@pytest.mark.parametrize(("today", "closed", "expected"), [
    (date(2026, 12, 6), False, (SprintStatus.PLANNED, False)),
    (START, False, (SprintStatus.ACTIVE, False)),
    (date(2026, 12, 12), False, (SprintStatus.ACTIVE, False)),
    (END, False, (SprintStatus.ACTIVE, False)),
    (date(2026, 12, 19), False, (SprintStatus.ACTIVE, True)),
    (date(2027, 3, 1), False, (SprintStatus.ACTIVE, True)),
    (date(2026, 12, 1), True, (SprintStatus.COMPLETED, False)),
    (date(2026, 12, 12), True, (SprintStatus.COMPLETED, False)),
    (date(2027, 1, 1), True, (SprintStatus.COMPLETED, False)),
])
def test_status_from_dates(today, closed, expected):
    assert sprint_status(START, END, closed, today) == expected


def test_ideal_line():
    # 11 days from 7 to 18 December: 22 points fall by 2 a day
    assert [ideal_points(22, START, END, START + timedelta(days=i)) for i in range(12)] == [
        22.0, 20.0, 18.0, 16.0, 14.0, 12.0, 10.0, 8.0, 6.0, 4.0, 2.0, 0.0]
    assert ideal_points(10, START, START + timedelta(days=3), START + timedelta(days=1)) == 6.67
    assert ideal_points(10, START, END, END + timedelta(days=4)) == 0.0
    assert ideal_points(10, START, START, START) == 0.0  # a one-day sprint
    assert ideal_points(0, START, END, START) == 0.0


@FAST
@given(st.integers(0, 999), st.integers(1, 60), st.integers(0, 60))
def test_ideal_line_falls_from_scope_to_zero(scope, length, offset):
    end = START + timedelta(days=length)
    day = START + timedelta(days=min(offset, length))
    value = ideal_points(scope, START, end, day)
    assert 0 <= value <= scope
    assert ideal_points(scope, START, end, START) == scope and ideal_points(scope, START, end, end) == 0
    if day < end:
        assert ideal_points(scope, START, end, day + timedelta(days=1)) <= value


def test_overlaps_include_both_ends():
    assert overlaps(START, END, END, END + timedelta(days=5))
    assert overlaps(START, END, START - timedelta(days=3), START)
    assert overlaps(START, END, START + timedelta(days=2), START + timedelta(days=3))
    assert not overlaps(START, END, END + timedelta(days=1), END + timedelta(days=9))
    assert not overlaps(START, END, START - timedelta(days=9), START - timedelta(days=1))


def change(card: str, day: date, *, points: int | None = None, sprint: str | None = None,
           column: str | None = None, deleted: bool | None = None) -> tuple:
    """A row as the burndown query returns it: each value as the change left it, None where the
    change left it alone (a sprint or column given by id here, compared as the query does)."""
    return (card, day, points, None if sprint is None else sprint == SPRINT,
            None if column is None else column in DONE, deleted)


def test_replay_days_and_steps():
    d = [START + timedelta(days=i) for i in range(4)]
    rows = [
        change("a", START - timedelta(days=2), points=3, sprint=SPRINT, column="col-todo", deleted=False),
        change("b", d[0], points=5, sprint=SPRINT, column="col-todo", deleted=False),
        change("c", d[0], points=0, sprint=SPRINT, column="col-todo", deleted=False),
        change("a", d[1], points=4),
        change("b", d[1], column="col-done"),
        change("d", d[2], points=8, sprint="another", column="col-todo", deleted=False),
        change("b", d[2], column="col-todo"),
        change("a", d[3], deleted=True),
        change("d", d[3], sprint=SPRINT),
        change("d", d[3], column="col-done"),
    ]
    result = burndown(rows, START, END, d[3])
    assert [(r.date, r.scope_points, r.completed_points, r.remaining_points) for r in result] == [
        (d[0], 8, 0, 8), (d[1], 9, 5, 4), (d[2], 9, 0, 9), (d[3], 13, 8, 5)]
    assert result[0].ideal_points == 8.0 and result[-1].ideal_points == round(8 * 8 / 11, 2)


def test_replay_window():
    assert burndown([], START, END, START - timedelta(days=1)) == []
    rows = burndown([], START, START + timedelta(days=2), END)
    assert [r.date for r in rows] == [START, START + timedelta(days=1), START + timedelta(days=2)]
