"""Sign-ins that end: an access token lives only while its session (refresh-token family) does.

Every request with an access token that names its session (`sid`) checks the session is live.
This process keeps a live answer at most `SESSION_CHECK_TTL` seconds, so a logout holds on every
replica within that; a revocation notice (`lib.notices.Revocation`, published after the commit)
makes it hold at once where it arrives, and a revoked answer is kept for good (revocation is final).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable

from litestar.datastructures import State
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ...db.models import RefreshToken
from ...errors import Unauthenticated
from ...lib.notices import Revocation

SESSION_CHECK_TTL = 1.0
"""Seconds a session found live is trusted without asking the database again."""
SESSIONS_KEPT = 10_000


class LiveSessions:
    """Which sessions this process last found live (and when), and which it knows are revoked."""

    def __init__(self, ttl: float = SESSION_CHECK_TTL, kept: int = SESSIONS_KEPT) -> None:
        self.ttl = ttl
        self.kept = kept
        self._live: dict[uuid.UUID, float] = {}
        """Session → when the read that found it live started (monotonic)."""
        self._revoked: dict[uuid.UUID, None] = {}
        self._checks: dict[uuid.UUID, asyncio.Task[bool]] = {}
        """Reads under way: concurrent requests of one session share one query."""

    def revoke(self, session_id: uuid.UUID) -> None:
        self._live.pop(session_id, None)
        self._revoked[session_id] = None
        while len(self._revoked) > self.kept:
            del self._revoked[next(iter(self._revoked))]

    async def is_live(self, sessionmaker: async_sessionmaker[AsyncSession], session_id: uuid.UUID) -> bool:
        if session_id in self._revoked:
            return False
        checked = self._live.get(session_id)
        if checked is not None and time.monotonic() - checked < self.ttl:
            return True
        check = self._checks.get(session_id)
        if check is None:
            check = asyncio.ensure_future(self._check(sessionmaker, session_id))
            self._checks[session_id] = check
            check.add_done_callback(lambda _: self._checks.pop(session_id, None))
        return await asyncio.shield(check)

    async def _check(self, sessionmaker: async_sessionmaker[AsyncSession], session_id: uuid.UUID) -> bool:
        started = time.monotonic()
        async with sessionmaker() as db:
            live = bool(await db.scalar(select(exists().where(
                RefreshToken.family_id == session_id, RefreshToken.revoked_at.is_(None)))))
        if session_id in self._revoked:  # a notice arrived while we read
            return False
        if not live:
            self.revoke(session_id)
            return False
        if len(self._live) >= self.kept:
            del self._live[next(iter(self._live))]
        self._live[session_id] = started
        return True


live_sessions = LiveSessions()


async def require_live_session(state: State, session_id: uuid.UUID) -> None:
    """401 once the session has been signed out (or revoked for a reused refresh token)."""
    if not await live_sessions.is_live(state.sessionmaker, session_id):
        raise Unauthenticated("signed out: this session has been revoked")


async def announce_revoked(state: State, sessions: Iterable[uuid.UUID] = (),
                           tokens: Iterable[uuid.UUID] = ()) -> None:
    """After the commit of a revocation: end it here at once and tell every process
    (`state.on_revoked` hooks: the realtime layer closes the sockets signed in with it)."""
    revocations = [Revocation("session", s) for s in dict.fromkeys(sessions)]
    revocations += [Revocation("token", t) for t in dict.fromkeys(tokens)]
    for revocation in revocations:
        if revocation.kind == "session":
            live_sessions.revoke(revocation.id)
        for hook in state.get("on_revoked", ()):
            await hook(revocation)
