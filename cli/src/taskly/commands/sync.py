"""`taskly status`, `taskly sync`, `taskly watch`: the sync state, a full sync, the live stream."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

from ..context import factory

app = typer.Typer()

SOURCE_NOTE = {"TASKLY_TOKEN": "TASKLY_TOKEN", "login": "stored login"}


def _value(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "(none)"
    return json.dumps(value, default=str)


def _conflict_line(conflict: dict[str, Any]) -> str:
    entity = conflict["key"] or f"{conflict['entity_type']} {conflict['entity_id'][:8]}"
    by = conflict["by"] or "someone"
    why = ("you overwrote a value you had not seen" if conflict["mine"]
           else "your value was overwritten")
    change = f"{_value(conflict['old'])} → {_value(conflict['new'])}"
    return f"{entity} {conflict['field']}: {change} by {by} ({why})"


def _write_line(write: dict[str, Any]) -> str:
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


def _render_status(out, status, verbose: bool) -> None:
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
    queued = len(status.pending)
    rows.append(("queued", f"{queued} write{'s' * (queued != 1)}"
                 + (" (--verbose lists them)" if queued and not verbose else "")))
    rows += [("failed", str(len(status.failed))), ("conflicts", str(len(status.conflicts)))]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        out.line(f"{name.ljust(width)}  {value}")
    if verbose and status.pending:
        out.line("\nqueued writes:")
        for write in status.pending:
            error = (f" — {write['attempts']} attempts, last: {write['error']}" if write["error"]
                     else "")
            out.line(f"  {_write_line(write)}{error}")
    _render_problems(out, status.failed, status.conflicts)


def _render_problems(out, failed: list[dict[str, Any]], conflicts: list[dict[str, Any]]) -> None:
    if failed:
        out.line("\nwrites the server refused (not retried; "
                 "`taskly sync --discard-failed` forgets them):")
        for write in failed:
            out.line(f"  {_write_line(write)}: {write['error']} [{write['code']}]")
    if conflicts:
        out.line("\nconflicts:")
        for conflict in conflicts:
            out.line(f"  {_conflict_line(conflict)}")


@app.command("status")
def status(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="List the queued writes."),
) -> None:
    """Who and where you are, whether the server answers, queued writes, failures and conflicts."""
    from ..status import gather_status

    f = factory()
    report = gather_status(f)
    f.output.data(report.as_dict(), lambda _: _render_status(f.output, report, verbose))
    f.close()
    if not report.logged_in:
        raise typer.Exit(4)


def _render_sync(out, report) -> None:
    out.line(f"pushed  {len(report.pushed)} write{'s' * (len(report.pushed) != 1)}")
    for write in report.pushed:
        out.line(f"  {_write_line(write)}")
    pulled = f"pulled  {report.pulled} change{'s' * (report.pulled != 1)}"
    if report.resynced:
        pulled += f" (reloaded: {', '.join(report.resynced)})"
    out.line(pulled)
    if report.removed:
        out.line(f"removed {len(report.removed)} workspace(s) you no longer belong to")
    out.line(f"queued  {report.queued}")
    _render_problems(out, report.failed, report.conflicts)


@app.command("sync")
def sync(
    discard_failed: bool = typer.Option(
        False, "--discard-failed", help="Forget the writes the server refused, after showing them."),
    timeout: float = typer.Option(
        10.0, "--timeout", min=0.5, help="Seconds for the push and the pull."),
) -> None:
    """Push queued writes, then pull every workspace; shows failures and conflicts (then seen)."""
    from ..errors import Offline
    from ..status import run_sync

    f = factory()
    try:
        report = run_sync(f, timeout=timeout, discard_failed=discard_failed)
        f.output.data(report.as_dict(), lambda _: _render_sync(f.output, report))
    finally:
        f.close()
    if report.offline is not None:
        writes = f"{report.queued} write{'s' * (report.queued != 1)}"
        raise Offline(f"{report.offline} — {writes} still queued")
    if report.discarded:
        f.output.note(f"discarded {report.discarded} refused write(s)")


def _status_note(out, status) -> None:
    if status.state == "online":
        out.note("watch: connected")
    elif status.state == "offline":
        retry = f"; retrying in {status.retry_in:.1f} s" if status.retry_in is not None else ""
        out.note(f"watch: offline ({status.detail}){retry}")
    elif status.state == "resynced":
        out.note(f"watch: workspace {status.workspace_id} reloaded ({status.detail}); "
                 "changes before its new seq are not shown")
    elif status.state == "error":
        out.warn(f"watch: {status.detail}")


@app.command("watch")
def watch(
    every: bool = typer.Option(False, "--all", help="Every workspace, not just the current one."),
    since: int = typer.Option(
        None, "--since", min=0, metavar="SEQ",
        help="Start after this seq of the workspace (replays what followed)."),
) -> None:
    """Print every change as one JSON line (seq, entity, op, changed fields, actor) until Ctrl-C."""
    import asyncio

    from ..watch import change_record, follow, open_watch

    f = factory()
    out = f.output
    try:
        session = open_watch(f, every=every, since=since)
        names = ", ".join(f"{w.name} (after seq {session.cursors[str(w.id)]})"
                          for w in session.workspaces)
        out.note(f"watching {names or 'no workspace'}; Ctrl-C to stop")

        def emit(change) -> None:
            sys.stdout.write(json.dumps(change_record(change), separators=(",", ":")) + "\n")
            sys.stdout.flush()

        try:
            asyncio.run(follow(session, emit, lambda status: _status_note(out, status)))
        finally:
            session.engine.close()
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # the reader went away (`taskly watch | head -1`): a normal end
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        f.close()
