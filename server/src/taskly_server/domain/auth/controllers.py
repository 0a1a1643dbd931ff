"""Routes under /api/v1/auth, /api/v1/tokens and /api/v1/me; the caller of every request."""

from __future__ import annotations

import uuid

from litestar import Controller, Request, delete, get, post
from litestar.datastructures import State
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.errors import ErrorCode
from taskly_shared.models import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenOut,
    AuthTokens,
    DevLogin,
    LogoutRequest,
    RefreshRequest,
    UserOut,
)

from ...db.models import User
from ...errors import Forbidden, NotFound, RateLimited, Unauthenticated
from ...lib.principal import Principal
from .services import AuthService, authenticate
from .sessions import announce_revoked


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be 'Bearer <token>'")
    return token.strip()


async def provide_principal(request: Request, state: State) -> Principal:
    """The caller, counted against the per-user rate limit (`TASKLY_RATE_LIMIT_USER`)."""
    token = bearer_token(request)
    if token is None:
        raise Unauthenticated("missing bearer token")
    principal = await authenticate(state, token)
    limiter = state.get("rate_limiter")
    if limiter is not None and limiter.user_limit:
        wait = await limiter.check_user(principal.user_id)
        if wait is not None:
            raise RateLimited(f"rate limit of {limiter.user_limit} requests per "
                              f"{state.settings.rate_limit_window} per user exceeded; retry in {wait} s",
                              headers={"Retry-After": str(wait)})
    return principal


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]
    security = []

    @post("/dev-login", status_code=200)
    async def dev_login(self, data: DevLogin, state: State) -> AuthTokens:
        """Sign in by name, without GitHub; only on servers started with TASKLY_DEV_LOGIN=1."""
        if not state.settings.dev_login:
            raise Forbidden("dev login is disabled on this server", code=ErrorCode.DEV_LOGIN_DISABLED)
        async with state.sessionmaker() as db, db.begin():
            service = AuthService(db, state.settings)
            return await service.issue(await service.upsert_user(data.username))

    @post("/refresh", status_code=200)
    async def refresh(self, data: RefreshRequest, state: State) -> AuthTokens:
        """Trade a refresh token for new tokens; a refresh token works once."""
        async with state.sessionmaker() as db, db.begin():
            service = AuthService(db, state.settings)
            tokens = await service.refresh(data.refresh_token)
        if tokens is None:
            await announce_revoked(state, sessions=service.revoked_sessions)
            raise Unauthenticated("refresh token reused: every token of its family is revoked")
        return tokens

    @post("/logout", status_code=204, security=[{"BearerToken": []}])
    async def logout(self, principal: Principal, state: State, data: LogoutRequest | None = None) -> None:
        """Revoke the given refresh token's family, or all of the caller's refresh tokens; their
        sessions' access tokens and WebSockets stop working at once."""
        async with state.sessionmaker() as db, db.begin():
            service = AuthService(db, state.settings)
            await service.logout(principal, data.refresh_token if data else None)
        await announce_revoked(state, sessions=service.revoked_sessions)


class TokenController(Controller):
    path = "/api/v1/tokens"
    tags = ["auth"]

    @post("/", status_code=201)
    async def create(self, data: ApiTokenCreate, principal: Principal, state: State) -> ApiTokenCreated:
        """A new API token for CI and hooks; its secret is shown only here."""
        async with state.sessionmaker() as db, db.begin():
            return await AuthService(db, state.settings).create_api_token(
                principal, data.name, data.expires_in_days)

    @get("/")
    async def list_tokens(self, principal: Principal, db: AsyncSession, state: State) -> list[ApiTokenOut]:
        return await AuthService(db, state.settings).list_api_tokens(principal)

    @delete("/{token_id:uuid}", status_code=200)
    async def revoke(self, token_id: uuid.UUID, principal: Principal, state: State) -> ApiTokenOut:
        """Revoke an API token: its requests and WebSockets stop working at once."""
        async with state.sessionmaker() as db, db.begin():
            revoked = await AuthService(db, state.settings).revoke_api_token(principal, token_id)
        await announce_revoked(state, tokens=[token_id])
        return revoked


@get("/api/v1/me", tags=["auth"])
async def me(principal: Principal, db: AsyncSession) -> UserOut:
    """The signed-in user."""
    user = await db.scalar(select(User).where(User.id == principal.user_id))
    if user is None:
        raise NotFound("user not found")
    return UserOut.model_validate(user)


ROUTES = [AuthController, TokenController, me]
