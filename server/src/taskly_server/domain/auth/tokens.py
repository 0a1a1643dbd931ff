"""Access tokens (JWT), opaque secrets and their hashes."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid

import jwt
from taskly_shared.errors import ErrorCode

from ...errors import Unauthenticated
from ...lib.principal import Principal

API_TOKEN_PREFIX = "tsk_"
REFRESH_TOKEN_PREFIX = "rt_"
INVITATION_PREFIX = "inv_"


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def signing_key(secret_key: str, purpose: str) -> bytes:
    """A key per purpose, derived from TASKLY_SECRET_KEY."""
    return hashlib.sha256(f"taskly:{purpose}:{secret_key}".encode()).digest()


def issue_access_token(secret_key: str, user_id: uuid.UUID, username: str, ttl: int,
                       session_id: uuid.UUID | None = None) -> str:
    """A signed access token; `sid` names its sign-in (refresh-token family), so logout ends it."""
    now = int(time.time())
    claims = {"sub": str(user_id), "name": username, "typ": "access", "iat": now, "exp": now + ttl}
    if session_id is not None:
        claims["sid"] = str(session_id)
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
        session = claims.get("sid")
        return Principal(uuid.UUID(claims["sub"]), str(claims.get("name", "")),
                         session_id=uuid.UUID(session) if session is not None else None)
    except (ValueError, TypeError, AttributeError):
        raise Unauthenticated("invalid access token") from None
