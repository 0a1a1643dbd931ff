"""What a sprint is now, computed from the cache: its status and its points (pure, no I/O).

Sprints are cached as their wire JSON (`SprintOut`), cards as theirs (`CardOut`). A sprint's
counts and status depend on the cards' current points, sprint and column and on today's date,
which change without the sprint itself changing (no sprint change in the feed), so the CLI and
the board compute them here from what the cache holds, offline included:

    sprint = with_stats(sprint_json, board_cards, date.today())
    sprint["status"], sprint["committed_points"], sprint["over_capacity"]
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

PLANNED, ACTIVE, COMPLETED = "planned", "active", "completed"
DEFAULT_CAPACITY = 40
"""Capacity points of a sprint created without `capacity_points` (the server's default too)."""


def today() -> date:
    """Today in UTC: the day the server's statuses and burndown days are counted in."""
    return datetime.now(UTC).date()


def day(value: Any) -> date:
    """A wire date (`2026-12-21`, or a date) as a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def is_open(sprint: dict[str, Any]) -> bool:
    """Not closed and not deleted."""
    return not sprint.get("closed_at") and not sprint.get("deleted_at")


def status(sprint: dict[str, Any], today: date) -> str:
    """`completed` once closed; else `planned` before its start, `active` from then until closed."""
    if sprint.get("closed_at"):
        return COMPLETED
    return PLANNED if today < day(sprint["start_date"]) else ACTIVE


def overdue(sprint: dict[str, Any], today: date) -> bool:
    """Still open past its end date."""
    return not sprint.get("closed_at") and today > day(sprint["end_date"])


def days_left(sprint: dict[str, Any], today: date) -> int:
    """Whole days from today to the end date (0 on the last day and after it)."""
    return max(0, (day(sprint["end_date"]) - today).days)


def current(sprints: Iterable[dict[str, Any]], today: date) -> dict[str, Any] | None:
    """The board's active sprint: the open one that started last on or before today (None: none)."""
    started = [s for s in sprints if is_open(s) and day(s["start_date"]) <= today]
    return max(started, key=lambda s: (day(s["start_date"]), str(s["name"]).lower()), default=None)


def named(sprints: Iterable[dict[str, Any]], ref: str | None, today: date) -> dict[str, Any] | None:
    """The sprint `ref` names: by name (any case) or id; `current` or no name: the active one
    (None: no such sprint)."""
    wanted = (ref or "current").strip()
    if wanted.lower() == "current":
        return current(sprints, today)
    for candidate in sprints:
        if candidate["id"] == wanted.lower() or candidate["name"].lower() == wanted.lower():
            return candidate
    return None


def overlapping(sprints: Iterable[dict[str, Any]], start: date, end: date,
                exclude: str | None = None) -> dict[str, Any] | None:
    """An open sprint (other than `exclude`) whose dates share a day with start..end (both ends
    included: the server refuses such a pair of open sprints on one board)."""
    for other in sprints:
        if other["id"] != exclude and is_open(other) \
                and start <= day(other["end_date"]) and day(other["start_date"]) <= end:
            return other
    return None


def is_done(card: dict[str, Any]) -> bool:
    return card.get("column_kind") == "done"


def members(sprint_id: str, cards: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The live cards of a sprint, in the order given."""
    return [c for c in cards if str(c.get("sprint_id")) == sprint_id and not c.get("deleted_at")]


def points(cards: Iterable[dict[str, Any]]) -> int:
    return sum(card.get("points") or 0 for card in cards)


def stats(sprint: dict[str, Any], cards: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The sprint's counts from the cards given (any cards: those of other sprints are skipped)."""
    mine = members(str(sprint["id"]), cards)
    committed = points(mine)
    completed = points(c for c in mine if is_done(c))
    capacity = sprint.get("capacity_points")
    capacity = DEFAULT_CAPACITY if capacity is None else capacity
    return {"card_count": len(mine), "committed_points": committed, "completed_points": completed,
            "remaining_points": committed - completed, "over_capacity": committed > capacity}


def with_stats(sprint: dict[str, Any], cards: Iterable[dict[str, Any]], today: date) -> dict[str, Any]:
    """The sprint's wire JSON with its status and counts as of now."""
    return {**sprint, **stats(sprint, cards), "status": status(sprint, today), "overdue": overdue(sprint, today)}


def overflow(sprint: dict[str, Any], committed: int) -> int:
    """Points committed past the sprint's capacity (0 when within it)."""
    capacity = sprint.get("capacity_points")
    return max(0, committed - (DEFAULT_CAPACITY if capacity is None else capacity))



def overflow_note(sprint: dict[str, Any], cards: Iterable[dict[str, Any]]) -> str | None:
    """The warning for a sprint committed past its capacity (None within it), naming the overflow."""
    committed = points(members(str(sprint["id"]), cards))
    over = overflow(sprint, committed)
    if not over:
        return None
    capacity = sprint.get("capacity_points")
    capacity = DEFAULT_CAPACITY if capacity is None else capacity
    return (f"sprint {sprint['name']} is over capacity by {over} point{'s' if over != 1 else ''}: "
            f"{committed} committed, capacity {capacity}")
