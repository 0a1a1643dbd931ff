"""The demo's sprint: "Sprint 12", started eight days ago, with about two-thirds of the cards and
a history — cards done on earlier days, one that joined mid-sprint, an estimate that grew — so
`taskly sprint burndown` draws a real chart on a fresh machine.

The seeding happens in seconds, and a burndown reads the days of the change feed, so the demo
server re-dates the seeding's changes afterwards (`taskly-server demo-history`, dev login only):
every change of the seeding on the sprint's first day, each later event on its own day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from taskly_shared.models import SprintOut

    from ..api.client import ApiClient

NAME = "Sprint 12"
GOAL = "Fix the login loop, ship drag-and-drop on mobile and the audit log."
STARTED_DAYS_AGO = 8
LENGTH_DAYS = 14
CAPACITY = 42


@dataclass(frozen=True)
class SprintCard:
    """A demo card's life in the sprint (days count from the sprint's first day, 0)."""

    title: str
    joined_day: int = 0
    done_day: int | None = None
    """The day it moved to Done (until then it was in review)."""
    first_points: int | None = None
    """Its estimate until `points_day`, when it became the card's points."""
    points_day: int | None = None


PLAN: tuple[SprintCard, ...] = (
    SprintCard("Rate-limit the public search endpoint"),
    SprintCard("Onboarding checklist for new workspaces"),
    SprintCard("Upgrade the Postgres driver", joined_day=3),
    SprintCard("Fix login redirect loop on expired sessions"),
    SprintCard("Drag-and-drop reordering on mobile", first_points=5, points_day=4),
    SprintCard("Load the board with a single snapshot query"),
    SprintCard("Password reset emails land in spam", done_day=1),
    SprintCard("Set up a staging environment", done_day=3),
    SprintCard("Keyboard shortcuts help dialog", done_day=5),
    SprintCard("Nightly backup reports success on failure", done_day=6),
    SprintCard("Audit log in workspace settings", done_day=7),
)
BY_TITLE = {card.title: card for card in PLAN}
DONE_COLUMN = "Done"
BEFORE_DONE = "In Review"


def dates(today: date) -> tuple[date, date]:
    start = today - timedelta(days=STARTED_DAYS_AGO)
    return start, start + timedelta(days=LENGTH_DAYS - 1)


def find_or_create(owner: ApiClient, board_id: str, today: date) -> tuple[SprintOut, bool]:
    """The demo sprint, and whether this run created it (only then is its history written)."""
    from taskly_shared.models import SprintCreate

    for sprint in owner.list_sprints(board_id):
        if sprint.name == NAME:
            return sprint, False
    start, end = dates(today)
    created = owner.create_sprint(board_id, SprintCreate(name=NAME, start_date=start, end_date=end, goal=GOAL,
                                                         capacity_points=CAPACITY),
                                  idempotency_key=f"demo:{board_id}:sprint")
    return created, True


def first_state(title: str, column: str, points: int | None, sprint_id: str) -> dict[str, Any]:
    """What a card is created with on the sprint's first day (its later events make it what it is)."""
    plan = BY_TITLE.get(title)
    if plan is None:
        return {"column": column, "points": points}
    return {"column": BEFORE_DONE if plan.done_day is not None else column,
            "points": plan.first_points if plan.first_points is not None else points,
            "sprint_id": sprint_id if plan.joined_day == 0 else None}


@dataclass(frozen=True)
class Event:
    day: int
    card_id: str
    action: str
    """"join", "points" or "done"."""
    value: Any = None


def events(created: dict[str, tuple[str, int | None]]) -> list[Event]:
    """The sprint's events after its first day, in the order they happened (`created`: title →
    (card id, final points) of the cards this run created)."""
    found: list[Event] = []
    for plan in PLAN:
        if plan.title not in created:
            continue
        card_id, points = created[plan.title]
        if plan.joined_day:
            found.append(Event(plan.joined_day, card_id, "join"))
        if plan.points_day is not None:
            found.append(Event(plan.points_day, card_id, "points", points))
        if plan.done_day is not None:
            found.append(Event(plan.done_day, card_id, "done"))
    return sorted(found, key=lambda event: event.day)


def play(owner: ApiClient, sprint_id: str, board_id: str, found: list[Event]) -> None:
    from taskly_shared.models import CardMove, CardPatch

    for event in found:
        key = f"demo:{board_id}:event:{event.card_id}:{event.action}"
        if event.action == "join":
            owner.update_card(event.card_id, CardPatch(sprint_id=sprint_id), idempotency_key=key)
        elif event.action == "points":
            owner.update_card(event.card_id, CardPatch(points=event.value), idempotency_key=key)
        else:
            owner.move_card(event.card_id, CardMove(column=DONE_COLUMN), idempotency_key=key)


def head(owner: ApiClient, workspace_id: str) -> int:
    """The workspace's newest seq."""
    return owner.changes(workspace_id, since=0, limit=1).seq


def stamps(owner: ApiClient, workspace_id: str, since: int, seeded: int, found: list[Event],
           start: date) -> list[dict[str, Any]]:
    """When each change after `since` happened: those up to `seeded` (the seeding) on the first
    day, each event's change on its day, in seq order and never going back in time."""
    changes, cursor = [], since
    while True:
        page = owner.changes(workspace_id, since=cursor, limit=500)
        changes.extend(page.changes)
        cursor = page.next_since
        if not page.has_more:
            break
    first = datetime.combine(start, time(9), UTC)
    pending = list(found)
    plan: list[dict[str, Any]] = []
    when = first
    for index, change in enumerate(changes):
        if change.seq <= seeded:
            when = first + timedelta(seconds=index)
        elif pending and str(change.entity_id) == pending[0].card_id:
            event = pending.pop(0)
            when = max(when, datetime.combine(start + timedelta(days=event.day), time(10), UTC)
                       + timedelta(minutes=len(plan) % 50))
        plan.append({"seq": change.seq, "created_at": when.isoformat()})
    return plan


def seed_history(owner: ApiClient, workspace_id: str, board_id: str, sprint: SprintOut, since: int,
                 created: dict[str, tuple[str, int | None]],
                 redate: Callable[[dict[str, Any]], None] | None) -> None:
    """Play the sprint's later events, then (with `redate`) date the seeding's changes as the history says."""
    seeded = head(owner, workspace_id)
    found = events(created)
    play(owner, str(sprint.id), board_id, found)
    if redate is not None:
            redate({"workspace_id": workspace_id,
                "changes": stamps(owner, workspace_id, since, seeded, found, sprint.start_date)})
