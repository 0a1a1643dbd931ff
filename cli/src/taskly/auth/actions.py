"""Signing in and out (the flows behind `taskly login` / `logout`) and API tokens (`taskly token`).

Where logins are stored (keyring, else a 0600 file) is `taskly.core.credentials`; the GitHub
device flow is `taskly.auth.github_login`. Token operations need the server (`Offline`, exit 6,
without it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core import resolve
from ..core.credentials import Credentials, StoredLogin
from ..core.errors import NotFound, UsageError

if TYPE_CHECKING:
    from taskly_shared.models import ApiTokenCreated, ApiTokenOut

    from ..core.context import Factory


# --- signing in and out (the flows behind `taskly login` / `logout`) --------------------------------


def sign_in(server: str, credentials: Credentials, *, dev_name: str | None = None,
            token: str | None = None) -> tuple[Any, str]:
    """Log in to `server` by dev login or with an API token (checked with GET /me) and store it.

    Returns the user (UserOut) and where the login was stored.
    """
    from ..api.client import ApiClient  # httpx: only commands that talk to a server pay for it
    from ..api.credentials import StaticCredentials

    if token is not None:
        api = ApiClient(server, StaticCredentials(token.strip()))
        try:
            user = api.me()
        finally:
            api.close()
        login = StoredLogin(server, user.username, token.strip(), None)
    else:
        api = ApiClient(server)
        try:
            tokens = api.dev_login(dev_name or "")
        finally:
            api.close()
        user = tokens.user
        login = StoredLogin(server, user.username, tokens.access_token, tokens.refresh_token)
    return user, credentials.save(login)


def sign_out(server: str, credentials: Credentials, api_credentials: Any, *, revoke: bool = True) -> tuple[
        StoredLogin | None, str | None]:
    """Revoke the stored login's refresh tokens on the server (best effort), then forget it locally.

    Returns the login that was removed (None when there was none) and why revoking failed, if it did.
    """
    login = credentials.load(server)
    if login is None:
        return None, None
    problem = None
    if revoke and login.refresh_token:
        from ..api.client import ApiClient
        from ..core.errors import TasklyError

        api = ApiClient(server, api_credentials, timeout=3)
        try:
            api.logout(login.refresh_token)
        except TasklyError as exc:
            problem = str(exc)
        finally:
            api.close()
    credentials.clear(server)
    return login, problem


# --- API tokens -----------------------------------------------------------------------------------


def create_token(f: Factory, name: str, expires_in_days: int | None) -> ApiTokenCreated:
    with resolve.needs_server(f, "create a token"):
        return f.api.create_token(name, expires_in_days=expires_in_days)


def list_tokens(f: Factory) -> list[ApiTokenOut]:
    with resolve.needs_server(f, "list tokens"):
        return f.api.list_tokens()


def revoke_token(f: Factory, ref: str) -> ApiTokenOut:
    """Revoke a token named by id or name (an active one when several share the name)."""
    with resolve.needs_server(f, "revoke a token"):
        tokens = f.api.list_tokens()
        matches = [t for t in tokens if str(t.id) == ref.strip()] or [
            t for t in tokens if t.name == ref and t.revoked_at is None]
        if not matches:
            raise NotFound(f"no active token {ref!r}" + resolve.choices(
                sorted({t.name for t in tokens if t.revoked_at is None}), "active"))
        if len(matches) > 1:
            raise UsageError(f"{len(matches)} active tokens are named {ref!r}: revoke one by id"
                             + resolve.choices([str(t.id) for t in matches], "ids"))
        return f.api.revoke_token(str(matches[0].id))
