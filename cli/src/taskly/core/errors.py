"""Typed client errors; the CLI maps them to exit codes in one place (main.py).

`ApiError` and its subclasses carry the server's problem details (`status`, `code`, `detail`);
`Offline` means the server could not be reached; `Pending` a job still running after a wait;
`UsageError` bad arguments or configuration. Errors found locally (a card missing from the cache)
use the same classes as the server's answers (`NotFound`, code "not_found").
"""

from __future__ import annotations

from typing import Any


class TasklyError(Exception):
    """Base of every error the client raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ApiError(TasklyError):
    """The server refused a request (RFC 9457 problem details)."""

    default_status = 400

    def __init__(self, detail: str, *, status: int | None = None, code: str | None = None,
                 problem: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status or self.default_status
        self.code = code or "error"
        self.problem = problem or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r}, detail={self.detail!r})"


class NotLoggedIn(ApiError):
    """No credentials, or the server refused them and they could not be refreshed."""

    default_status = 401


class Forbidden(ApiError):
    default_status = 403


class NotFound(ApiError):
    default_status = 404


class Conflict(ApiError):
    default_status = 409


class Gone(ApiError):
    """The resource (e.g. the requested part of the change feed) no longer exists."""

    default_status = 410


class Offline(TasklyError):
    """The server could not be reached (connection refused, timeout, 5xx from a proxy), or said
    to try again later (503 `service_unavailable`: its database or Redis is failing)."""


class Pending(TasklyError):
    """A server job is still running after the wait timed out."""


class UsageError(TasklyError):
    """A command got arguments or configuration it cannot use."""


class Interrupted(TasklyError):
    """Ctrl-C during a long wait: the message says how long it waited and what was left (exit 130)."""


BY_STATUS: dict[int, type[ApiError]] = {401: NotLoggedIn, 403: Forbidden, 404: NotFound,
                                        409: Conflict, 410: Gone}


def from_problem(status: int, problem: dict[str, Any] | None, fallback: str = "") -> ApiError:
    """The typed error for a problem-details answer."""
    problem = problem if isinstance(problem, dict) else {}
    detail = str(problem.get("detail") or problem.get("title") or fallback or f"HTTP {status}")
    cls = BY_STATUS.get(status, ApiError)
    return cls(detail, status=status, code=str(problem.get("code") or "error"), problem=problem)
