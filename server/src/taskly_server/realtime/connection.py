"""One authenticated WebSocket: its subscriptions, its ordered writer and its heartbeat."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from contextlib import suppress
from typing import Any

import structlog
from litestar.connection import WebSocket
from litestar.exceptions import WebSocketDisconnect
from pydantic import BaseModel, ValidationError
from taskly_shared.errors import ErrorCode
from taskly_shared.events import (
    CLOSE_PING_TIMEOUT,
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHENTICATED,
    Auth,
    Error,
    Ping,
    Pong,
    Subscribe,
    Unsubscribe,
    Unsubscribed,
    client_message,
)

from ..errors import Unauthenticated
from ..lib.principal import Principal
from ..settings import Settings
from .hub import Fanout, NotMember, Subscription, WorkspaceFeed

log = structlog.get_logger("taskly.realtime")

MAX_BACKLOG = 20_000
"""Frames queued for one socket before it counts as too slow and is dropped."""
MAX_SUBSCRIPTIONS = 200


def frame_of(message: BaseModel) -> str:
    return message.model_dump_json()


def start_eagerly(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
    """Run `coro` now, in this call, up to its first real wait; a task takes it on from there.

    What Python 3.12's eager task factory does: a socket write almost never waits, so a fan-out to
    1,000 sockets costs no task, no wake-up and no loop turn per socket. None when `coro` finished.
    """
    try:
        awaited = coro.send(None)
    except StopIteration:
        return None
    return asyncio.get_running_loop().create_task(_resume(coro, awaited))


async def _resume(coro: Coroutine[Any, Any, None], awaited: Any) -> None:
    await _Resumed(coro, awaited)


class _Resumed:
    """Awaits what a started coroutine waits on, then carries it on (results and cancellation)."""

    def __init__(self, coro: Coroutine[Any, Any, None], awaited: Any) -> None:
        self.coro, self.awaited = coro, awaited

    def __await__(self) -> Generator[Any, Any, None]:
        coro, awaited = self.coro, self.awaited
        while True:
            try:
                sent = yield awaited
            except BaseException as exc:  # thrown in by the task: cancellation
                try:
                    awaited = coro.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    awaited = coro.send(sent)
                except StopIteration:
                    return


def text_of(event: dict) -> str:
    """The text of a received frame (a binary frame is read as UTF-8)."""
    if event.get("text") is not None:
        return event["text"]
    return (event.get("bytes") or b"").decode("utf-8", errors="replace")


class Connection:
    """Everything sent goes through one outbox, so each socket gets its frames in order.

    The outbox is written at once, by whoever adds to it (`start_eagerly`), until a write has to
    wait for the socket; a task then carries on, and frames added meanwhile queue behind it.
    """

    def __init__(self, socket: WebSocket, principal: Principal, fanout: Fanout,
                 settings: Settings,
                 reauthenticate: Callable[[], Awaitable[Principal]] | None = None) -> None:
        self.socket = socket
        self.principal = principal
        self.reauthenticate = reauthenticate
        """Checks the socket's token again (raises Unauthenticated once expired or revoked)."""
        self.fanout = fanout
        self.settings = settings
        self.subscriptions: dict[uuid.UUID, tuple[Subscription, WorkspaceFeed]] = {}
        self.close_code: int | None = None
        self.close_reason = ""
        self._outbox: deque[str] = deque()
        self._flushing = False
        """A flush is under way (running now, or carried on by `_flusher`)."""
        self._flusher: asyncio.Task[None] | None = None
        self._done = asyncio.Event()
        self._ping_sent: float | None = None
        """When the oldest unanswered ping went out."""
        self._releases: set[asyncio.Task[None]] = set()

    # --- what the hub calls ---------------------------------------------------------------

    def send_frames(self, frames: list[str]) -> None:
        if self._done.is_set():
            return
        self._outbox.extend(frames)
        if len(self._outbox) > MAX_BACKLOG:
            self.close(CLOSE_TOO_SLOW, "too far behind: reconnect and catch up")
        elif not self._flushing:
            self._flushing = True
            self._flusher = start_eagerly(self._flush())

    async def drained(self) -> None:
        """Wait until everything queued so far was written (back-pressure for a long catch-up)."""
        while (flusher := self._flusher) is not None and not self._done.is_set():
            await asyncio.wait((flusher,))

    def subscription_removed(self, subscription: Subscription, reason: str) -> None:
        entry = self.subscriptions.get(subscription.workspace_id)
        if entry is None or entry[0] is not subscription:
            return
        del self.subscriptions[subscription.workspace_id]
        self.send(Unsubscribed(workspace_id=subscription.workspace_id, reason=reason))
        task = asyncio.create_task(self.fanout.release(entry[1]))
        self._releases.add(task)
        task.add_done_callback(self._releases.discard)

    # --- life cycle -----------------------------------------------------------------------

    def send(self, message: BaseModel) -> None:
        self.send_frames([frame_of(message)])

    def close(self, code: int, reason: str) -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        self._done.set()

    def signed_out(self, code: str, detail: str) -> None:
        """The socket's token no longer counts (expired, revoked, signed out): error, close 4401."""
        if self._done.is_set():
            return
        self.send(Error(code=code, message=detail))
        self.close(CLOSE_UNAUTHENTICATED, detail[:120])

    async def run(self) -> None:
        """Until the client leaves, stops answering, or falls too far behind."""
        tasks = [asyncio.create_task(coro) for coro in
                 (self._read(), self._heartbeat(), self._done.wait())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    exc = task.exception()
                    if not _is_disconnect(exc):
                        log.warning("realtime_socket_failed", error=type(exc).__name__)
        finally:
            self._done.set()
            if self._flusher is not None:
                tasks.append(self._flusher)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for subscription, feed in list(self.subscriptions.values()):
                feed.remove(subscription)
                await self.fanout.release(feed)
            self.subscriptions.clear()
            if self._releases:
                await asyncio.gather(*self._releases, return_exceptions=True)
            if self.close_code is not None:
                with suppress(Exception):
                    await self.socket.close(self.close_code, self.close_reason)

    async def _flush(self) -> None:
        """Write the outbox in order; a failed write ends the connection."""
        send, outbox = self.socket.send, self._outbox
        try:
            while outbox and not self._done.is_set():
                await send({"type": "websocket.send", "bytes": None, "text": outbox.popleft()})
        except Exception as exc:
            if not _is_disconnect(exc):
                log.warning("realtime_socket_failed", error=type(exc).__name__)
            self._done.set()
        finally:
            self._flushing = False
            self._flusher = None

    async def _heartbeat(self) -> None:
        """Ping every interval; drop the socket when a ping stays unanswered past the timeout."""
        interval, timeout = self.settings.ws_ping_interval, self.settings.ws_ping_timeout
        next_ping = time.monotonic() + interval
        while True:
            deadline = next_ping if self._ping_sent is None else min(next_ping, self._ping_sent + timeout)
            await asyncio.sleep(max(0.0, deadline - time.monotonic()))
            now = time.monotonic()
            if self._ping_sent is not None and now - self._ping_sent >= timeout:
                self.close(CLOSE_PING_TIMEOUT, "no answer to ping")
                return
            if now >= next_ping:
                if not await self._still_signed_in():
                    return
                if self._ping_sent is None:
                    self._ping_sent = now
                self.send(Ping())
                next_ping = now + interval

    async def _still_signed_in(self) -> bool:
        """The token the socket signed in with is still good; else error, close 4401."""
        if self.reauthenticate is None:
            return True
        try:
            await self.reauthenticate()
        except Unauthenticated as exc:
            self.signed_out(exc.code, exc.detail)
            return False
        except Exception as exc:  # the database is away, say: keep the socket, ask again next time
            log.warning("realtime_reauthentication_failed", error=type(exc).__name__)
        return True

    # --- what the client says -------------------------------------------------------------

    async def _read(self) -> None:
        while True:
            event = await self.socket.receive()
            if event["type"] == "websocket.disconnect":
                return
            self._ping_sent = None  # anything the client sends shows it is alive
            await self._handle(text_of(event))

    async def _handle(self, text: str) -> None:
        try:
            message = client_message.validate_json(text)
        except ValidationError as exc:
            problem = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}"
                                for e in exc.errors()[:3])
            self.send(Error(code=ErrorCode.VALIDATION, message=f"invalid message: {problem}"[:500]))
            return
        if isinstance(message, Subscribe):
            try:
                await self._subscribe(message)
            except Exception as exc:
                log.warning("realtime_subscribe_failed", error=type(exc).__name__)
                await self._leave(message.workspace_id)
                self.send(Error(code=ErrorCode.UNAVAILABLE, workspace_id=message.workspace_id,
                                message="subscription failed, try again"))
        elif isinstance(message, Unsubscribe):
            await self._leave(message.workspace_id)
            self.send(Unsubscribed(workspace_id=message.workspace_id, reason="requested"))
        elif isinstance(message, Ping):
            self.send(Pong())
        elif isinstance(message, Auth):
            self.send(Error(code=ErrorCode.BAD_REQUEST, message="already authenticated"))

    async def _subscribe(self, message: Subscribe) -> None:
        workspace_id = message.workspace_id
        await self._leave(workspace_id)  # subscribing again restarts from the new `since`
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            self.send(Error(code=ErrorCode.BAD_REQUEST, workspace_id=workspace_id,
                            message=f"at most {MAX_SUBSCRIPTIONS} subscriptions per connection"))
            return
        checked_at = time.monotonic()
        async with self.fanout.catch_ups:
            head = await self.fanout.head(workspace_id, self.principal.user_id)
        if head is None:
            self.send(Error(code=ErrorCode.NOT_FOUND, message="workspace not found",
                            workspace_id=workspace_id))
            return
        feed = await self.fanout.acquire(workspace_id)
        subscription = Subscription(self, workspace_id, self.principal.user_id, checked_at=checked_at)
        self.subscriptions[workspace_id] = (subscription, feed)
        try:
            await feed.join(subscription, message.since, head)
        except NotMember:
            await self._leave(workspace_id)
            self.send(Error(code=ErrorCode.NOT_FOUND, message="workspace not found",
                            workspace_id=workspace_id))

    async def _leave(self, workspace_id: uuid.UUID) -> None:
        entry = self.subscriptions.pop(workspace_id, None)
        if entry is not None:
            subscription, feed = entry
            feed.remove(subscription)
            await self.fanout.release(feed)


def _is_disconnect(exc: BaseException) -> bool:
    return isinstance(exc, WebSocketDisconnect | OSError)
