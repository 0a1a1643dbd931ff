"""The guard in front of the app: security headers, the per-IP rate limit, body sizes before reading.

`Protection` wraps Litestar's ASGI handler (inside `RequestObserver`, so what it refuses is
logged and counted too, and outside routing, so a 404 is limited and gets the headers as well):

- every HTTP response gets `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, a CSP of
  `default-src 'none'; frame-ancestors 'none'` and `Referrer-Policy: no-referrer`; every `/api/`
  response (tokens among them) also `Cache-Control: no-store` unless it set its own;
- a client IP over `TASKLY_RATE_LIMIT_IP` gets 429 problem details with `Retry-After`
  (webhooks, health, metrics and the schema are exempt; the per-user limit is checked where
  the bearer token is resolved, `domain.auth`);
- a body larger than its route's limit (`body_limit_for`) gets 413: at once when Content-Length
  says so, else as soon as the streamed bytes pass it, so no more than the limit is ever held;
- bodies over `LARGE_BODY` are read and handled `large_bodies_at_once` at a time per process:
  the others wait (their bytes stay in the kernel: the server stops reading the socket) up to
  `LARGE_BODY_WAIT` seconds, then get 503.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

import msgspec
from litestar.exceptions import HTTPException
from taskly_shared.errors import ErrorCode

from ..settings import Settings
from .rate_limits import RateLimiter

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

AUTH_PATHS = ("/api/v1/auth/", "/api/v1/tokens", "/api/v1/invitations/")
"""Sign-in, refresh, logout, device flow, API tokens, invitations: `body_limit_auth`."""
BULK_PATHS = ("/api/v1/cards/bulk-update",)
WEBHOOK_PATHS = ("/api/v1/webhooks/",)
NOT_RATE_LIMITED = ("/api/v1/webhooks/", "/health/", "/metrics", "/schema")
"""GitHub's deliveries (signed, and bursty by nature), probes, scrapes and the API description."""
LARGE_BODY = 1024 * 1024
LARGE_BODY_WAIT = 30.0
"""Seconds a large body waits for its turn before the request is answered 503."""

SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
)
NO_STORE = (b"cache-control", b"no-store")


def body_limit_for(settings: Settings, path: str) -> int:
    """The largest body the route at `path` accepts, in bytes."""
    if path.startswith(AUTH_PATHS):
        return settings.body_limit_auth
    if path.startswith(WEBHOOK_PATHS):
        return settings.body_limit_webhook
    if path.startswith(BULK_PATHS):
        return settings.body_limit_bulk
    return settings.body_limit


def largest_body_limit(settings: Settings) -> int:
    return max(settings.body_limit, settings.body_limit_auth, settings.body_limit_bulk,
               settings.body_limit_webhook)


class TooLarge(HTTPException):
    status_code = 413


class Busy(HTTPException):
    status_code = 503


def _too_large(limit: int) -> TooLarge:
    # the rest of the body is not wanted: the connection closes after the answer instead of
    # reading it through to the next request
    return TooLarge(detail=f"the request body is larger than this route's limit of {limit} bytes",
                    headers={"Connection": "close"})


class BoundedReceive:
    """The request's `receive`: refuses more than `limit` bytes, takes a turn for a large body.

    An exception raised here surfaces where the app reads the body (Litestar's `request.body()`),
    inside Litestar's error handling: the client gets problem details.
    """

    __slots__ = ("declared", "limit", "receive", "received", "slot", "slots")

    def __init__(self, receive: Receive, limit: int, declared: int | None, slots: asyncio.Semaphore) -> None:
        self.receive, self.limit, self.declared, self.slots = receive, limit, declared, slots
        self.received = 0
        self.slot = False

    async def __call__(self) -> Message:
        if not self.slot and self.declared is not None and self.declared > LARGE_BODY:
            await self._take_turn()
        message = await self.receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                raise _too_large(self.limit)
            if not self.slot and self.received > LARGE_BODY:
                await self._take_turn()
        return message

    async def _take_turn(self) -> None:
        try:
            await asyncio.wait_for(self.slots.acquire(), LARGE_BODY_WAIT)
        except TimeoutError:
            raise Busy(detail="too many large requests at once; try again shortly",
                       headers={"Retry-After": "5"}) from None
        self.slot = True

    def release(self) -> None:
        if self.slot:
            self.slot = False
            self.slots.release()


class Protection:
    """ASGI wrapper: security headers, per-IP rate limit, body limits (see the module docstring)."""

    def __init__(self, app: ASGIApp, settings: Settings, limiter: RateLimiter) -> None:
        self.app = app
        self.settings = settings
        self.limiter = limiter if settings.rate_limit_ip else None
        self.slots = asyncio.Semaphore(settings.large_bodies_at_once)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        send = _with_headers(send, no_store=path.startswith("/api/"))
        if self.limiter is not None and not path.startswith(NOT_RATE_LIMITED):
            client = scope.get("client")
            wait = await self.limiter.check_ip(client[0] if client else "unknown")
            if wait is not None:
                await send_problem(send, 429, ErrorCode.RATE_LIMITED, "Too many requests",
                                   f"rate limit of {self.settings.rate_limit_ip} requests per "
                                   f"{self.settings.rate_limit_window} per client address exceeded; "
                                   f"retry in {wait} s", [(b"retry-after", str(wait).encode())])
                return
        declared, chunked = _body_headers(scope)
        if declared == 0 or (declared is None and not chunked):
            await self.app(scope, receive, send)  # no body (a GET, most often): nothing to bound
            return
        limit = body_limit_for(self.settings, path)
        if declared is not None and declared > limit:
            await send_problem(send, 413, ErrorCode.PAYLOAD_TOO_LARGE, "Payload too large",
                               _too_large(limit).detail, [(b"connection", b"close")])
            return
        bounded = BoundedReceive(receive, limit, declared, self.slots)
        try:
            await self.app(scope, bounded, send)
        finally:
            bounded.release()


_SECURITY_NAMES = frozenset(name for name, _ in SECURITY_HEADERS)


def _with_headers(send: Send, *, no_store: bool) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            names = {name.lower() for name, _ in headers}
            if names.isdisjoint(_SECURITY_NAMES):  # the usual case: none of them set by the app
                headers.extend(SECURITY_HEADERS)
            else:
                headers.extend(header for header in SECURITY_HEADERS if header[0] not in names)
            if no_store and b"cache-control" not in names:
                headers.append(NO_STORE)
            message["headers"] = headers
        await send(message)

    return send_with_headers


def _body_headers(scope: Scope) -> tuple[int | None, bool]:
    """The request's Content-Length (None when absent or not a number) and whether it is chunked."""
    declared: int | None = None
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                return None, True  # Litestar answers 400 for it; bound whatever is read meanwhile
        elif name == b"transfer-encoding":
            chunked = True
    return declared, chunked


async def send_problem(send: Send, status: int, code: str, title: str, detail: str,
                       headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """Problem details shaped like the app's own (`errors.to_problem_details`)."""
    body = msgspec.json.encode({"status": status, "type": "about:blank", "title": title,
                                "detail": detail, "code": str(code)})
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})
