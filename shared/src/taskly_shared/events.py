"""The WebSocket protocol of /api/v1/ws: a tagged union each way.

Client → server: auth (first message), subscribe, unsubscribe, ping, pong.
Server → client: authenticated, subscribed, change, notification, resync, unsubscribed, error, ping, pong.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, TypeAdapter

from .models import ChangeOut, NotificationOut, UserOut


class _Message(BaseModel):
    pass


class Auth(_Message):
    type: Literal["auth"] = "auth"
    token: str = Field(repr=False)
    notifications_since: int | None = Field(
        default=None, ge=0, description="Send the user's notifications after this seq first.")


class Subscribe(_Message):
    type: Literal["subscribe"] = "subscribe"
    workspace_id: UUID
    since: int = Field(default=0, ge=0)


class Unsubscribe(_Message):
    type: Literal["unsubscribe"] = "unsubscribe"
    workspace_id: UUID


class Ping(_Message):
    type: Literal["ping"] = "ping"


class Pong(_Message):
    type: Literal["pong"] = "pong"


class Authenticated(_Message):
    type: Literal["authenticated"] = "authenticated"
    user: UserOut


class Subscribed(_Message):
    type: Literal["subscribed"] = "subscribed"
    workspace_id: UUID
    seq: int = Field(description="The workspace's newest seq; missed changes follow.")


class ChangeEvent(_Message):
    """One change of the feed, live or caught up, always in seq order per workspace."""

    type: Literal["change"] = "change"
    workspace_id: UUID
    seq: int
    change: ChangeOut


class NotificationEvent(_Message):
    """A notification for the signed-in user, live or caught up (`Auth.notifications_since`)."""

    type: Literal["notification"] = "notification"
    notification: NotificationOut


class Resync(_Message):
    """`since` is older than the retained feed: reload the workspace from the snapshot."""

    type: Literal["resync"] = "resync"
    workspace_id: UUID
    reason: str = "gone"


class Unsubscribed(_Message):
    type: Literal["unsubscribed"] = "unsubscribed"
    workspace_id: UUID
    reason: str = "requested"


class Error(_Message):
    type: Literal["error"] = "error"
    code: str
    message: str
    workspace_id: UUID | None = None


ClientMessage = Annotated[Auth | Subscribe | Unsubscribe | Ping | Pong, Field(discriminator="type")]
ServerMessage = Annotated[
    Authenticated | Subscribed | ChangeEvent | NotificationEvent | Resync | Unsubscribed | Error | Ping
    | Pong,
    Field(discriminator="type"),
]
client_message = TypeAdapter(ClientMessage)
server_message = TypeAdapter(ServerMessage)

# Close codes of /api/v1/ws (1000 normal; 1012 server restarting: reconnect and resubscribe).
CLOSE_UNAUTHENTICATED = 4401
"""The first message was not `auth` with a valid token (or came too late): refresh, then reconnect."""
CLOSE_PING_TIMEOUT = 4408
"""The client stopped answering the server's `ping`: reconnect."""
CLOSE_TOO_SLOW = 4429
"""The client fell too far behind reading its events: reconnect and catch up from its last seq."""
