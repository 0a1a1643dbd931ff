"""`taskly status`, `taskly sync`, `taskly watch`: the sync state, a full sync, the live stream."""

from __future__ import annotations

import json
import sys

import typer

from ..core.context import factory
from .render import render_problems, render_status, write_line

app = typer.Typer()


@app.command("status")
def status(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="List the queued writes."),
    prompt: bool = typer.Option(
        False, "--prompt", help="A short segment for shell prompts, from the cache only: "
                                "the branch's card and column, unread notifications, queued writes."),
) -> None:
    """Who and where you are, whether the server answers, unread notifications, queued writes,
    failures and conflicts."""
    if prompt:  # `taskly status --prompt` alone never gets here (main's fast path)
        import os

        from ..core.globals import GLOBALS
        from .prompt import run

        flags = {f"TASKLY_{name.upper()}": getattr(GLOBALS, name) for name in ("server", "workspace", "board")}
        raise typer.Exit(run({**os.environ, **{k: v for k, v in flags.items() if v}}))
    from .status import gather_status

    f = factory()
    report = gather_status(f)
    f.output.data(report.as_dict(), lambda _: render_status(f.output, report, verbose))
    f.close()
    if not report.logged_in:
        raise typer.Exit(4)


def _render_sync(out, report) -> None:
    out.line(f"pushed  {len(report.pushed)} write{'s' * (len(report.pushed) != 1)}")
    for write in report.pushed:
        out.line(f"  {write_line(write)}")
    pulled = f"pulled  {report.pulled} change{'s' * (report.pulled != 1)}"
    if report.resynced:
        pulled += f" (reloaded: {', '.join(report.resynced)})"
    out.line(pulled)
    if report.removed:
        out.line(f"removed {len(report.removed)} workspace(s) you no longer belong to")
    out.line(f"queued  {report.queued}")
    render_problems(out, report.failed, report.conflicts)


@app.command("sync")
def sync(
    discard_failed: bool = typer.Option(
        False, "--discard-failed", help="Forget the writes the server refused, after showing them."),
    timeout: float = typer.Option(
        10.0, "--timeout", min=0.5, help="Seconds for the push and the pull."),
) -> None:
    """Push queued writes, then pull every workspace; shows failures and conflicts (then seen)."""
    from ..core.errors import Offline
    from ..core.render import handle
    from .status import run_sync

    f = factory()
    try:
        report = run_sync(f, timeout=timeout, discard_failed=discard_failed)
        f.output.data(report.as_dict(), lambda _: _render_sync(f.output, report))
        for write in report.pushed:  # cards created offline: their handle, and now their key
            if write.get("operation") == "card.create" and write.get("key"):
                f.output.note(f"{handle(write['entity_id'])} is now {write['key']}")
    finally:
        f.close()
    if report.offline is not None:
        writes = f"{report.queued} write{'s' * (report.queued != 1)}"
        raise Offline(f"{report.offline} — {writes} still queued")
    if report.discarded:
        f.output.note(f"discarded {report.discarded} refused write(s)")
    problems = [f"refused {write_line(w)}" for w in report.failed] + [
        f"{c['key'] or c['entity_type']} {c['field']} overwritten" for c in report.conflicts]
    if problems:  # exit 5: a script must not take this sync for a clean one
        from ..core.errors import Conflict

        raise Conflict(f"{len(report.failed)} refused write(s), {len(report.conflicts)} conflict(s): "
                       + "; ".join(problems), code="sync_conflict")


def _status_note(out, status, session) -> None:
    if status.state == "online":
        out.note("watch: connected")
    elif status.state == "offline":
        retry = f"; retrying in {status.retry_in:.1f} s" if status.retry_in is not None else ""
        out.note(f"watch: offline ({status.detail}){retry}")
    elif status.state == "resynced":
        out.note(f"watch: workspace {session.name(status.workspace_id)} reloaded ({status.detail}); "
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
    """Print every change as one JSON line (seq, entity, op, changed fields, actor) until Ctrl-C;
    your new notifications too, as `{"type": "notification", "notification": {…}}` lines."""
    import asyncio

    from .watch import change_record, follow, notification_record, open_watch

    f = factory()
    out = f.output
    try:
        session = open_watch(f, every=every, since=since)
        names = ", ".join(f"{w.name} (after seq {session.cursors[str(w.id)]})"
                          for w in session.workspaces)
        out.note(f"watching {names or 'no workspace'}; Ctrl-C to stop")

        def emit(change) -> None:
            record = change_record(change, session.name(str(change.workspace_id)))
            sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")
            sys.stdout.flush()

        def emit_notification(notification) -> None:
            sys.stdout.write(json.dumps(notification_record(notification), separators=(",", ":")) + "\n")
            sys.stdout.flush()

        try:
            asyncio.run(follow(session, emit, lambda status: _status_note(out, status, session),
                               on_notification=emit_notification))
        finally:
            session.engine.close()
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # the reader went away (`taskly watch | head -1`): a normal end
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        f.close()
