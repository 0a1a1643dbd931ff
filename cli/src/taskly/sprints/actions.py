"""Sprint operations behind the sprint commands: resolve names in the cache, then read or write.

Sprints are named by name (any case) or id within the current board; a missing name means the
board's active sprint. Reads come from the cache after a quick pull and compute each sprint's
status and points from the cached cards (`taskly.core.sprints`), so they work offline; writes go
through the sync engine (queued offline). Only the burndown needs the server: it is computed from
the change feed there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from ..cards import resolve as card_resolve
from ..core import resolve, sprints
from ..core.errors import Conflict, Offline, UsageError

if TYPE_CHECKING:
    from taskly_shared.models import SprintBurndown

    from ..core.context import Factory
    from ..sync.results import WriteResult


@dataclass
class SprintView:
    """A sprint as of now (wire JSON with its status and points) and its live cards in board order."""

    sprint: dict[str, Any]
    cards: list[dict[str, Any]]
    columns: list[dict[str, Any]]
    board_key: str


# --- reads --------------------------------------------------------------------------------------


def listing(f: Factory, include_completed: bool = True) -> list[dict[str, Any]]:
    """The current board's sprints by start date, each with its status and points as of now."""
    store = resolve.fresh(f)
    board = resolve.board_json(f)
    cards = store.cards_json(board_id=board["id"])
    today = sprints.today()
    found = [sprints.with_stats(s, cards, today) for s in store.sprints_json(board_id=board["id"])]
    return [s for s in found if include_completed or s["status"] != sprints.COMPLETED]


def view(f: Factory, ref: str | None, *, note_stale: bool = True) -> SprintView:
    """A sprint of the current board (default: the active one) with its cards, from the cache."""
    store = resolve.fresh(f, note_stale=note_stale)
    board = resolve.board_json(f)
    sprint = card_resolve.sprint(f, board, ref)
    cards = store.cards_json(board_id=board["id"])
    return SprintView(sprints.with_stats(sprint, cards, sprints.today()), sprints.members(sprint["id"], cards),
                      board["columns"], board["key"])


def burndown(f: Factory, sprint: dict[str, Any]) -> SprintBurndown:
    """The sprint's burndown, computed by the server from the change feed (Offline, exit 6, without it)."""
    with resolve.needs_server(f, "compute a burndown"):
        if sprint.get("version", 0) == 0 and f.store.is_pending(sprint["id"]):
            raise Offline(f"sprint {sprint['name']} is not on the server yet (run `taskly sync`)")
        return f.api.sprint_burndown(sprint["id"], timeout=resolve.READ_TIMEOUT * 4)


def burndown_of(f: Factory, ref: str | None) -> SprintBurndown:
    """`sprint burndown [NAME]`: the sprint (default: the active one) and its days."""
    resolve.online(f, "compute a burndown")
    return burndown(f, view(f, ref, note_stale=False).sprint)


def maybe_burndown(f: Factory, sprint: dict[str, Any]) -> SprintBurndown | None:
    """The burndown when the server answers (for `show --json`); None offline, with a note."""
    if f.globals.offline or f.engine.last_error is not None:
        return None
    try:
        return burndown(f, sprint)
    except Offline as exc:
        f.output.note(f"no burndown: {exc}")
        return None


# --- writes -------------------------------------------------------------------------------------


def sprint_date(text: str, flag: str, today: date | None = None) -> date:
    """`--start/--end`: `YYYY-MM-DD`, `today`, `tomorrow`, `+3d`, `+2w` (never empty)."""
    value = card_resolve.due_date(text, today, flag=flag)
    if value is None:
        raise UsageError(f"{flag} needs a date: YYYY-MM-DD, today, tomorrow, +3d or +2w")
    return value


def _fields(name: str | None, start: str | None, end: str | None, goal: str | None,
            capacity: int | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = name
    if start is not None:
        values["start_date"] = sprint_date(start, "--start")
    if end is not None:
        values["end_date"] = sprint_date(end, "--end")
    if goal is not None:
        values["goal"] = None if goal.strip().lower() in resolve.CLEAR else goal
    if capacity is not None:
        values["capacity_points"] = capacity
    return values


def _checked(model: str, values: dict[str, Any]) -> dict[str, Any]:
    """The fields of a sprint write checked locally (a usage error instead of a server 422)."""
    from pydantic import ValidationError
    from taskly_shared import models

    try:
        getattr(models, model).model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors())
        raise UsageError(f"invalid sprint: {problems}") from None
    return values


def _end_after_start(start: date, end: date) -> None:
    if end < start:
        raise UsageError(f"the end date {end} is before the start date {start}")


def create(f: Factory, name: str, start: str, end: str, goal: str | None,
           capacity: int | None) -> WriteResult[dict[str, Any]]:
    values = _fields(name, start, end, goal, capacity)
    _end_after_start(values["start_date"], values["end_date"])
    _checked("SprintCreate", values)
    resolve.fresh(f, note_stale=False)
    board = resolve.board_json(f)
    known = f.store.sprints_json(board_id=board["id"])
    taken = [s for s in known if s["name"].lower() == name.strip().lower()]
    if taken:
        raise Conflict(f"board {board['key']} already has a sprint {taken[0]['name']!r}")
    _refuse_overlap(known, values["start_date"], values["end_date"])
    return f.engine.create_sprint(board["id"], **values)


def _refuse_overlap(known: list[dict[str, Any]], start: date, end: date, exclude: str | None = None) -> None:
    """Conflict (exit 5) for dates that share a day with another open sprint of the board, as the
    server would answer (checked here too, so a sprint planned offline is refused at once)."""
    other = sprints.overlapping(known, start, end, exclude)
    if other is not None:
        raise Conflict(f"{start} → {end} overlaps sprint {other['name']} "
                       f"({other['start_date']} → {other['end_date']})")


def edit(f: Factory, ref: str, *, name: str | None = None, start: str | None = None, end: str | None = None,
         goal: str | None = None, capacity: int | None = None) -> WriteResult[dict[str, Any]]:
    values = _fields(name, start, end, goal, capacity)
    if not values:
        raise UsageError("nothing to change: give --name, --start, --end, --goal or --capacity")
    _checked("SprintPatch", values)
    resolve.fresh(f, note_stale=False)
    board = resolve.board_json(f)
    sprint = card_resolve.sprint(f, board, ref)
    start = values.get("start_date", sprints.day(sprint["start_date"]))
    end = values.get("end_date", sprints.day(sprint["end_date"]))
    _end_after_start(start, end)
    if sprints.is_open(sprint) and ("start_date" in values or "end_date" in values):
        _refuse_overlap(f.store.sprints_json(board_id=board["id"]), start, end, sprint["id"])
    return f.engine.update_sprint(sprint["id"], **values)


@dataclass
class Closing:
    """What `sprint close` did: the write, and the unfinished cards it moves on (as the cache saw them)."""

    result: WriteResult[dict[str, Any]]
    unfinished: list[str]
    carry_over_to: dict[str, Any] | None


def close(f: Factory, ref: str | None, carry_over_to: str | None) -> Closing:
    """Close a sprint (default: the active one); its unfinished cards go to `carry_over_to` or leave."""
    from ..core.render import handle

    resolve.fresh(f, note_stale=False)
    board = resolve.board_json(f)
    sprint = card_resolve.sprint(f, board, ref)
    if sprint.get("closed_at"):
        raise UsageError(f"sprint {sprint['name']} is already closed")
    target = None
    if carry_over_to is not None and carry_over_to.strip().lower() not in resolve.CLEAR:
        target = card_resolve.sprint(f, board, carry_over_to)
        if target["id"] == sprint["id"]:
            raise UsageError("--carry-over-to names the sprint being closed")
        if not sprints.is_open(target):
            raise UsageError(f"--carry-over-to {target['name']}: that sprint is closed")
    cards = sprints.members(sprint["id"], f.store.cards_json(board_id=board["id"]))
    unfinished = [c["key"] or f"{board['key']}-?{handle(c['id'])}" for c in cards if not sprints.is_done(c)]
    result = f.engine.close_sprint(sprint["id"], target["id"] if target else None)
    return Closing(result, unfinished, target)


def delete(f: Factory, ref: str) -> WriteResult[dict[str, Any]]:
    resolve.fresh(f, note_stale=False)
    sprint = card_resolve.sprint(f, resolve.board_json(f), ref)
    return f.engine.delete_sprint(sprint["id"])


@dataclass
class Membership:
    """What `sprint add` / `sprint remove` did: the cards written, queued or not, and the warning."""

    sprint: dict[str, Any] | None
    results: list[WriteResult[Any]]
    overflow: str | None = None


def add_cards(f: Factory, ref: str, cards: list[str]) -> Membership:
    """Put cards in a sprint (one card write each, queued offline); warns past its capacity."""
    resolve.fresh(f, note_stale=False)
    board = resolve.board_json(f)
    sprint = card_resolve.sprint(f, board, ref)
    if not sprints.is_open(sprint):
        raise UsageError(f"sprint {sprint['name']} is closed")
    found = [card_resolve.card(f, card) for card in cards]  # every name checked before any write
    for card in found:
        if str(card.board_id) != board["id"]:
            raise UsageError(f"{card.key}: not a card of board {board['key']}")
    results = [f.engine.update_card(str(card.id), sprint_id=sprint["id"])
               for card in found if str(card.sprint_id) != sprint["id"]]
    overflow = sprints.overflow_note(sprint, f.store.cards_json(board_id=board["id"]))
    return Membership(sprint, results, overflow)


def remove_cards(f: Factory, cards: list[str]) -> Membership:
    """Take cards out of their sprint (one card write each, queued offline)."""
    resolve.fresh(f, note_stale=False)
    found = [card_resolve.card(f, card) for card in cards]
    results = [f.engine.update_card(str(card.id), sprint_id=None) for card in found if card.sprint_id is not None]
    return Membership(None, results)
