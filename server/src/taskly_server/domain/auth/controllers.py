"""Routes under /api/v1/auth, /api/v1/tokens and /api/v1/me."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, post
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
from ...errors import Forbidden, NotFound, Unauthenticated
from .services import AuthService
from .tokens import Principal


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
            tokens = await AuthService(db, state.settings).refresh(data.refresh_token)
        if tokens is None:
            raise Unauthenticated("refresh token reused: every token of its family is revoked")
        return tokens

    @post("/logout", status_code=204, security=[{"BearerToken": []}])
    async def logout(self, principal: Principal, state: State, data: LogoutRequest | None = None) -> None:
        """Revoke the given refresh token's family, or all of the caller's refresh tokens."""
        async with state.sessionmaker() as db, db.begin():
            await AuthService(db, state.settings).logout(principal, data.refresh_token if data else None)


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
        async with state.sessionmaker() as db, db.begin():
            return await AuthService(db, state.settings).revoke_api_token(principal, token_id)


@get("/api/v1/me", tags=["auth"])
async def me(principal: Principal, db: AsyncSession) -> UserOut:
    """The signed-in user."""
    user = await db.scalar(select(User).where(User.id == principal.user_id))
    if user is None:
        raise NotFound("user not found")
    return UserOut.model_validate(user)


ROUTES = [AuthController, TokenController, me]
