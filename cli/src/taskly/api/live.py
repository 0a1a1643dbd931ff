"""The WebSocket client of /api/v1/ws: authenticate, subscribe, read typed server messages.

    async with await LiveConnection.open(server_url, token) as live:
        await live.subscribe(workspace_id, since=41)
        while True:
            message = await live.recv()        # taskly_shared.events.ServerMessage

Connection failures raise `Offline`; the sync engine's listener reconnects with backoff.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import websockets
from pydantic import ValidationError
from taskly_shared.events import (
    Auth,
    Ping,
    Pong,
    ServerMessage,
    Subscribe,
    Unsubscribe,
    server_message,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from ..core.errors import Offline

AUTH_ERROR_CODES = {"unauthenticated", "token_expired"}
AUTH_CLOSE_CODES = {1008, 4001, 4003, 4401, 4403}


def ws_url(server_url: str) -> str:
    url = server_url.rstrip("/")
    if url.startswith("https://"):
        return "wss://" + url.removeprefix("https://") + "/api/v1/ws"
    return "ws://" + url.removeprefix("http://") + "/api/v1/ws"


class LiveConnection:
    """One authenticated connection; `recv()` yields typed server messages."""

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket

    @classmethod
    async def open(cls, server_url: str, token: str, *, open_timeout: float = 10.0,
                   ping_interval: float | None = 20.0,
                   notifications_since: int | None = None) -> LiveConnection:
        """Connect and send the auth message (the server answers `authenticated` or `error`); with
        `notifications_since`, the server first sends the user's notifications after that seq."""
        try:
            socket = await connect(ws_url(server_url), open_timeout=open_timeout, ping_interval=ping_interval,
                                   max_size=None, user_agent_header="taskly-cli")
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            raise Offline(f"cannot open {ws_url(server_url)}: {type(exc).__name__}: {exc}") from exc
        live = cls(socket)
        await live.send(Auth(token=token, notifications_since=notifications_since))
        return live

    async def __aenter__(self) -> LiveConnection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def send(self, message: Any) -> None:
        await self._socket.send(message.model_dump_json())

    async def subscribe(self, workspace_id: UUID | str, since: int) -> None:
        await self.send(Subscribe(workspace_id=UUID(str(workspace_id)), since=since))

    async def unsubscribe(self, workspace_id: UUID | str) -> None:
        await self.send(Unsubscribe(workspace_id=UUID(str(workspace_id))))

    async def ping(self) -> None:
        await self.send(Ping())

    async def pong(self) -> None:
        await self.send(Pong())

    async def recv(self) -> ServerMessage:
        """The next message the client understands (unknown ones are skipped).

        Raises `websockets.exceptions.ConnectionClosed` when the connection ends.
        """
        while True:
            raw = await self._socket.recv()
            try:
                return server_message.validate_json(raw)
            except ValidationError:
                continue

    @property
    def close_code(self) -> int | None:
        return self._socket.close_code

    async def close(self) -> None:
        await self._socket.close()


__all__ = ["AUTH_CLOSE_CODES", "AUTH_ERROR_CODES", "ConnectionClosed", "LiveConnection", "websockets",
           "ws_url"]
