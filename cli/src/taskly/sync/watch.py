"""`taskly watch`: follow workspaces live and hand every change to a callback, until a signal.

The watcher keeps its own in-memory cache and cursors instead of the shared cache: another
`taskly` command pulling into the shared cache meanwhile would otherwise make the listener treat
those changes as already applied, and the stream would silently skip them.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.errors import ApiError, NotFound, Offline, UsageError

if TYPE_CHECKING:
    from taskly_shared.models import ChangeOut, NotificationOut, WorkspaceOut

    from ..core.context import Factory
    from .engine import SyncEngine
    from .live import LiveStatus

SETUP_TIMEOUT = 10.0


def change_record(change: ChangeOut, workspace: str | None = None) -> dict[str, Any]:
    """The JSON line of one change: seq, workspace (id and name), entity, op, changed fields, actor,
    time."""
    data = change.model_dump(mode="json", include={"seq", "workspace_id", "entity_type", "entity_id",
                                                    "op", "changes", "actor", "created_at"})
    return {**data, "workspace": workspace, "key": (change.data or {}).get("key") or None}


def notification_record(notification: NotificationOut) -> dict[str, Any]:
    """The JSON line of a notification: `{"type": "notification", "notification": {…}}` (change
    lines have no `type`; a reader tells them apart by it)."""
    return {"type": "notification", "notification": notification.model_dump(mode="json")}


@dataclass
class Watch:
    engine: SyncEngine
    workspaces: list[WorkspaceOut]
    cursors: dict[str, int]
    """Where each workspace's stream starts: changes with a greater seq are reported."""

    def name(self, workspace_id: str | None) -> str | None:
        """The name of a followed workspace, as people know it (its id when it is not followed)."""
        return next((w.name for w in self.workspaces if str(w.id) == workspace_id), workspace_id)


def open_watch(f: Factory, *, every: bool = False, since: int | None = None) -> Watch:
    """The workspaces to follow (the current one, else all), each from its seq (or `since`)."""
    from ..store import Store
    from .engine import SyncEngine

    if f.globals.offline:
        raise Offline("watch follows the server live: it cannot work with --offline")
    store = Store(":memory:", server_url=f.server, user=f.account)
    engine = SyncEngine(f.server, f.api_credentials, store)
    workspaces = engine.api.list_workspaces(timeout=SETUP_TIMEOUT)
    current = f.config.workspace
    chosen = workspaces if every or not current else [_find(workspaces, current)]
    if since is not None and len(chosen) != 1:
        raise UsageError("--since needs one workspace: a seq counts the changes of one workspace "
                         "(pick it with --workspace)")
    cursors = {str(w.id): (since if since is not None else w.seq) for w in chosen}
    try:
        newest: list[Any] | None = engine.api.notifications(limit=1, timeout=SETUP_TIMEOUT).notifications
    except ApiError:  # a server without notifications: changes only
        newest = None
    with store.transaction() as tx:
        # notifications after the user's newest now are reported, those made while connecting too
        if newest is not None:
            tx.set_meta("notification_seq", str(newest[0].seq if newest else 0))
        for workspace in chosen:
            tx.put_workspace(workspace.model_dump(mode="json", exclude={"seq"}),
                             role=str(workspace.role))
            tx.set_cursor(str(workspace.id), cursors[str(workspace.id)])
    return Watch(engine, chosen, cursors)


def _find(workspaces: list[WorkspaceOut], ref: str) -> WorkspaceOut:
    for workspace in workspaces:
        if str(workspace.id) == ref or workspace.name.casefold() == ref.casefold():
            return workspace
    names = ", ".join(sorted(w.name for w in workspaces)) or "none"
    raise NotFound(f"no workspace {ref!r} (yours: {names})", code="not_found")


async def follow(watch: Watch, on_change: Callable[[ChangeOut], Awaitable[None] | None],
                 on_status: Callable[[LiveStatus], Awaitable[None] | None] | None = None,
                 on_notification: Callable[[NotificationOut], Awaitable[None] | None] | None = None) -> None:
    """Stream changes (and the user's new notifications, when `on_notification` is given),
    reconnecting, until SIGINT or SIGTERM; errors like NotLoggedIn propagate."""
    ids = list(watch.cursors)
    await until_signal(watch.engine.listen(on_change, workspace_ids=ids, on_status=on_status,
                                           on_notification=on_notification))


async def follow_notifications(engine: SyncEngine,
                               on_notification: Callable[[NotificationOut], Awaitable[None] | None],
                               on_status: Callable[[LiveStatus], Awaitable[None] | None] | None = None) -> None:
    """`taskly inbox --watch`: the live listener over the shared cache (changes are applied to it
    as always), handing over each notification the cache did not have, until a signal."""
    await until_signal(engine.listen(lambda change: None, on_status=on_status, on_notification=on_notification))


async def until_signal(listen: Awaitable[None]) -> None:
    """Run `listen` until SIGINT or SIGTERM (or until it fails: its error propagates)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    listener = asyncio.ensure_future(listen)
    stopper = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({listener, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (listener, stopper):
            task.cancel()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    if listener in done:
        listener.result()
    with contextlib.suppress(asyncio.CancelledError):
        await listener
