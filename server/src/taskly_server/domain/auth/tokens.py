"""Access tokens (JWT), opaque secrets and their hashes."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt
from taskly_shared.errors import ErrorCode

from ...errors import Unauthenticated

API_TOKEN_PREFIX = "tsk_"
REFRESH_TOKEN_PREFIX = "rt_"
INVITATION_PREFIX = "inv_"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who makes a request: a user, signed in directly or through one of their API tokens."""

    user_id: uuid.UUID
    username: str
    token_id: uuid.UUID | None = None

    @property
    def actor_type(self) -> str:
        return "token" if self.token_id else "user"

    def __repr__(self) -> str:
        return f"Principal({self.username!r}, via={self.actor_type})"


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def signing_key(secret_key: str, purpose: str) -> bytes:
    """A key per purpose, derived from TASKLY_SECRET_KEY."""
    return hashlib.sha256(f"taskly:{purpose}:{secret_key}".encode()).digest()


def issue_access_token(secret_key: str, user_id: uuid.UUID, username: str, ttl: int) -> str:
    now = int(time.time())
    claims = {"sub": str(user_id), "name": username, "typ": "access", "iat": now, "exp": now + ttl}
    return jwt.encode(claims, signing_key(secret_key, "jwt"), algorithm="HS256")


def read_access_token(secret_key: str, token: str) -> Principal:
    try:
        claims = jwt.decode(token, signing_key(secret_key, "jwt"), algorithms=["HS256"],
                            options={"require": ["exp", "sub", "typ"]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("access token expired", code=ErrorCode.TOKEN_EXPIRED) from None
    except jwt.PyJWTError:
        raise Unauthenticated("invalid access token") from None
    if claims.get("typ") != "access":
        raise Unauthenticated("invalid access token")
    try:
        return Principal(uuid.UUID(claims["sub"]), str(claims.get("name", "")))
    except (ValueError, TypeError):
        raise Unauthenticated("invalid access token") from None
