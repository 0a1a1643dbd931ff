"""Deadlines: every HTTP request is answered within `request_timeout`, every shutdown step ends.

`Deadline` wraps the ASGI app. A request still unanswered at its deadline gets 503 problem details
(`service_unavailable`, `Retry-After`) at once; the request's task is cancelled and left to clean
up after the answer has gone (a rollback on a frozen database may wait for the statement timeout),
and anything it sends later is dropped. WebSockets are exempt (they live as long as their
client), and so are the paths in `exempt` (long polls). A response already started when the
deadline passes is left to finish: its status is out.

`bounded(step, seconds, what)` runs one shutdown step, logging instead of raising when it fails or
takes longer, so a dead Redis or database never keeps a process from exiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog
from taskly_shared.errors import ErrorCode

from ..errors import RETRY_AFTER
from .protection import send_problem

log = structlog.get_logger("taskly.deadlines")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Deadline:
    """ASGI wrapper: a 503 for any HTTP request not answered within `timeout` seconds.

    The request runs in the caller's own task, watched by a timer (`loop.call_later`): no task
    and no `asyncio.wait` per request. When the timer fires before the response has started, the
    503 is sent from a small task of its own (so the client has it at once, whatever the
    request's cleanup waits for) and the request's task is cancelled.
    """

    def __init__(self, app: ASGIApp, timeout: float, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.timeout = timeout
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.exempt and scope["path"].startswith(self.exempt)):
            await self.app(scope, receive, send)
            return
        watch = _Watch(send)
        task = asyncio.current_task()
        assert task is not None
        timer = asyncio.get_running_loop().call_later(self.timeout, self._expire, watch, task, scope)
        try:
            await self.app(scope, receive, watch.send)
        except asyncio.CancelledError:
            if watch.answer is None or task.uncancel() > 0:
                raise  # the server is stopping, or the client went away
            # our own cancellation: the request has cleaned up
        except Exception as exc:
            if watch.answer is None:
                raise
            task.uncancel()
            log.warning("request_failed_after_deadline", error=type(exc).__name__)
        else:
            if watch.answer is None:
                return
            task.uncancel()  # the request swallowed our cancellation
        finally:
            timer.cancel()
        await watch.answer  # sent by now unless the cleanup took no time: the server waits for it

    def _expire(self, watch: _Watch, task: asyncio.Task[Any], scope: Scope) -> None:
        """The timer: a response already started is left to finish; else 503 now, and cancel."""
        if watch.started or task.done():
            return
        task.cancel()
        log.warning("request_timed_out", method=scope.get("method"), path=scope["path"],
                    timeout=self.timeout)
        watch.answer = asyncio.ensure_future(send_problem(
            watch.downstream, 503, ErrorCode.SERVICE_UNAVAILABLE, "Service unavailable",
            f"the request took longer than {self.timeout:g} s; try again shortly",
            [(b"retry-after", str(RETRY_AFTER).encode())]))


class _Watch:
    """One request's `send`: notes when the response starts, drops what comes after a 503."""

    __slots__ = ("answer", "downstream", "started")

    def __init__(self, downstream: Send) -> None:
        self.downstream = downstream
        self.started = False
        self.answer: asyncio.Future[None] | None = None
        """Past the deadline: the 503 being sent (or sent) to the client."""

    async def send(self, message: Message) -> None:
        if self.answer is not None:
            return
        if message["type"] == "http.response.start":
            self.started = True
        await self.downstream(message)


async def bounded(step: Awaitable[Any], seconds: float, what: str) -> None:
    """Await one shutdown step for at most `seconds`; a failure or a timeout is logged, not raised."""
    try:
        await asyncio.wait_for(step, max(seconds, 0.01))
    except TimeoutError:
        log.warning("shutdown_step_timed_out", step=what, seconds=round(seconds, 2))
    except Exception as exc:
        log.warning("shutdown_step_failed", step=what, error=type(exc).__name__)
