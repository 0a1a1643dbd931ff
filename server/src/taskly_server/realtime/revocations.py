"""Sockets end with their sign-in: a logout or a revoked API token closes them at once (4401).

Each process keeps its open sockets by the session (refresh-token family) or API token they signed
in with. A revocation is published on one channel (`lib.notices.REVOCATIONS_CHANNEL`) after its
commit, so every process closes its matching sockets as the notice arrives; the token check at
every ping (`Connection._still_signed_in`) stays the safety net for a notice lost in transit.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from contextlib import suppress

import structlog
from litestar.channels import ChannelsPlugin
from litestar.channels.subscriber import Subscriber
from taskly_shared.errors import ErrorCode

from ..domain.auth.sessions import live_sessions
from ..lib.notices import REVOCATIONS_CHANNEL, Revocation
from ..lib.principal import Principal
from .connection import Connection

log = structlog.get_logger("taskly.realtime")

DETAILS = {"session": "signed out: this session has been revoked", "token": "invalid or revoked API token"}

Key = tuple[str, uuid.UUID]


def keys_of(principal: Principal) -> list[Key]:
    """What can end the sign-in of a socket: its API token, or its access token's session."""
    found: list[Key] = []
    if principal.token_id is not None:
        found.append(("token", principal.token_id))
    if principal.session_id is not None:
        found.append(("session", principal.session_id))
    return found


class SignedInSockets:
    """This process's open sockets by sign-in; closes those a revocation names."""

    def __init__(self, channels: ChannelsPlugin) -> None:
        self.channels = channels
        self._sockets: defaultdict[Key, set[Connection]] = defaultdict(set)
        self._subscriber: Subscriber | None = None
        self._listener: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def add(self, connection: Connection) -> None:
        """Track a signed-in socket (listening for revocations from the first one on)."""
        await self._listen_once()
        for key in keys_of(connection.principal):
            self._sockets[key].add(connection)

    def discard(self, connection: Connection) -> None:
        for key in keys_of(connection.principal):
            sockets = self._sockets.get(key)
            if sockets is not None:
                sockets.discard(connection)
                if not sockets:
                    del self._sockets[key]

    def connections(self) -> set[Connection]:
        """Every signed-in socket of this process."""
        return {connection for sockets in self._sockets.values() for connection in sockets}

    def close(self, revocation: Revocation) -> int:
        """Close this process's sockets signed in with what `revocation` names; how many."""
        sockets = list(self._sockets.get((revocation.kind, revocation.id), ()))
        for connection in sockets:
            connection.signed_out(ErrorCode.UNAUTHENTICATED, DETAILS[revocation.kind])
        return len(sockets)

    async def on_revoked(self, revocation: Revocation) -> None:
        """The `state.on_revoked` hook (after the revocation's commit): close here, tell the others."""
        self.close(revocation)
        try:
            self.channels.publish(revocation.encode(), REVOCATIONS_CHANNEL)
        except RuntimeError:  # channels not started (shutting down): the ping check heals it
            log.warning("realtime_revocation_not_published", kind=revocation.kind)

    async def _listen_once(self) -> None:
        """Subscribe on first use: the channels backend starts after the lifespans have begun."""
        if self._listener is not None:
            return
        async with self._lock:
            if self._listener is not None:
                return
            try:
                self._subscriber = await self.channels.subscribe(REVOCATIONS_CHANNEL)
            except Exception as exc:  # the ping check still ends revoked sockets; try again next time
                log.warning("realtime_revocations_not_heard", error=type(exc).__name__)
                return
            self._listener = asyncio.create_task(self._listen())

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        if self._subscriber is not None:
            with suppress(Exception):
                await self.channels.unsubscribe(self._subscriber, REVOCATIONS_CHANNEL)

    async def _listen(self) -> None:
        assert self._subscriber is not None
        async for payload in self._subscriber.iter_events():
            revocation = Revocation.decode(payload)
            if revocation is None:  # notices may have been lost: the ping check covers them
                continue
            if revocation.kind == "session":
                live_sessions.revoke(revocation.id)
            self.close(revocation)
