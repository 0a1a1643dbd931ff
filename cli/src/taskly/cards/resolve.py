"""Names to cards: a key, an id, a number in the current board, or the current git branch's card;
and the card fields given on the command line (due dates, priorities, sprints), checked locally.

The names every noun uses (workspace, board, column, users) are `taskly.core.resolve`'s.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from ..core import resolve
from ..core.errors import NotFound, UsageError

if TYPE_CHECKING:
    from taskly_shared.models import CardOut

    from ..core.context import Factory


# --- cards ----------------------------------------------------------------------------------------


def branch_card_key() -> str:
    """The key of the card whose branch is checked out (`web-12-fix-login` → WEB-12)."""
    from taskly_shared.keys import format_card_key, key_from_branch

    from ..core.git import current_branch

    branch = current_branch()
    if branch is None:
        raise UsageError("no CARD given, and not on a git branch to take it from")
    parsed = key_from_branch(branch)
    if parsed is None:
        raise UsageError(f"no CARD given, and branch {branch!r} does not start with a card key")
    return format_card_key(*parsed)


def card(f: Factory, ref: str | None) -> CardOut:
    """A cached card by key (`WEB-12`), id, or number within the current board (`12`).

    Without `ref`, the card of the current git branch.
    """
    ref = (ref or branch_card_key()).strip().lstrip("#")
    number = re.search(r"\d+$", ref)
    if number and len(number[0].lstrip("0")) > 18:  # past SQLite's INTEGER: no such card
        raise NotFound(f"no card {ref}")
    store = f.store
    if ref.isascii() and ref.isdigit():
        current = resolve.board(f)
        found = store.card(ref, board_id=str(current.id))
        ref = f"{current.key}-{ref}"
    else:
        scope = resolve.configured_workspace(f)
        found = (store.card(ref, workspace_id=str(scope.id)) if scope else None) or store.card(ref)
    if found is None:
        raise NotFound(f"no card {ref}")
    return found


def card_id(f: Factory, ref: str | None) -> str:
    return str(card(f, ref).id)


# --- card fields ----------------------------------------------------------------------------------


def due_date(text: str, today: date | None = None, flag: str = "--due") -> date | None:
    """`YYYY-MM-DD`, `today`, `tomorrow`, `+3d`, `+2w`; `none` clears (None). Errors name `flag`."""
    value = text.strip().lower()
    today = today or date.today()
    if value in resolve.CLEAR:
        return None
    if value == "today":
        return today
    if value == "tomorrow":
        return today + timedelta(days=1)
    relative = re.fullmatch(r"\+(\d{1,4})([dw]?)", value)
    if relative:
        days = int(relative[1]) * (7 if relative[2] == "w" else 1)
        return today + timedelta(days=days)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{flag} {text!r}: use YYYY-MM-DD, today, tomorrow, +3d or +2w") from None


def card_fields(values: dict[str, Any]) -> dict[str, Any]:
    """Checks the fields of a card write locally (a clear usage error instead of a server 422)."""
    from pydantic import ValidationError
    from taskly_shared.models import CardFields

    try:
        CardFields.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise UsageError(f"invalid card fields: {problems}") from None
    return values


def priority(value: str) -> str:
    from taskly_shared.models import Priority

    names = [p.value for p in Priority]
    if value.strip().lower() not in names:
        raise UsageError(f"unknown priority {value!r}" + resolve.choices(names))
    return value.strip().lower()


def sprint(f: Factory, board: dict[str, Any], ref: str | None) -> dict[str, Any]:
    """A live sprint of `board` (wire JSON) by name (case-insensitive) or id; `current` or no name:
    the board's active sprint. NotFound (exit 3) names the board's sprints."""
    from ..core import sprints

    known = f.store.sprints_json(board_id=board["id"])
    found = sprints.named(known, ref, sprints.today())
    if found is not None:
        return found
    wanted = (ref or "current").strip()
    if wanted.lower() == "current":
        raise NotFound(f"board {board['key']} has no active sprint"
                       + resolve.choices([s["name"] for s in known if sprints.is_open(s)], "open"))
    raise NotFound(f"board {board['key']} has no sprint {wanted!r}"
                   + resolve.choices([s["name"] for s in known], "known"))


def sprint_id(f: Factory, board: dict[str, Any], ref: str) -> str | None:
    """`--sprint NAME|current|none` of a card: the sprint's id (None for `none`)."""
    if ref.strip().lower() in resolve.CLEAR:
        return None
    return str(sprint(f, board, ref)["id"])
