"""Text views of cards for people (`ls`, `show`, `log`); `--json` bypasses all of this.

Each function takes the `Output` and shared wire models and writes to stdout (tables through
`Output.table`, so pipes get tab-separated lines).
"""

from __future__ import annotations

from datetime import date

from ..core.labels import painted
from ..core.output import Painted, Styled, printable
from ..core.render import comment_handle, key, render_pull_requests, short, when

TYPE_CHECKING = False  # no `typing` import: the fast reads (taskly.fast) render with this module

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from taskly_shared.models import CardOut, ChangeOut, CommentOut

    from ..core.output import Output


OVERDUE_STYLE = "bold red"


def overdue(card: CardOut, today: date | None = None) -> bool:
    """Due before today and not done (nor deleted)."""
    return (card.due is not None and card.due < (today or date.today()) and card.column_kind != "done"
            and card.deleted_at is None)


def due_text(card: CardOut, today: date | None = None) -> str | Styled:
    """The due date; an overdue one says so in words (seen without colour too) and in red."""
    if card.due is None:
        return ""
    return Styled(f"{card.due} (overdue)", OVERDUE_STYLE) if overdue(card, today) else str(card.due)


def render_cards(out: Output, cards: Sequence[CardOut], board_key: str | None = None,
                 colors: dict[str, str] | None = None) -> None:
    """`taskly ls`: one row per card, in board order (`board_key` names cards not numbered yet);
    labels in their catalogue `colors` (else their palette colours) on a colour terminal.

    On a terminal a row never wraps: column, title, assignees and labels are cut with `…` to fit."""
    today = date.today()
    rows = [[key(c, board_key), c.column, c.title, "" if c.priority == "none" else c.priority.value,
             ", ".join(c.assignees), painted(c.labels, colors or {}), c.points, due_text(c, today),
             "deleted" if c.deleted_at else ""] for c in cards]
    headers = ["KEY", "COLUMN", "TITLE", "PRIORITY", "ASSIGNEES", "LABELS", "POINTS", "DUE", ""]
    if not any(c.deleted_at for c in cards):
        headers, rows = headers[:-1], [row[:-1] for row in rows]
    out.table(headers, rows, styles=["bold cyan", "magenta", None, "yellow", "green", None, None, None, "red"],
              shrink=(1, 2, 4, 5), keep=2, max_widths={1: 16, 4: 24, 5: 30})


def render_bulk(out: Output, planned: Sequence[Any], key_of: Any) -> None:
    """A bulk command: one line per card, its key and what changed (tab-separated in a pipe)."""
    rows = [[key_of(p.card), p.summary] for p in planned]
    out.table(["KEY", "CHANGE"], rows, styles=["bold cyan", None], shrink=(1,), keep=1)


def repeat_text(card: CardOut, today: date | None = None) -> str:
    """`every 2 weeks; next due 2027-01-18` (the date the server gives the next card when this one
    is done: from its due date, else from the day it is done — today, here)."""
    from ..core.recurrence import describe, next_due

    if card.recurrence == "none":
        return ""
    from datetime import UTC, datetime

    done_on = today or datetime.now(UTC).date()
    following = next_due(card.recurrence.value, card.recurrence_interval, card.due, done_on)
    return f"{describe(card.recurrence.value, card.recurrence_interval)}; next due {following}" + (
        "" if card.due else " (if done today)")


def remind_text(card: CardOut, zone: Any = None) -> str:
    """The reminder in the user's zone (the cached setting; else this machine's)."""
    if card.remind_at is None:
        return ""
    from ..core.when import local

    return local(card.remind_at, zone) if zone is not None else when(card.remind_at)


def render_card(out: Output, card: CardOut, comments: Sequence[CommentOut] = (), zone: Any = None,
                colors: dict[str, str] | None = None) -> None:
    """`taskly show`: the card's fields, description and comments with their short ids (stored text
    escaped); labels in their catalogue `colors` (else their palette colours)."""
    out.line(f"{key(card)}  {printable(card.title)}")
    fields = [
        ("column", card.column), ("priority", card.priority.value), ("labels", painted(card.labels, colors or {})),
        ("assignees", ", ".join(card.assignees)), ("points", card.points), ("due", due_text(card)),
        ("repeats", repeat_text(card)), ("remind", remind_text(card, zone)),
        ("branch", card.branch), ("created", f"{when(card.created_at)} by {card.created_by or '?'}"),
        ("updated", when(card.updated_at)), ("deleted", when(card.deleted_at) if card.deleted_at else None),
    ]
    for name, value in fields:
        if value not in (None, ""):
            spans = getattr(value, "spans", None)
            if spans is not None:  # the label chips, shifted past the field's name
                out.line(Painted(f"  {name:<10}{value}", tuple((a + 12, b + 12, s) for a, b, s in spans)))
            else:
                out.line(f"  {name:<10}{printable(value)}", style=getattr(value, "style", None))
    if card.pull_requests:
        out.line()
        out.line(f"Pull requests ({len(card.pull_requests)})")
        render_pull_requests(out, card.pull_requests, indent="  ")
    if card.description.strip():
        out.line()
        for line in printable(card.description.rstrip(), multiline=True).split("\n"):
            out.line(f"  {line}")
    if comments:
        out.line()
        out.line(f"Comments ({len(comments)})")
        for comment in comments:
            out.line(f"  {printable(comment.author or '?')} · {when(comment.created_at)}"
                     f"{' (edited)' if comment.edited else ''} · {comment_handle(comment)}", style="dim")
            for line in printable(comment.body.rstrip(), multiline=True).split("\n"):
                out.line(f"    {line}")


def render_activity(out: Output, changes: Sequence[ChangeOut]) -> None:
    """`taskly log`: newest first, one row per change with the fields it changed."""
    rows = []
    for change in changes:
        actor = change.actor.name or change.actor.type
        if change.actor.delivery_id:
            actor += f" (delivery {change.actor.delivery_id})"
        fields = "; ".join(_delta(name, delta.old, delta.new, change.op) for name, delta in change.changes.items()
                           if _shown(name, delta.old, delta.new, change.changes))
        what = change.op if change.entity_type == "card" else f"{change.entity_type} {change.op}"
        conflict = f" (conflict: {', '.join(change.conflicts)})" if change.conflicts else ""
        rows.append([change.seq, when(change.created_at), actor, what, fields + conflict])
    out.table(["SEQ", "TIME", "BY", "CHANGE", "FIELDS"], rows, styles=["dim", "dim", "green", "bold", None])


HIDDEN_FIELDS = {"rank", "version", "number", "card_id"}


def _shown(name: str, old: Any, new: Any, changes: dict[str, Any]) -> bool:
    """Whether a changed field is worth a person's attention (ids beside their names are not)."""
    if name in HIDDEN_FIELDS or (name.endswith("_id") and name[:-3] in changes):
        return False
    if name == "recurrence_interval" and new == 1 and old in (None, 1):
        return False
    return old not in (None, "", []) or new not in (None, "", [], "none") or name == "title"


def _delta(name: str, old: Any, new: Any, op: str) -> str:
    if op == "create" or old in (None, "", []):
        return f"{name}: {short(new, 40)}"
    return f"{name}: {short(old, 20)} → {short(new, 30)}"

