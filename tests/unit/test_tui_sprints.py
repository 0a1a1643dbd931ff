"""The board's sprint line and the sprint part of its filter (pure: no screen, no server)."""

from __future__ import annotations

from datetime import date

import pytest
from taskly.core.sprints import with_stats
from taskly.tui.model import CardFilter, sprint_text
from taskly.tui.views import CardView

SPRINT = {"id": "s12", "name": "Sprint 12", "start_date": "2031-03-10", "end_date": "2031-03-17",
          "capacity_points": 40, "closed_at": None}
CARDS = [{"sprint_id": "s12", "points": 13, "column_kind": "todo"},
         {"sprint_id": "s12", "points": 21, "column_kind": "done"},
         {"sprint_id": "s12", "points": None, "column_kind": "done"},
         {"sprint_id": "other", "points": 8, "column_kind": "done"}]


@pytest.mark.parametrize(("today", "expected"), [
    (date(2031, 3, 14), "Sprint 12 · 21/34 pts of 40 · 3 days left"),
    (date(2031, 3, 16), "Sprint 12 · 21/34 pts of 40 · 1 day left"),
    (date(2031, 3, 17), "Sprint 12 · 21/34 pts of 40 · last day"),
    (date(2031, 3, 18), "Sprint 12 · 21/34 pts of 40 · 1 day overdue"),
    (date(2031, 3, 20), "Sprint 12 · 21/34 pts of 40 · 3 days overdue"),
    (date(2031, 3, 9), "Sprint 12 · 21/34 pts of 40 · starts in 1 day"),
])
def test_sprint_text(today: date, expected: str) -> None:
    assert sprint_text(with_stats(SPRINT, CARDS, today), today) == expected


def test_a_closed_sprint_says_closed() -> None:
    closed = {**SPRINT, "closed_at": "2031-03-17T18:00:00Z"}
    assert sprint_text(with_stats(closed, CARDS, date(2031, 3, 18)), date(2031, 3, 18)).endswith("· closed")


def card(number: int, sprint_id: str | None, title: str = "Title") -> CardView:
    return CardView({"id": f"c{number}", "key": f"WEB-{number}", "board_id": "b", "workspace_id": "w",
                     "title": title, "column_id": "col", "sprint_id": sprint_id})


def test_the_filter_by_sprint_combines_with_the_rest() -> None:
    by_sprint = CardFilter(sprint_id="s12", sprint_name="Sprint 12")
    assert by_sprint.active
    assert by_sprint.describe() == "sprint Sprint 12"
    assert by_sprint.matches(card(1, "s12"), None)
    assert not by_sprint.matches(card(2, "other"), None)
    assert not by_sprint.matches(card(3, None), None)
    both = CardFilter(text="login", sprint_id="s12", sprint_name="Sprint 12")
    assert both.describe() == 'sprint Sprint 12 · "login"'
    assert both.matches(card(1, "s12", "Fix login"), None)
    assert not both.matches(card(1, "s12", "Dark mode"), None)
    assert not both.matches(card(2, "other", "Fix login"), None)
    assert CardFilter().matches(card(3, None), None) and not CardFilter().active
