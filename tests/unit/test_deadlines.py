"""`lib.deadlines.Deadline`: the request timer that runs in the request's own task.

Plain ASGI apps stand for the server's; what is checked is what the client is sent and what
the request's task sees (its cancellation, and that the cancellation is taken back after).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from taskly_server.lib.deadlines import Deadline

TIMEOUT = 0.05


def http_scope(path: str = "/api/v1/cards/x/move", kind: str = "http") -> dict[str, Any]:
    return {"type": kind, "path": path, "method": "POST", "headers": []}


async def no_body() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


class Client:
    """The `send` of the server: what reached the client, and an event per message."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.answered = asyncio.Event()

    async def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            self.answered.set()

    @property
    def status(self) -> int:
        return next(m["status"] for m in self.messages if m["type"] == "http.response.start")

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")


async def ok(send: Any, body: bytes = b"ok") -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def test_a_request_answered_in_time_is_left_alone() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await ok(send)

    client = Client()
    await Deadline(app, TIMEOUT)(http_scope(), no_body, client.send)
    assert (client.status, client.body) == (200, b"ok")
    assert asyncio.current_task().cancelling() == 0


async def test_a_late_request_gets_503_at_once_cleans_up_after_and_its_sends_are_dropped() -> None:
    cleanup_may_finish = asyncio.Event()
    cancelled = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        try:
            await asyncio.Event().wait()  # a frozen database
        except asyncio.CancelledError:
            cancelled.set()
            await cleanup_may_finish.wait()  # the rollback waits too
            await ok(send, b"too late")
            raise

    client = Client()
    request = asyncio.ensure_future(Deadline(app, TIMEOUT)(http_scope(), no_body, client.send))
    await client.answered.wait()  # the 503 is out while the request is still cleaning up
    assert cancelled.is_set() and not request.done()
    assert client.status == 503
    problem = json.loads(client.body)
    assert problem["code"] == "service_unavailable" and problem["status"] == 503
    assert (b"retry-after", b"5") in next(m for m in client.messages
                                          if m["type"] == "http.response.start")["headers"]
    cleanup_may_finish.set()
    await request  # our own cancellation ends quietly
    assert client.body == problem_bytes(client) and b"too late" not in client.body
    assert request.cancelling() == 0


def problem_bytes(client: Client) -> bytes:
    return next(m["body"] for m in client.messages if m["type"] == "http.response.body")


async def hanging(scope: Any, receive: Any, send: Any) -> None:
    await asyncio.Event().wait()


async def deadline_passed(deadline: Deadline) -> None:
    """Returns once a request started now has had its 503: every earlier deadline has passed."""
    witness = Client()
    request = asyncio.ensure_future(Deadline(hanging, deadline.timeout)(http_scope(), no_body, witness.send))
    await witness.answered.wait()
    await request


async def test_a_response_already_started_at_the_deadline_is_left_to_finish() -> None:
    streamed = asyncio.Event()
    past_deadline = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first ", "more_body": True})
        streamed.set()
        await past_deadline.wait()
        await send({"type": "http.response.body", "body": b"last"})

    client = Client()
    deadline = Deadline(app, TIMEOUT)
    request = asyncio.ensure_future(deadline(http_scope(), no_body, client.send))
    await streamed.wait()
    await deadline_passed(deadline)
    past_deadline.set()
    await request
    assert (client.status, client.body) == (200, b"first last")


@pytest.mark.parametrize("scope", [http_scope("/api/v1/feed/wait"), http_scope("/ws", kind="websocket")],
                         ids=["exempt path", "websocket"])
async def test_exempt_paths_and_websockets_have_no_deadline(scope: dict[str, Any]) -> None:
    release = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await release.wait()
        await ok(send)

    client = Client()
    deadline = Deadline(app, TIMEOUT, exempt=("/api/v1/feed/wait",))
    request = asyncio.ensure_future(deadline(scope, no_body, client.send))
    await deadline_passed(deadline)
    release.set()
    await request
    assert (client.status, client.body) == (200, b"ok")


async def test_a_cancellation_from_outside_is_passed_on() -> None:
    started = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        started.set()
        await asyncio.Event().wait()

    client = Client()
    request = asyncio.ensure_future(Deadline(app, 60)(http_scope(), no_body, client.send))
    await started.wait()
    request.cancel()  # the server stopping
    with pytest.raises(asyncio.CancelledError):
        await request
    assert client.messages == []


async def test_an_error_before_the_deadline_is_raised_after_it_is_logged_only() -> None:
    async def failing(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await Deadline(failing, 60)(http_scope(), no_body, Client().send)

    async def failing_in_cleanup(scope: Any, receive: Any, send: Any) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            raise RuntimeError("rollback failed")

    client = Client()
    await Deadline(failing_in_cleanup, TIMEOUT)(http_scope(), no_body, client.send)
    assert client.status == 503
    assert asyncio.current_task().cancelling() == 0
