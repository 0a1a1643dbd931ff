"""Sign-in, refresh-token rotation with reuse detection, API tokens; who a bearer token is."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

from jwt.utils import base64url_decode
from litestar.datastructures import State
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import ApiTokenCreated, ApiTokenOut, AuthTokens, UserOut

from ...db.base import utcnow
from ...db.models import ApiToken, RefreshToken, User
from ...errors import NotFound, Unauthenticated
from ...lib.principal import Principal
from ...settings import Settings
from .sessions import require_live_session
from .tokens import (
    API_TOKEN_PREFIX,
    REFRESH_TOKEN_PREFIX,
    hash_secret,
    issue_access_token,
    new_secret,
    read_access_token,
)

LAST_USED_GRANULARITY = timedelta(minutes=1)
VERIFIED_TOKENS_KEPT = 10_000


class AuthService:
    def __init__(self, db: AsyncSession, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.revoked_sessions: list[uuid.UUID] = []
        """Sessions this transaction revoked: announce them after the commit (`announce_revoked`)."""

    async def upsert_user(self, username: str, **profile: object) -> User:
        """The user with this name (case-insensitive), created on first sign-in."""
        user = await self.db.scalar(select(User).where(func.lower(User.username) == username.lower()))
        if user is not None:
            return user
        await self.db.execute(
            pg_insert(User).values(id=uuid.uuid4(), username=username, **profile).on_conflict_do_nothing()
        )
        return await self.db.scalar(select(User).where(func.lower(User.username) == username.lower()))

    async def issue(self, user: User, family_id: uuid.UUID | None = None) -> AuthTokens:
        """A new access token and a refresh token in `family_id` (a new family on sign-in)."""
        refresh = new_secret(REFRESH_TOKEN_PREFIX)
        family_id = family_id or uuid.uuid4()
        self.db.add(RefreshToken(
            user_id=user.id, family_id=family_id, token_hash=hash_secret(refresh),
            expires_at=utcnow() + timedelta(seconds=self.settings.refresh_token_ttl),
        ))
        access = issue_access_token(self.settings.secret(), user.id, user.username,
                                    self.settings.access_token_ttl, session_id=family_id)
        return AuthTokens(access_token=access, refresh_token=refresh,
                          expires_in=self.settings.access_token_ttl, user=UserOut.model_validate(user))

    async def refresh(self, refresh_token: str) -> AuthTokens:
        """Rotate: the token is spent; presenting a spent token again revokes its whole family."""
        now = utcnow()
        token = await self.db.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == hash_secret(refresh_token))
            .with_for_update()
        )
        if token is None or token.revoked_at is not None or token.expires_at <= now:
            raise Unauthenticated("invalid refresh token")
        if token.used_at is not None:
            await self._revoke_family(token.family_id)
            return None  # the caller commits the revocation, then answers 401
        token.used_at = now
        user = await self.db.get(User, token.user_id)
        if user is None:
            raise Unauthenticated("invalid refresh token")
        return await self.issue(user, token.family_id)

    async def logout(self, principal: Principal, refresh_token: str | None) -> None:
        """Revoke the family of the given refresh token, or every refresh token of the user; the
        access tokens of those sessions stop working with them."""
        query = update(RefreshToken).where(RefreshToken.user_id == principal.user_id,
                                           RefreshToken.revoked_at.is_(None))
        if refresh_token is not None:
            family = select(RefreshToken.family_id).where(
                RefreshToken.token_hash == hash_secret(refresh_token)).scalar_subquery()
            query = query.where(RefreshToken.family_id == family)
        revoked = await self.db.scalars(query.values(revoked_at=utcnow()).returning(RefreshToken.family_id)
                                        .execution_options(synchronize_session=False))
        self.revoked_sessions.extend(revoked.all())

    async def _revoke_family(self, family_id: uuid.UUID) -> None:
        await self.db.execute(
            update(RefreshToken).where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        self.revoked_sessions.append(family_id)

    async def create_api_token(self, principal: Principal, name: str,
                               expires_in_days: int | None) -> ApiTokenCreated:
        secret = new_secret(API_TOKEN_PREFIX)
        expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
        token = ApiToken(id=uuid.uuid4(), user_id=principal.user_id, name=name,
                         token_hash=hash_secret(secret), scopes=[], expires_at=expires,
                         created_at=utcnow())
        self.db.add(token)
        await self.db.flush()
        return ApiTokenCreated(**ApiTokenOut.model_validate(token).model_dump(), token=secret)

    async def list_api_tokens(self, principal: Principal) -> list[ApiTokenOut]:
        rows = await self.db.scalars(
            select(ApiToken).where(ApiToken.user_id == principal.user_id).order_by(ApiToken.created_at)
        )
        return [ApiTokenOut.model_validate(row) for row in rows]

    async def revoke_api_token(self, principal: Principal, token_id: uuid.UUID) -> ApiTokenOut:
        token = await self.db.scalar(
            select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == principal.user_id)
        )
        if token is None:
            raise NotFound("API token not found")
        if token.revoked_at is None:
            token.revoked_at = utcnow()
        return ApiTokenOut.model_validate(token)


# --- who a bearer token is ---------------------------------------------------------------------


class VerifiedAccessTokens:
    """Access tokens this process has verified, with their expiry.

    A signed token's claims cannot change, so a token seen again only needs its expiry checked:
    that saves the signature and claim checks (~45 µs) on every request of a client.
    """

    def __init__(self, kept: int = VERIFIED_TOKENS_KEPT) -> None:
        self.kept = kept
        self._tokens: dict[tuple[str, str], tuple[Principal, int]] = {}

    def read(self, secret_key: str, token: str) -> Principal:
        key = (secret_key, token)
        found = self._tokens.get(key)
        if found is not None:
            if found[1] > time.time():
                return found[0]
            del self._tokens[key]
        principal = read_access_token(secret_key, token)  # raises unless valid and unexpired
        expires = _expiry(token)
        if expires is not None:
            if len(self._tokens) >= self.kept:
                del self._tokens[next(iter(self._tokens))]
            self._tokens[key] = (principal, expires)
        return principal


def _expiry(token: str) -> int | None:
    """The `exp` claim of a token that has just been verified."""
    try:
        return int(json.loads(base64url_decode(token.split(".")[1]))["exp"])
    except (ValueError, KeyError, TypeError, IndexError):
        return None


verified_access_tokens = VerifiedAccessTokens()


async def authenticate(state: State, token: str) -> Principal:
    """An access token costs at most one query a second for its session; an API token is looked
    up by its hash."""
    if not token.startswith(API_TOKEN_PREFIX):
        principal = verified_access_tokens.read(state.settings.secret(), token)
        if principal.session_id is not None:
            await require_live_session(state, principal.session_id)
        return principal
    now = utcnow()
    async with state.sessionmaker() as db, db.begin():
        row = (await db.execute(
            select(ApiToken.id, ApiToken.expires_at, ApiToken.revoked_at, ApiToken.last_used_at,
                   User.id, User.username)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == hash_secret(token))
        )).first()
        if row is None or row[2] is not None or (row[1] is not None and row[1] <= now):
            raise Unauthenticated("invalid or revoked API token")
        if row[3] is None or now - row[3] > LAST_USED_GRANULARITY:
            await db.execute(update(ApiToken).where(ApiToken.id == row[0]).values(last_used_at=now))
    return Principal(row[4], row[5], token_id=row[0])
