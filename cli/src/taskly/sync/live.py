"""The live listener: follow workspaces over the WebSocket and keep the cache current.

`await engine.listen(on_change, on_status=...)` authenticates, subscribes to every cached workspace
with its last seq, pushes queued writes, then applies each `change` event in seq order and calls
`on_change(change)` once per change applied. A seq gap is filled from the REST feed, `resync`
reloads the workspace from a snapshot, pings are answered; a lost connection is retried with
exponential backoff and jitter (reset after a healthy session), an expired token is refreshed.
It runs until cancelled; `NotLoggedIn` ends it when the credentials cannot be refreshed.
Blocking work (SQLite, REST) runs in threads, so the TUI's event loop stays responsive.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from taskly_shared.events import ChangeEvent, Error, NotificationEvent, Ping, Resync, Unsubscribed
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    wait_exponential,
    wait_random,
)

from ..api.live import AUTH_CLOSE_CODES, AUTH_ERROR_CODES, ConnectionClosed, LiveConnection
from ..core.errors import NotLoggedIn, Offline

if TYPE_CHECKING:
    from taskly_shared.models import ChangeOut, NotificationOut

    from ..store import Store
    from .results import PullResult, PushResult


class Tokens(Protocol):
    """What the listener uses of `api.client.ApiClient`: the token the socket authenticates with."""

    def access_token(self) -> str: ...

    def fresh_token(self, stale: str | None) -> str | None: ...


class Engine(Protocol):
    """What the listener uses of `engine.SyncEngine` (which imports this module to listen)."""

    server_url: str
    store: Store

    @property
    def api(self) -> Tokens: ...

    def note_connection(self, online: bool, error: str | None = None) -> None: ...

    def push(self, timeout: float | None = None) -> PushResult: ...

    def pull(self, timeout: float | None = None, workspace_ids: list[str] | None = None, *,
             discover: bool = False) -> PullResult: ...

    def resync(self, workspace_id: str) -> None: ...

    def apply_changes(self, changes: list[ChangeOut]) -> list[ChangeOut]: ...


@dataclass
class LiveStatus:
    """What the TUI's indicator shows."""

    state: Literal["connecting", "online", "offline", "resynced", "error"]
    detail: str | None = None
    workspace_id: str | None = None
    retry_in: float | None = None


class Reconnect(Exception):
    """End this connection and open a new one (e.g. after refreshing the token)."""


RETRYABLE = (Offline, Reconnect, ConnectionClosed, OSError, TimeoutError)


async def _call(callback: Callable[..., Any] | None, *args: Any) -> None:
    if callback is not None:
        result = callback(*args)
        if inspect.isawaitable(result):
            await result


class Listener:
    def __init__(self, engine: Engine, on_change: Callable[[ChangeOut], Awaitable[None] | None], *,
                 on_status: Callable[[LiveStatus], Awaitable[None] | None] | None = None,
                 workspace_ids: list[str] | None = None, initial_backoff: float = 0.5,
                 max_backoff: float = 30.0,
                 on_notification: Callable[[NotificationOut], Awaitable[None] | None] | None = None) -> None:
        self.engine = engine
        self.on_change = on_change
        self.on_notification = on_notification
        self.on_status = on_status
        self.workspace_ids = workspace_ids
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self._stale_token: str | None = None

    async def run(self) -> None:
        while True:
            retrying = AsyncRetrying(
                retry=retry_if_exception_type(RETRYABLE), reraise=True, before_sleep=self._before_sleep,
                wait=wait_exponential(multiplier=self.initial_backoff, max=self.max_backoff)
                + wait_random(0, self.initial_backoff),
            )
            async for attempt in retrying:
                with attempt:
                    await self._session()
            # A healthy session ended: reconnect at once, with the backoff starting over.

    async def _before_sleep(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        self.engine.note_connection(False, f"{type(error).__name__}: {error}" if error else None)
        retry_in = state.next_action.sleep if state.next_action else None
        await _call(self.on_status, LiveStatus("offline", str(error) if error else None, retry_in=retry_in))

    def _token(self) -> str:
        api = self.engine.api
        if self._stale_token is not None:
            token = api.fresh_token(self._stale_token)
            self._stale_token = None
            if not token:
                raise NotLoggedIn("the server refused the credentials: log in again", code="unauthenticated")
            return token
        return api.access_token()

    def _prepare(self) -> dict[str, int]:
        """Workspaces to follow and their cursors (snapshot first where there is none)."""
        engine = self.engine
        ids = self.workspace_ids or engine.store.workspace_ids()
        missing = [workspace_id for workspace_id in ids if engine.store.cursor(workspace_id) is None]
        if not ids or missing:
            result = engine.pull(workspace_ids=missing or None, discover=not ids)
            if result.stale:
                raise Offline(result.error or "cannot reach the server")
            ids = self.workspace_ids or engine.store.workspace_ids()
        cursors = {workspace_id: engine.store.cursor(workspace_id) for workspace_id in ids}
        return {workspace_id: seq for workspace_id, seq in cursors.items() if seq is not None}

    async def _session(self) -> None:
        await _call(self.on_status, LiveStatus("connecting"))
        token = await asyncio.to_thread(self._token)
        since = await asyncio.to_thread(self.engine.store.notification_seq)
        # After the cache's highest seq, what arrived while disconnected comes first; a cache with
        # none gets live ones only (`GET /notifications`, e.g. by `taskly inbox`, fills it).
        live = await LiveConnection.open(self.engine.server_url, token, notifications_since=since)
        healthy = False
        try:
            cursors = await asyncio.to_thread(self._prepare)
            for workspace_id, seq in cursors.items():
                await live.subscribe(workspace_id, seq)
            await asyncio.to_thread(self.engine.push)
            while True:
                message = await live.recv()
                if not healthy:
                    healthy = True
                    self.engine.note_connection(True)
                    await asyncio.to_thread(self._mark_live, list(cursors))
                    await _call(self.on_status, LiveStatus("online"))
                await self._handle(live, message, token)
        except ConnectionClosed:
            if live.close_code in AUTH_CLOSE_CODES:
                self._stale_token = token
                raise Reconnect(f"connection closed by the server ({live.close_code})") from None
            if healthy:
                return
            raise
        finally:
            if healthy:
                await asyncio.to_thread(self._mark_live, None)
            await live.close()

    def _mark_live(self, workspace_ids: list[str] | None) -> None:
        """`meta.live` = `PID EPOCH WORKSPACE,…` while connected: other taskly processes may read
        these workspaces from the cache without a pull (`taskly.fast.context.fresh_enough`)."""
        import os
        import sqlite3
        import time

        value = f"{os.getpid()} {time.time():.3f} {','.join(workspace_ids)}" if workspace_ids is not None else None
        try:
            with self.engine.store.transaction() as tx:
                current = tx.meta("live")
                if value is not None:
                    tx.set_meta("live", value)
                elif current is not None and current.split(" ", 1)[0] == str(os.getpid()):
                    tx.clear_meta("live")
        except sqlite3.Error:  # a busy or damaged cache: reads then pull as usual
            pass

    async def _handle(self, live: LiveConnection, message: Any, token: str) -> None:
        if isinstance(message, ChangeEvent):
            await self._change(message)
        elif isinstance(message, NotificationEvent):
            await self._notification(message.notification)
        elif isinstance(message, Ping):
            await live.pong()
        elif isinstance(message, Resync):
            workspace_id = str(message.workspace_id)
            await asyncio.to_thread(self.engine.resync, workspace_id)
            await _call(self.on_status, LiveStatus("resynced", message.reason, workspace_id))
            seq = await asyncio.to_thread(self.engine.store.cursor, workspace_id)
            await live.subscribe(workspace_id, seq or 0)
        elif isinstance(message, Error):
            if message.code in AUTH_ERROR_CODES:
                self._stale_token = token
                raise Reconnect(f"{message.code}: {message.message}")
            workspace_id = str(message.workspace_id) if message.workspace_id else None
            await _call(self.on_status, LiveStatus("error", f"{message.code}: {message.message}", workspace_id))
        elif isinstance(message, Unsubscribed) and message.reason != "requested":
            await _call(self.on_status, LiveStatus("error", f"unsubscribed: {message.reason}",
                                                   str(message.workspace_id)))

    async def _change(self, event: ChangeEvent) -> None:
        workspace_id = str(event.workspace_id)
        cursor = await asyncio.to_thread(self.engine.store.cursor, workspace_id)
        if cursor is not None and event.seq <= cursor:
            return
        if cursor is None or event.seq > cursor + 1:
            result = await asyncio.to_thread(self.engine.pull, None, [workspace_id])
            if workspace_id in result.resynced:
                await _call(self.on_status, LiveStatus("resynced", "gap", workspace_id))
            changes = result.changes
        else:
            changes = await asyncio.to_thread(self.engine.apply_changes, [event.change])
        for change in changes:
            await _call(self.on_change, change)

    async def _notification(self, notification: NotificationOut) -> None:
        """Keep it in the cache (its seq is the next reconnect's `notifications_since`); report it
        once, when the cache did not have it yet."""
        data = notification.model_dump(mode="json")

        def put() -> int:
            with self.engine.store.transaction() as tx:
                return tx.put_notifications([data])

        if await asyncio.to_thread(put):
            await _call(self.on_notification, notification)
