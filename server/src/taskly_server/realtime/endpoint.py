"""WebSocket `/api/v1/ws`: authenticate in the first message, then subscribe to workspaces.

Client → server: auth {token} (first, within `ws_auth_timeout`; a JWT or an API token), then
subscribe {workspace_id, since}, unsubscribe {workspace_id}, ping, pong.
Server → client: authenticated {user}; per subscription: subscribed {seq: the head now}, then the
changes after `since` from the feed, then live ones — each a `change` {seq}, in seq order, once —
or, when `since` is below the pruned feed (reason "gone") or above the head ("ahead"), resync
(reload the snapshot; live changes after the head follow); unsubscribed {reason: requested |
removed}; error {code} (not_found for a workspace the user is not a member of); ping (answer
pong within `ws_ping_timeout`), pong. Anything but a valid auth first: error, close 4401. The
token is checked again at every ping: once it has expired or been revoked, error
(token_expired | unauthenticated) and close 4401 (the client signs in again and catches up).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from litestar import Litestar, WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.datastructures import State
from pydantic import ValidationError
from taskly_shared.errors import ErrorCode
from taskly_shared.events import CLOSE_UNAUTHENTICATED, Auth, Authenticated, Error, client_message
from taskly_shared.models import UserOut

from ..db.models import User
from ..domain.auth.dependencies import authenticate
from ..domain.auth.tokens import Principal
from ..errors import Unauthenticated
from .connection import Connection, text_of
from .hub import Fanout

WS_1011_INTERNAL_ERROR = 1011


@websocket("/api/v1/ws")
async def realtime_socket(socket: WebSocket) -> None:
    """The realtime channel; see the module docstring for the protocol."""
    await socket.accept()
    state = socket.app.state
    signed_in = await _authenticate(socket, state)
    if signed_in is None:
        return
    principal, user, token = signed_in
    connection = Connection(socket, principal, state.fanout, state.settings,
                            reauthenticate=lambda: authenticate(state, token))
    connection.send(Authenticated(user=user))
    await connection.run()


async def _authenticate(socket: WebSocket, state: State) -> tuple[Principal, UserOut, str] | None:
    """The first message must be `auth` with a valid token; otherwise error, close 4401, nothing else."""
    try:
        event = await asyncio.wait_for(socket.receive(), state.settings.ws_auth_timeout)
    except TimeoutError:
        return await _refuse(socket, ErrorCode.UNAUTHENTICATED, "send {\"type\": \"auth\", \"token\": …} first")
    if event["type"] == "websocket.disconnect":
        return None
    try:
        message = client_message.validate_json(text_of(event))
    except ValidationError:
        message = None
    if not isinstance(message, Auth):
        return await _refuse(socket, ErrorCode.UNAUTHENTICATED, "the first message must be auth")
    try:
        principal = await authenticate(state, message.token)
        async with state.sessionmaker() as db:
            user = await db.get(User, principal.user_id)
    except Unauthenticated as exc:
        return await _refuse(socket, exc.code, exc.detail)
    except Exception:
        return await _refuse(socket, ErrorCode.UNAVAILABLE, "try again later", WS_1011_INTERNAL_ERROR)
    if user is None:
        return await _refuse(socket, ErrorCode.UNAUTHENTICATED, "unknown user")
    return principal, UserOut.model_validate(user), message.token


async def _refuse(socket: WebSocket, code: str, message: str, close_code: int = CLOSE_UNAUTHENTICATED) -> None:
    try:
        await socket.send_text(Error(code=code, message=message).model_dump_json())
        await socket.close(close_code, message[:120])
    except Exception:  # the client is already gone
        pass
    return None


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
    """This process's fan-out: the after-commit notices, the safety poll; needs app.state.sessionmaker."""
    fanout = Fanout(app.plugins.get(ChannelsPlugin), app.state.sessionmaker,
                    app.state.settings.feed_poll_interval)
    app.state.fanout = fanout
    app.state.after_commit.append(fanout.on_commit)
    poll = asyncio.create_task(fanout.run_poll())
    try:
        yield
    finally:
        poll.cancel()
        await asyncio.gather(poll, return_exceptions=True)
        app.state.after_commit.remove(fanout.on_commit)
        await fanout.close()


ROUTES = [realtime_socket]
