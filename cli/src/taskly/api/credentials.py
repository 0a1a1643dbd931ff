"""Credentials the API clients use: anything with `get()` and `refresh()`.

Token storage (env, keyring, 0600 file) belongs to the CLI (`taskly.auth`); it hands the engine
an object of this shape. `SessionCredentials` is a ready one for an access/refresh token pair that
refreshes through `POST /auth/refresh` and reports the rotated pair to `on_refresh` for storage.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from ..core.errors import Offline, from_problem

if TYPE_CHECKING:
    from taskly_shared.models import AuthTokens


class Credentials(Protocol):
    def get(self) -> str | None:
        """The current access token (JWT or API token), or None when not logged in."""

    def refresh(self) -> str | None:
        """A new access token after the server refused the current one; None when impossible."""


class StaticCredentials:
    """A fixed token (`TASKLY_TOKEN`, an API token): nothing to refresh."""

    def __init__(self, token: str | None) -> None:
        self._token = token

    def get(self) -> str | None:
        return self._token

    def refresh(self) -> str | None:
        return None

    def __repr__(self) -> str:
        return "StaticCredentials(token=***)"


class SessionCredentials:
    """An access/refresh token pair; `refresh()` rotates it once even when called from many threads."""

    def __init__(self, server_url: str, access_token: str | None, refresh_token: str | None, *,
                 on_refresh: Callable[[AuthTokens], None] | None = None, timeout: float = 10.0) -> None:
        self.server_url = server_url.rstrip("/")
        self._access = access_token
        self._refresh = refresh_token
        self._on_refresh = on_refresh
        self._timeout = timeout
        self._lock = threading.Lock()

    @classmethod
    def from_tokens(cls, server_url: str, tokens: AuthTokens,
                    on_refresh: Callable[[AuthTokens], None] | None = None) -> SessionCredentials:
        return cls(server_url, tokens.access_token, tokens.refresh_token, on_refresh=on_refresh)

    def get(self) -> str | None:
        return self._access

    def refresh(self) -> str | None:
        stale = self._access
        with self._lock:
            if self._access != stale:
                return self._access  # another thread refreshed while we waited
            if not self._refresh:
                return None
            import httpx  # ~90 ms; only needed when a token expires
            from taskly_shared.models import AuthTokens

            try:
                response = httpx.post(f"{self.server_url}/api/v1/auth/refresh",
                                      json={"refresh_token": self._refresh}, timeout=self._timeout)
            except httpx.HTTPError as exc:
                raise Offline(f"cannot reach {self.server_url}: {exc}") from exc
            if response.status_code in (400, 401, 403):
                self._access = self._refresh = None
                return None
            if not response.is_success:
                raise from_problem(response.status_code, _json(response))
            tokens = AuthTokens.model_validate_json(response.content)
            self._access, self._refresh = tokens.access_token, tokens.refresh_token
            if self._on_refresh is not None:
                self._on_refresh(tokens)
            return self._access

    def __repr__(self) -> str:
        return f"SessionCredentials(server_url={self.server_url!r}, tokens=***)"


def _json(response: object) -> dict | None:
    try:
        return response.json()  # type: ignore[attr-defined]
    except ValueError:
        return None
