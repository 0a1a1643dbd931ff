"""`taskly login` with GitHub: the OAuth device flow, brokered by the server.

The server holds the OAuth app: `POST /auth/github/device` gives a user code and the page to enter
it on; the CLI then polls `POST /auth/github/device/poll` every `interval` seconds (longer after a
`slow_down`) until the server has the user's GitHub token and answers Taskly tokens.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.errors import ApiError, Forbidden, Offline, TasklyError

if TYPE_CHECKING:
    from taskly_shared.models import AuthTokens, DeviceCodeOut, UserOut

    from ..core.credentials import Credentials

MIN_INTERVAL = 0.5
"""Seconds between polls at least, whatever the server says (GitHub itself asks for 5)."""
SLOW_DOWN_STEP = 5
"""What GitHub adds to the interval on `slow_down` when the answer does not say the new one."""
OFFLINE_RETRIES = 3


class DeviceLoginFailed(TasklyError):
    """The device code expired, or GitHub sign-in failed for another reason."""


def poll_tokens(api: Any, device: DeviceCodeOut, *, sleep: Callable[[float], None] = time.sleep,
                clock: Callable[[], float] = time.monotonic) -> AuthTokens:
    """Poll until the user approved; respects `interval` and `slow_down`, stops at expiry."""
    interval = max(float(device.interval), MIN_INTERVAL)
    deadline = clock() + device.expires_in
    unreachable = 0
    while True:
        sleep(interval)
        if clock() > deadline:
            raise DeviceLoginFailed("the code expired before it was entered: run `taskly login` again")
        try:
            return api.github_device_poll(device.device_code, timeout=30)
        except Offline:
            unreachable += 1
            if unreachable > OFFLINE_RETRIES:
                raise
            continue
        except ApiError as exc:
            unreachable = 0
            if exc.code == "authorization_pending":
                continue
            if exc.code == "slow_down":
                given = exc.problem.get("interval")
                interval = float(given) if isinstance(given, int | float) and given > 0 else interval + SLOW_DOWN_STEP
                continue
            if exc.code == "expired_token":
                raise DeviceLoginFailed("the code expired before it was entered: run `taskly login` "
                                        "again") from None
            if exc.code == "access_denied":
                raise Forbidden("the sign-in was cancelled on GitHub", status=403, code=exc.code) from None
            raise


def device_sign_in(server: str, credentials: Credentials, show: Callable[[DeviceCodeOut], None], *,
                   sleep: Callable[[float], None] = time.sleep) -> tuple[UserOut, str]:
    """The whole flow: ask for a code, `show` it, poll, store the login; (user, where it is stored)."""
    from ..api.client import ApiClient  # httpx: only commands that talk to a server pay for it
    from ..core.credentials import StoredLogin

    api = ApiClient(server)
    try:
        try:
            device = api.github_device()
        except ApiError as exc:
            if exc.code != "github_not_configured":
                raise
            raise TasklyError(f"{exc.detail}: log in with an API token (--with-token) or, where the "
                              "server has dev login, --dev NAME") from None
        show(device)
        tokens = poll_tokens(api, device, sleep=sleep)
    finally:
        api.close()
    login = StoredLogin(server, tokens.user.username, tokens.access_token, tokens.refresh_token)
    return tokens.user, credentials.save(login)


def can_open_browser(environ: dict[str, str]) -> bool:
    """Whether a browser can be shown: a display on Linux/BSD; always on macOS and Windows."""
    import sys

    if sys.platform in ("darwin", "win32"):
        return True
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


def open_browser(url: str) -> bool:
    import webbrowser  # ~10 ms; only when a browser may be opened

    try:
        return webbrowser.open(url)
    except Exception:
        return False
