"""Text views of `taskly status` (also drawn by the fast reads, `taskly.fast`, without typer) and
the lines `taskly sync` shares with it; `--json` bypasses all of this."""

from __future__ import annotations

import json
from typing import Any

from ..core.output import printable

SOURCE_NOTE = {"TASKLY_TOKEN": "TASKLY_TOKEN", "login": "stored login"}


def _value(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "(none)"
    return json.dumps(value, default=str)


def _conflict_line(conflict: dict[str, Any]) -> str:
    entity = conflict["key"] or f"{conflict['entity_type']} {conflict['entity_id'][:8]}"
    by = printable(conflict["by"] or "someone")
    why = ("you overwrote a value you had not seen" if conflict["mine"]
           else "your value was overwritten")
    change = f"{_value(conflict['old'])} → {_value(conflict['new'])}"
    return f"{entity} {conflict['field']}: {change} by {by} ({why})"


def write_line(write: dict[str, Any]) -> str:
    target = write["key"] or f"{write['entity_type']} {write['entity_id'][:8]} (not yet on the server)"
    fields = f" ({', '.join(write['fields'])})" if write["fields"] else ""
    return f"{write['operation']} {target}{fields}"


def _ago(iso: str | None) -> str:
    """Local time and how long ago: `2026-01-05 14:03:12 (3 min ago)`."""
    if not iso:
        return "never"
    from datetime import UTC, datetime

    when = datetime.fromisoformat(iso)
    seconds = max(0, int((datetime.now(UTC) - when).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{when.astimezone():%Y-%m-%d %H:%M:%S} ({seconds // size} {unit} ago)"
    return f"{when.astimezone():%Y-%m-%d %H:%M:%S} ({seconds} s ago)"


def _origin(item: dict[str, Any] | None, key: str) -> str:
    return "(none)" if item is None else f"{item[key] or '?'}  ({item['source']})"


def render_status(out, status, verbose: bool) -> None:
    rows = [("server", _origin(status.server, "url"))]
    if status.user is None:
        rows.append(("user", "not logged in: run `taskly login`" if status.server else "(none)"))
    else:
        source = SOURCE_NOTE[status.user["source"]]
        rows.append(("user", f"{status.user['username'] or '?'}  ({source})"))
    rows += [("workspace", _origin(status.workspace, "name")),
             ("board", _origin(status.board, "name"))]
    if status.online is None:
        online = "not checked (--offline)" if status.server else "(no server)"
    elif status.online_error:
        online = ("yes, but " if status.online else "no: ") + status.online_error
    else:
        online = f"yes ({status.latency_ms} ms)"
    rows += [("online", online), ("last sync", _ago(status.last_sync))]
    if status.unread is not None:
        rows.append(("unread", f"{status.unread} notification{'s' * (status.unread != 1)}"
                     + (" (taskly inbox)" if status.unread else "")))
    queued = len(status.pending)
    rows.append(("queued", f"{queued} write{'s' * (queued != 1)}"
                 + (" (--verbose lists them)" if queued and not verbose else "")))
    rows += [("failed", str(len(status.failed))), ("conflicts", str(len(status.conflicts)))]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        out.line(f"{name.ljust(width)}  {value}")
    if status.user is not None and status.user.get("github_sign_in_required"):
        out.line("GitHub: sign in again with taskly login")
    if verbose and status.pending:
        out.line("\nqueued writes:")
        for write in status.pending:
            error = (f" — {write['attempts']} attempts, last: {printable(write['error'])}" if write["error"]
                     else "")
            out.line(f"  {write_line(write)}{error}")
    render_problems(out, status.failed, status.conflicts)


def render_problems(out, failed: list[dict[str, Any]], conflicts: list[dict[str, Any]]) -> None:
    if failed:
        out.line("\nwrites the server refused (not retried; "
                 "`taskly sync --discard-failed` forgets them):")
        for write in failed:
            out.line(f"  {write_line(write)}: {printable(write['error'])} [{printable(write['code'])}]")
    if conflicts:
        out.line("\nconflicts:")
        for conflict in conflicts:
            out.line(f"  {_conflict_line(conflict)}")
