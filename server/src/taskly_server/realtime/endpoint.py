"""WebSocket `/api/v1/ws`: authenticate in the first message, then subscribe to workspaces.

Client → server: auth {token} (first, within `ws_auth_timeout`; a JWT or an API token), then
subscribe {workspace_id, since}, unsubscribe {workspace_id}, ping, pong.
Server → client: authenticated {user}; notification {notification} for the signed-in user only
(after `auth.notifications_since` first, when given: `realtime/notifications.py`); per subscription: subscribed {seq: the head now}, then the
changes after `since` from the feed, then live ones — each a `change` {seq}, in seq order, once —
or, when `since` is below the pruned feed (reason "gone") or above the head ("ahead"), resync
(reload the snapshot; live changes after the head follow); unsubscribed {reason: requested |
removed}; error {code} (not_found for a workspace the user is not a member of); ping (answer
pong within `ws_ping_timeout`), pong. Anything but a valid auth first: error, close 4401. The
token is checked again at every ping: once it has expired or been revoked, error
(token_expired | unauthenticated) and close 4401 (the client signs in again and catches up). A
logout of the socket's session or the revocation of its API token closes it so at once, on every
replica (`revocations.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

import structlog
from litestar import Litestar, WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.datastructures import State
from pydantic import ValidationError
from taskly_shared.errors import ErrorCode
from taskly_shared.events import CLOSE_UNAUTHENTICATED, Auth, Authenticated, Error, client_message
from taskly_shared.models import UserOut

from ..domain.auth.services import authenticate
from ..errors import Unauthenticated
from ..lib.principal import Principal
from ..lib.rendered import fetch
from .connection import Connection, text_of
from .hub import Fanout
from .notifications import NotificationSockets
from .revocations import SignedInSockets

log = structlog.get_logger("taskly.realtime")

WS_1011_INTERNAL_ERROR = 1011

# UserOut's fields (`User.github_sign_in_required` as the model computes it), and the user's
# newest notification seq.
_USER = """
SELECT id, username, name, email, avatar_url,
       github_token_refused_at IS NOT NULL AS github_sign_in_required, notification_seq
  FROM users WHERE id = $1
"""


@websocket("/api/v1/ws")
async def realtime_socket(socket: WebSocket) -> None:
    """The realtime channel; see the module docstring for the protocol."""
    await socket.accept()
    state = socket.app.state
    signed_in = await _authenticate(socket, state)
    if signed_in is None:
        return
    principal, user, token, notifications_since, notification_seq = signed_in
    connection = Connection(socket, principal, state.fanout, state.settings,
                            reauthenticate=lambda: authenticate(state, token))
    await state.signed_in_sockets.add(connection)
    try:
        connection.send(Authenticated(user=user))
        await state.notification_sockets.add(connection, notifications_since, notification_seq)
        await connection.run()
    finally:
        state.notification_sockets.discard(connection)
        state.signed_in_sockets.discard(connection)


async def _authenticate(socket: WebSocket, state: State) -> tuple[Principal, UserOut, str, int | None, int] | None:
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
        # After a restart a thousand sockets sign in at once: they take turns (with the catch-ups),
        # and the user is one statement on the driver.
        async with state.fanout.catch_ups:
            principal = await authenticate(state, message.token)
            rows = await fetch(state.engine, _USER, principal.user_id)
    except Unauthenticated as exc:
        return await _refuse(socket, exc.code, exc.detail)
    except Exception as exc:
        log.warning("realtime_sign_in_failed", error=type(exc).__name__, detail=str(exc)[:200])
        return await _refuse(socket, ErrorCode.UNAVAILABLE, "try again later", WS_1011_INTERNAL_ERROR)
    if not rows:
        return await _refuse(socket, ErrorCode.UNAUTHENTICATED, "unknown user")
    fields = dict(rows[0])
    notification_seq = fields.pop("notification_seq") or 0
    return principal, UserOut(**fields), message.token, message.notifications_since, notification_seq


async def _refuse(socket: WebSocket, code: str, message: str, close_code: int = CLOSE_UNAUTHENTICATED) -> None:
    try:
        await socket.send_text(Error(code=code, message=message).model_dump_json())
        await socket.close(close_code, message[:120])
    except Exception:  # the client is already gone
        pass
    return None


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
    """This process's fan-out: the after-commit notices, the safety poll, the revocations; needs
    app.state.sessionmaker."""
    channels = app.plugins.get(ChannelsPlugin)
    fanout = Fanout(channels, app.state.sessionmaker, app.state.settings.feed_poll_interval)
    app.state.fanout = fanout
    app.state.after_commit.append(fanout.on_commit)
    sockets = SignedInSockets(channels)
    app.state.signed_in_sockets = sockets
    app.state.setdefault("on_revoked", []).append(sockets.on_revoked)
    notification_sockets = NotificationSockets(channels, app.state.sessionmaker,
                                               app.state.settings.feed_poll_interval)
    app.state.notification_sockets = notification_sockets
    poll = asyncio.create_task(fanout.run_poll())
    try:
        yield
    finally:
        poll.cancel()
        await asyncio.gather(poll, return_exceptions=True)
        app.state.on_revoked.remove(sockets.on_revoked)
        await sockets.stop()
        await notification_sockets.stop()
        app.state.after_commit.remove(fanout.on_commit)
        await fanout.close()


ROUTES = [realtime_socket]
