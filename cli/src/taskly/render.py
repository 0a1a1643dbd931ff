"""Text views of boards, cards and the rest for people; `--json` bypasses all of this.

Each function takes the `Output` and shared wire models and writes to stdout (tables through
`Output.table`, so pipes get tab-separated lines); notes about writes go to stderr.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from taskly_shared.models import (
        ApiTokenOut,
        BoardAutomation,
        BoardOut,
        CardOut,
        ChangeOut,
        ColumnOut,
        CommentOut,
        MemberOut,
        PullRequestOut,
        WorkspaceOut,
    )

    from .output import Output
    from .sync.results import WriteResult

PENDING_KEY = "(new)"
"""Shown instead of the key of a card created offline, until the server numbers it."""


def key(card: CardOut) -> str:
    return card.key or PENDING_KEY


def when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else ""


def short(value: Any, width: int = 40) -> str:
    text = "" if value is None else (", ".join(map(str, value)) if isinstance(value, list) else str(value))
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# --- cards ----------------------------------------------------------------------------------------


def render_cards(out: Output, cards: Sequence[CardOut]) -> None:
    """`taskly ls`: one row per card, in board order."""
    rows = [[key(c), c.column, c.title, "" if c.priority == "none" else c.priority.value,
             ", ".join(c.assignees), ", ".join(c.labels), c.points, c.due,
             "deleted" if c.deleted_at else ""] for c in cards]
    headers = ["KEY", "COLUMN", "TITLE", "PRIORITY", "ASSIGNEES", "LABELS", "POINTS", "DUE", ""]
    if not any(c.deleted_at for c in cards):
        headers, rows = headers[:-1], [row[:-1] for row in rows]
    out.table(headers, rows, styles=["bold cyan", "magenta", None, "yellow", "green", "blue", None, None, "red"])


def render_card(out: Output, card: CardOut, comments: Sequence[CommentOut] = ()) -> None:
    """`taskly show`: the card's fields, description and comments."""
    out.line(f"{key(card)}  {card.title}")
    fields = [
        ("column", card.column), ("priority", card.priority.value), ("labels", ", ".join(card.labels)),
        ("assignees", ", ".join(card.assignees)), ("points", card.points), ("due", card.due),
        ("branch", card.branch), ("created", f"{when(card.created_at)} by {card.created_by or '?'}"),
        ("updated", when(card.updated_at)), ("deleted", when(card.deleted_at) if card.deleted_at else None),
    ]
    for name, value in fields:
        if value not in (None, ""):
            out.line(f"  {name:<10}{value}")
    if card.pull_requests:
        out.line()
        out.line(f"Pull requests ({len(card.pull_requests)})")
        render_pull_requests(out, card.pull_requests, indent="  ")
    if card.description.strip():
        out.line()
        for line in card.description.rstrip().splitlines():
            out.line(f"  {line}")
    if comments:
        out.line()
        out.line(f"Comments ({len(comments)})")
        for comment in comments:
            out.line(f"  {comment.author or '?'} · {when(comment.created_at)}{' (edited)' if comment.edited else ''}")
            for line in comment.body.rstrip().splitlines():
                out.line(f"    {line}")


def render_pull_requests(out: Output, pulls: Sequence[PullRequestOut], indent: str = "") -> None:
    """A card's pull requests: `#12 open · ci failure · 1 approval · acme/web  <url>`, then the
    checks that failed or still run."""
    for pull in pulls:
        reviews = [f"{pull.approvals} approval{'s' if pull.approvals != 1 else ''}"] if pull.approvals else []
        if pull.changes_requested:
            reviews.append(f"{pull.changes_requested} change request{'s' if pull.changes_requested != 1 else ''}")
        parts = [f"#{pull.number} {pull.state.value}", f"ci {pull.ci.value}", *reviews, pull.repository]
        out.line(f"{indent}{' · '.join(parts)}  {pull.url or ''}".rstrip())
        out.line(f"{indent}  {short(pull.title, 70)}")
        for check in pull.checks:
            if check.state in ("failure", "pending"):
                out.line(f"{indent}  {check.state:<8}{check.name}")


def render_automation(out: Output, automation: BoardAutomation) -> None:
    """`taskly board automation show`: where each pull-request event moves the board's cards."""
    rows = []
    for rule in automation.rules:
        if not rule.enabled:
            target = "stays"
        elif rule.column:
            target = rule.column
        else:
            target = f"(no {rule.kind.value} column)" if rule.kind else "(its column was deleted)"
        rows.append([rule.event.value, target, "default" if rule.default else "set"])
    out.table(["EVENT", "MOVES TO", "RULE"], rows, styles=["bold", "magenta", "dim"])


def render_board(out: Output, board: BoardOut, columns: Sequence[ColumnOut], cards: Iterable[CardOut]) -> None:
    """A board as a table: one table column per board column, its cards below it in rank order."""
    by_column: dict[str, list[CardOut]] = {str(column.id): [] for column in columns}
    for card in cards:
        if not card.deleted_at and str(card.column_id) in by_column:
            by_column[str(card.column_id)].append(card)
    headers = []
    for column in columns:
        count = len(by_column[str(column.id)])
        headers.append(f"{column.name} ({count}/{column.wip_limit})" if column.wip_limit else
                       f"{column.name} ({count})")
    terminal = out.stdout.isatty()
    width = (max(16, (shutil.get_terminal_size((120, 24)).columns - 2 * len(columns)) // max(1, len(columns)))
             if terminal else 1000)
    depth = max((len(v) for v in by_column.values()), default=0)
    rows = []
    for index in range(depth):
        row = []
        for column in columns:
            stack = by_column[str(column.id)]
            row.append(short(f"{key(stack[index])} {stack[index].title}", width) if index < len(stack) else "")
        rows.append(row)
    out.line(f"{board.key} · {board.name}")
    if not terminal:  # a pipe gets tab-separated rows: the column names are its first row here
        out.line("\t".join(headers))
    out.table(headers, rows)


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


def report_write(out: Output, result: WriteResult[Any], done: str) -> None:
    """stderr notes after a write: queued for later, or done; conflicts it overwrote."""
    if result.queued:
        out.note(f"queued: {_queued_reason(result.reason)}; will sync later")
    else:
        out.note(done)
    if result.conflicts:
        fields = ", ".join(sorted({c.field for c in result.conflicts}))
        out.warn(f"conflict on {fields}: this change overwrote a value you had not seen")


def _queued_reason(reason: str | None) -> str:
    text = reason or "not pushed yet"
    if text.startswith("cannot reach") or "unavailable" in text:
        return "server unreachable"
    return text


# --- workspaces, members, boards, columns, tokens -----------------------------------------------


def render_workspaces(out: Output, workspaces: Sequence[WorkspaceOut], current: str | None = None) -> None:
    rows = [["*" if str(w.id) == current else "", w.name, w.role.value, w.id] for w in workspaces]
    out.table(["", "NAME", "ROLE", "ID"], rows, styles=["green", "bold", None, "dim"])


def render_members(out: Output, members: Sequence[MemberOut]) -> None:
    rows = [[m.username, m.name or "", m.role.value, when(m.joined_at)] for m in members]
    out.table(["USERNAME", "NAME", "ROLE", "JOINED"], rows, styles=["bold", None, None, "dim"])


def render_boards(out: Output, boards: Sequence[BoardOut], current: str | None = None) -> None:
    rows = [["*" if str(b.id) == current else "", b.key, b.name, " → ".join(c.name for c in b.columns)]
            for b in boards]
    out.table(["", "KEY", "NAME", "COLUMNS"], rows, styles=["green", "bold cyan", "bold", None])


def render_columns(out: Output, columns: Sequence[ColumnOut]) -> None:
    rows = [[index, c.name, c.kind.value, c.wip_limit or ""] for index, c in enumerate(columns, start=1)]
    out.table(["#", "NAME", "KIND", "WIP"], rows, styles=["dim", "bold", None, None])


def render_tokens(out: Output, tokens: Sequence[ApiTokenOut]) -> None:
    rows = [[t.name, t.id, when(t.created_at), when(t.last_used_at), when(t.expires_at),
             "revoked" if t.revoked_at else "active"] for t in tokens]
    out.table(["NAME", "ID", "CREATED", "LAST USED", "EXPIRES", "STATE"], rows,
              styles=["bold", "dim", None, None, None, None])
