"""Signing in with GitHub: the signed `state` of the browser flow, and the user behind a token."""

from __future__ import annotations

import secrets
import time
import uuid

import jwt
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.errors import ErrorCode
from taskly_shared.models import AuthTokens

from ...db.models import User
from ...errors import DomainError
from ...integrations.github.crypto import secret_box, user_token_context
from ...integrations.github.oauth import GitHubProfile
from ...settings import Settings
from ..auth.services import AuthService
from ..auth.tokens import signing_key

STATE_TTL = 600
"""Seconds a browser sign-in may take between /login and /callback."""
STATE_COOKIE = "taskly_github_state"
USERNAME_MAX = 39


def new_state(secret_key: str) -> tuple[str, str]:
    """(state, nonce): the state is signed and expires; the nonce also goes in a cookie."""
    nonce = secrets.token_urlsafe(16)
    now = int(time.time())
    claims = {"typ": "github_state", "nonce": nonce, "iat": now, "exp": now + STATE_TTL}
    return jwt.encode(claims, signing_key(secret_key, "github-state"), algorithm="HS256"), nonce


def check_state(secret_key: str, state: str | None, cookie_nonce: str | None) -> None:
    """400 unless `state` is ours, unexpired and from this browser (its nonce cookie)."""
    bad = DomainError("invalid or expired state: start again at /api/v1/auth/github/login",
                      code=ErrorCode.INVALID_STATE)
    if not state:
        raise bad
    try:
        claims = jwt.decode(state, signing_key(secret_key, "github-state"), algorithms=["HS256"],
                            options={"require": ["exp", "nonce", "typ"]})
    except jwt.PyJWTError:
        raise bad from None
    nonce = claims.get("nonce")
    if (claims.get("typ") != "github_state" or not isinstance(nonce, str) or not cookie_nonce
            or not secrets.compare_digest(nonce, cookie_nonce)):
        raise bad


class GitHubAccounts:
    """Users who signed in with GitHub, their encrypted tokens, and their Taskly tokens."""

    def __init__(self, db: AsyncSession, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    async def sign_in(self, profile: GitHubProfile, github_token: str) -> AuthTokens:
        """Upsert the user by GitHub id, store the token encrypted, issue Taskly tokens."""
        user = await self._user_for(profile)
        user.name = profile.name or user.name
        user.email = profile.email or user.email
        user.avatar_url = profile.avatar_url or user.avatar_url
        user.github_token_encrypted = secret_box(self.settings.secret()).encrypt(
            github_token, user_token_context(user.id))
        user.github_token_refused_at = None  # a new token: GitHub work resumes
        user.version += 1
        await self.db.flush()
        return await AuthService(self.db, self.settings).issue(user)

    async def _user_for(self, profile: GitHubProfile) -> User:
        user = await self.db.scalar(
            select(User).where(User.github_id == profile.github_id).with_for_update())
        if user is not None:
            if user.username.lower() != profile.login.lower() and not await self._taken(profile.login):
                user.username = profile.login  # renamed on GitHub
            return user
        same_name = await self.db.scalar(
            select(User).where(func.lower(User.username) == profile.login.lower()).with_for_update())
        if same_name is not None and same_name.github_id is None:
            same_name.github_id = profile.github_id  # the dev-login user of that name: linked
            return same_name
        username = await self._free_username(profile.login)
        user_id = uuid.uuid4()
        await self.db.execute(pg_insert(User).values(
            id=user_id, username=username, github_id=profile.github_id, version=1,
        ).on_conflict_do_nothing())
        user = await self.db.scalar(
            select(User).where(User.github_id == profile.github_id).with_for_update())
        if user is None:
            raise DomainError("could not create the user; try again", code=ErrorCode.CONFLICT)
        return user

    async def _taken(self, username: str) -> bool:
        found = await self.db.scalar(
            select(User.id).where(func.lower(User.username) == username.lower()))
        return found is not None

    async def _free_username(self, login: str) -> str:
        """`login`, or `login-2`, `login-3` … when another account holds that name."""
        if not await self._taken(login):
            return login
        for number in range(2, 1000):
            candidate = f"{login[:USERNAME_MAX - len(str(number)) - 1]}-{number}"
            if not await self._taken(candidate):
                return candidate
        return f"{login[:USERNAME_MAX - 9]}-{secrets.token_hex(4)}"
