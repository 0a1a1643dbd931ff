"""`taskly inbox [--all] [--watch [--bell] [--desktop]]` and `taskly inbox read ID...|--all`.

The inbox lists the user's notifications (all workspaces): unread first, newest first. It is
fetched into the cache first (≤ 3 s); offline it shows the cache, saying so.
"""

from __future__ import annotations

import typer

from ..core.context import factory

app = typer.Typer()
inbox_app = typer.Typer(invoke_without_command=True,
                        help="Your notifications: list (unread first), read ID...|--all, --watch.")
app.add_typer(inbox_app, name="inbox")


@inbox_app.callback()
def inbox(
    ctx: typer.Context,
    every: bool = typer.Option(False, "--all", help="Also the notifications already read."),
    limit: int = typer.Option(50, "--limit", min=1, help="Show at most this many."),
    watch: bool = typer.Option(False, "--watch", help="Stream new notifications until Ctrl-C."),
    bell: bool = typer.Option(False, "--bell", help="With --watch: ring the terminal bell for each."),
    desktop: bool = typer.Option(False, "--desktop",
                                 help="With --watch: a desktop notification (notify-send) for each."),
) -> None:
    """List your notifications, unread first and newest first (--json: the notification objects)."""
    if ctx.invoked_subcommand is not None:
        return
    from . import actions

    f = factory()
    try:
        if (bell or desktop) and not watch:
            from ..core.errors import UsageError

            raise UsageError("--bell and --desktop go with --watch")
        problem = actions.refresh(f)
        if problem is not None and not f.globals.offline:
            f.output.note(f"showing cached notifications: {problem}")
        if watch:
            _watch(f, bell=bell, desktop=desktop)
            return
        from .render import render_inbox

        items = actions.listing(f.store, every=every, limit=limit)
        unread = f.store.unread_count()
        f.output.data(items, lambda rows: render_inbox(f.output, rows, unread, every=every))
    finally:
        f.close()


@inbox_app.command("read")
def read(
    ids: list[str] = typer.Argument(None, metavar="[ID...]",
                                    help="Notification ids (the 8 digits `taskly inbox` shows)."),
    every: bool = typer.Option(False, "--all", help="Mark every unread notification read."),
) -> None:
    """Mark notifications read (by ID, or --all)."""
    from . import actions

    f = factory()
    try:
        result = actions.mark_read(f, list(ids or []), every=every)
        f.output.data(result, lambda r: f.output.line(
            f"marked {r['marked']} read; {r['unread']} unread"))
    finally:
        f.close()


def _watch(f, *, bell: bool, desktop: bool) -> None:
    """Print each new notification (a JSON line with --json) until Ctrl-C or SIGTERM."""
    import asyncio
    import contextlib
    import json
    import shutil
    import subprocess
    import sys

    from ..core.errors import Offline
    from ..sync.watch import follow_notifications
    from .render import notification_line

    if f.globals.offline:
        raise Offline("--watch follows the server live: it cannot work with --offline")
    notify_send = shutil.which("notify-send") if desktop else None
    if desktop and notify_send is None:
        f.output.warn("notify-send not found: no desktop notifications")
    f.output.note(f"{f.store.unread_count()} unread; watching for new notifications; Ctrl-C to stop")

    def emit(notification) -> None:
        data = notification.model_dump(mode="json")
        if f.output.json:
            sys.stdout.write(json.dumps(data, separators=(",", ":")) + "\n")
        else:
            sys.stdout.write(notification_line(data) + "\n")
        if bell:
            sys.stdout.write("\a")
        sys.stdout.flush()
        if notify_send:
            from ..core.output import printable

            title = printable(data.get("card_key") or "Taskly")
            subprocess.run([notify_send, "--app-name=taskly", title, printable(data["message"])],
                           check=False, timeout=5, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def on_status(status) -> None:
        if status.state == "online":
            f.output.note("inbox: connected")
        elif status.state == "offline":
            retry = f"; retrying in {status.retry_in:.1f} s" if status.retry_in is not None else ""
            f.output.note(f"inbox: offline ({status.detail}){retry}")

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(follow_notifications(f.engine, emit, on_status))


# --- taskly config: the user's settings on the server (time zone, notifications) ----------------

config_app = typer.Typer(no_args_is_help=True,
                         help="Your settings on the server: show, set timezone ZONE, set notify.KIND on|off.")
app.add_typer(config_app, name="config")


def _render_settings(out, settings) -> None:
    from taskly_shared.models import NotificationKind

    out.line(f"timezone  {settings.timezone}")
    for kind in NotificationKind:
        out.line(f"notify.{kind.value:<19} {'on' if settings.notify.get(kind, True) else 'off'}")


@config_app.command("show")
def config_show() -> None:
    """Show your time zone and which notifications you get (--json: UserSettings)."""
    from . import actions

    f = factory()
    try:
        settings = actions.settings(f)
        f.output.data(settings, lambda s: _render_settings(f.output, s))
    finally:
        f.close()


@config_app.command("set")
def config_set(
    key: str = typer.Argument(..., metavar="KEY", help="timezone, or notify.KIND (assigned, mentioned, "
                                                       "commented, ci_failed, changes_requested, "
                                                       "moved_by_automation, reminder, due_soon, overdue)."),
    value: str = typer.Argument(..., metavar="VALUE", help="An IANA zone (Europe/Berlin); on or off."),
) -> None:
    """Set your time zone (used for --remind and due-date notifications) or turn a kind of
    notification on or off."""
    from . import actions

    f = factory()
    try:
        settings = actions.set_setting(f, key, value)
        f.output.note(f"{key.strip().lower()} set to {value.strip()}")
        f.output.data(settings, lambda s: _render_settings(f.output, s))
    finally:
        f.close()
