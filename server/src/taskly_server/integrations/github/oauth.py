"""GitHub's OAuth endpoints (device flow, web flow) and the signed-in user's profile, over httpx.

PyGithub has no device flow, and these few calls sit on the login path, so they are plain async
HTTP calls with a short timeout (SPEC §7), behind the same circuit breakers as the jobs' calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from taskly_shared.errors import ErrorCode
from taskly_shared.models import DeviceCodeOut

from ...errors import DomainError
from ...settings import Settings
from .breaker import CircuitOpen, breaker_for

SCOPES = "repo read:user user:email admin:repo_hook"
"""What Taskly asks for: branches and PRs (repo), the profile, and registering webhooks."""
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def problem(status: int, code: ErrorCode, title: str, detail: str,
            headers: dict[str, str] | None = None, **extra: Any) -> DomainError:
    """A problem with a status the domain error classes do not have (428, 502, 503 …)."""
    error = DomainError(detail, code=code, headers=headers, **extra)
    error.status, error.title = status, title
    return error


def unavailable(detail: str) -> DomainError:
    return problem(502, ErrorCode.GITHUB_UNAVAILABLE, "GitHub unavailable", detail)


def not_configured(detail: str = "GitHub sign-in is not configured on this server "
                                 "(TASKLY_GITHUB_CLIENT_ID)") -> DomainError:
    return problem(503, ErrorCode.GITHUB_NOT_CONFIGURED, "GitHub not configured", detail)


DEVICE_ERRORS: dict[str, tuple[int, ErrorCode, str, str]] = {
    "authorization_pending": (428, ErrorCode.AUTHORIZATION_PENDING, "Authorization pending",
                              "the code has not been entered yet; poll again after `interval` seconds"),
    "slow_down": (428, ErrorCode.SLOW_DOWN, "Slow down",
                  "polling too fast; wait `interval` seconds between polls"),
    "expired_token": (410, ErrorCode.EXPIRED_TOKEN, "Expired",
                      "the device code expired; start again with POST /api/v1/auth/github/device"),
    "access_denied": (403, ErrorCode.ACCESS_DENIED, "Access denied",
                      "the sign-in was cancelled on GitHub"),
    "incorrect_device_code": (400, ErrorCode.BAD_DEVICE_CODE, "Bad device code",
                              "this device code is unknown or was already used"),
    "bad_verification_code": (400, ErrorCode.ACCESS_DENIED, "Access denied",
                              "the authorization code is invalid or expired; sign in again"),
}
MISCONFIGURED = {"incorrect_client_credentials", "device_flow_disabled", "unsupported_grant_type",
                 "redirect_uri_mismatch"}


@dataclass(frozen=True, slots=True)
class GitHubProfile:
    github_id: int
    login: str
    name: str | None
    email: str | None
    avatar_url: str | None


class GitHubOAuth:
    """One server's OAuth app on one GitHub (its base URLs come from the settings)."""

    def __init__(self, settings: Settings) -> None:
        if not settings.github_client_id:
            raise not_configured()
        self.settings = settings
        self.client_id = settings.github_client_id
        self.oauth_url = settings.github_oauth_url.rstrip("/")
        self.api_url = settings.github_api_url.rstrip("/")

    def authorize_url(self, state: str, redirect_uri: str) -> str:
        query = httpx.QueryParams({"client_id": self.client_id, "redirect_uri": redirect_uri,
                                   "scope": SCOPES, "state": state, "allow_signup": "true"})
        return f"{self.oauth_url}/login/oauth/authorize?{query}"

    async def device_code(self) -> DeviceCodeOut:
        body = await self._oauth("/login/device/code", {"client_id": self.client_id, "scope": SCOPES})
        if "error" in body:
            raise self._oauth_error(body)
        try:
            return DeviceCodeOut(device_code=body["device_code"], user_code=body["user_code"],
                                 verification_uri=body["verification_uri"],
                                 expires_in=int(body["expires_in"]),
                                 interval=int(body.get("interval", 5)))
        except (KeyError, TypeError, ValueError):
            raise unavailable("GitHub answered the device-code request in an unknown shape") from None

    async def poll_device(self, device_code: str) -> str:
        """The user's token once they approved; otherwise the problem the client acts on."""
        body = await self._oauth("/login/oauth/access_token", {
            "client_id": self.client_id, "device_code": device_code, "grant_type": DEVICE_GRANT})
        return self._token(body)

    async def exchange_code(self, code: str, redirect_uri: str) -> str:
        secret = self.settings.github_client_secret
        if secret is None:
            raise not_configured("GitHub browser sign-in needs TASKLY_GITHUB_CLIENT_SECRET")
        body = await self._oauth("/login/oauth/access_token", {
            "client_id": self.client_id, "client_secret": secret.get_secret_value(), "code": code,
            "redirect_uri": redirect_uri})
        return self._token(body)

    async def profile(self, token: str) -> GitHubProfile:
        """`GET /user` (and `/user/emails` when the public email is hidden) with the user's token."""
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                   "User-Agent": "Taskly"}
        user = await self._get(f"{self.api_url}/user", headers)
        if not isinstance(user, dict) or "id" not in user or "login" not in user:
            raise unavailable("GitHub answered GET /user in an unknown shape")
        email = user.get("email")
        if not email:
            emails = await self._get(f"{self.api_url}/user/emails", headers, optional=True)
            primary = [e for e in emails or []
                       if isinstance(e, dict) and e.get("primary") and e.get("verified")]
            email = primary[0].get("email") if primary else None
        return GitHubProfile(int(user["id"]), str(user["login"]), user.get("name"), email,
                             user.get("avatar_url"))

    # --- HTTP -------------------------------------------------------------------------------

    async def _oauth(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        response = await self._send("POST", f"{self.oauth_url}{path}", self.oauth_url, data=form,
                                    headers={"Accept": "application/json", "User-Agent": "Taskly"})
        if response.status_code == 404:
            raise not_configured("GitHub does not know this server's OAuth app (client id)")
        if response.status_code >= 400 and not _json(response):
            raise unavailable(f"GitHub answered {response.status_code} to the sign-in request")
        body = _json(response)
        if not isinstance(body, dict):
            raise unavailable("GitHub answered the sign-in request in an unknown shape")
        return body

    async def _get(self, url: str, headers: dict[str, str], optional: bool = False) -> Any:
        response = await self._send("GET", url, self.api_url, headers=headers)
        if response.status_code != 200:
            if optional and response.status_code in (403, 404):
                return None
            path = url.removeprefix(self.api_url)
            raise unavailable(f"GitHub answered {response.status_code} to GET {path}")
        return _json(response)

    async def _send(self, method: str, url: str, base: str, **kwargs: Any) -> httpx.Response:
        breaker = breaker_for(base)
        try:
            breaker.before()
        except CircuitOpen as exc:
            raise unavailable(str(exc)) from None
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT) as http:
                response = await http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            breaker.failure()
            raise unavailable(f"GitHub did not answer ({type(exc).__name__})") from None
        if response.status_code >= 500:
            breaker.failure()
            raise unavailable(f"GitHub answered {response.status_code}")
        breaker.success()
        return response

    def _token(self, body: dict[str, Any]) -> str:
        if "error" in body:
            raise self._oauth_error(body)
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise unavailable("GitHub answered the token request without a token")
        return token

    def _oauth_error(self, body: dict[str, Any]) -> DomainError:
        error = str(body.get("error"))
        if error in MISCONFIGURED:
            return not_configured(f"GitHub refused this server's OAuth app: {error}")
        known = DEVICE_ERRORS.get(error)
        if known is None:
            return unavailable(f"GitHub refused the sign-in: {error}"[:200])
        status, code, title, detail = known
        extra: dict[str, Any] = {}
        headers = None
        if error in ("authorization_pending", "slow_down"):
            interval = body.get("interval")
            if isinstance(interval, int | str) and str(interval).isdigit() and int(interval) > 0:
                extra["interval"] = int(interval)
                headers = {"Retry-After": str(interval)}
        return problem(status, code, title, detail, headers, **extra)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
