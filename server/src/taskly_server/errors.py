"""Domain errors, and the one place that turns every exception into RFC 9457 problem details."""

from __future__ import annotations

from typing import Any

import structlog
from litestar.exceptions import HTTPException, InternalServerException, ValidationException
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.exc import DBAPIError
from taskly_shared.errors import ErrorCode
from taskly_shared.models import UNPROCESSABLE

log = structlog.get_logger("taskly.errors")


class DomainError(Exception):
    """Raised by services; mapped to a problem-details response by `problem_handler`."""

    status = 400
    code = ErrorCode.BAD_REQUEST
    title = "Bad request"

    def __init__(self, detail: str, *, code: ErrorCode | None = None, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra
        self.headers = headers
        if code is not None:
            self.code = code


class Invalid(DomainError):
    status, code, title = 422, ErrorCode.VALIDATION, "Invalid request"


class Unauthenticated(DomainError):
    status, code, title = 401, ErrorCode.UNAUTHENTICATED, "Not authenticated"


class Forbidden(DomainError):
    status, code, title = 403, ErrorCode.FORBIDDEN, "Forbidden"


class NotFound(DomainError):
    status, code, title = 404, ErrorCode.NOT_FOUND, "Not found"


class Conflict(DomainError):
    status, code, title = 409, ErrorCode.CONFLICT, "Conflict"


class Gone(DomainError):
    status, code, title = 410, ErrorCode.GONE, "Gone"


class RateLimited(DomainError):
    status, code, title = 429, ErrorCode.RATE_LIMITED, "Too many requests"


_HTTP_CODES = {
    400: (ErrorCode.BAD_REQUEST, "Bad request"),
    401: (ErrorCode.UNAUTHENTICATED, "Not authenticated"),
    403: (ErrorCode.FORBIDDEN, "Forbidden"),
    404: (ErrorCode.NOT_FOUND, "Not found"),
    405: (ErrorCode.METHOD_NOT_ALLOWED, "Method not allowed"),
    409: (ErrorCode.CONFLICT, "Conflict"),
    413: (ErrorCode.PAYLOAD_TOO_LARGE, "Payload too large"),
    429: (ErrorCode.RATE_LIMITED, "Too many requests"),
    503: (ErrorCode.UNAVAILABLE, "Service unavailable"),
}


def _unprocessable(error: Any) -> bool:
    """A control character in a name or a boolean given as a number: 422, not 400."""
    message = error.get("message", "") if isinstance(error, dict) else ""
    return isinstance(message, str) and any(text in message for text in UNPROCESSABLE)


def to_problem_details(exc: Exception) -> ProblemDetailsException:
    """Every error leaves the server as problem details with a stable `code`; never a traceback."""
    if isinstance(exc, ProblemDetailsException):
        return exc
    if isinstance(exc, DomainError):
        return _problem(exc.status, exc.code, exc.title, exc.detail, exc.headers, **exc.extra)
    if isinstance(exc, ValidationException):
        errors = exc.extra if isinstance(exc.extra, list) else []
        detail = exc.detail if isinstance(exc.detail, str) else "Validation failed"
        status = 422 if errors and all(_unprocessable(e) for e in errors) else 400
        return _problem(status, ErrorCode.VALIDATION, "Invalid request", detail, errors=_safe(errors))
    if isinstance(exc, PydanticValidationError):
        errors = [{"key": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()]
        return _problem(400, ErrorCode.VALIDATION, "Invalid request", "Validation failed", errors=errors[:20])
    body_errors = _body_errors_taken_for_a_dependency(exc)
    if body_errors:
        return to_problem_details(ValidationException("Validation failed", extra=body_errors))
    dependency = failing_dependency(exc)
    if dependency is not None:
        log.warning("dependency_unavailable", dependency=dependency, error=_names(exc))
        return unavailable(f"the {dependency} is unavailable; try again shortly")
    if isinstance(exc, DBAPIError) and _sqlstate_class(exc) == "40":
        # a deadlock or serialization failure that outlasted the retries (lib/mutation.py): contention
        return _problem(503, ErrorCode.SERVICE_UNAVAILABLE, "Service unavailable",
                        "the database is busy with conflicting writes; try again", {"Retry-After": "1"})
    if isinstance(exc, DBAPIError) and _sqlstate_class(exc) == "22":
        # a data exception (NUL byte in text, value out of range …): the input, not the server
        return _problem(422, ErrorCode.VALIDATION, "Invalid request", "a value cannot be stored as given")
    if isinstance(exc, HTTPException):
        code, title = _HTTP_CODES.get(exc.status_code, (ErrorCode.BAD_REQUEST, "Request failed"))
        if exc.status_code >= 500 and exc.status_code != 503:
            log.error("http_error", status=exc.status_code, detail=exc.detail)
        return _problem(exc.status_code, code, title, str(exc.detail) if exc.detail else None, exc.headers)
    log.error("unhandled_error", exc_info=exc)
    return _problem(HTTP_500_INTERNAL_SERVER_ERROR, ErrorCode.INTERNAL, "Internal server error")


def _body_errors_taken_for_a_dependency(exc: Exception) -> list[dict[str, Any]] | None:
    """Litestar answers 500 when a body field is named like a dependency (`{"db": 1}`): the body
    model's error is located at the field alone (`db`), which Litestar then takes for the
    dependency's. The cause it raises from still holds the errors; those of a pydantic model
    (they carry pydantic's `url`) are the body's, as no dependency is validated by pydantic."""
    errors = getattr(exc.__cause__, "errors", None) if type(exc) is InternalServerException else None
    if not errors or not isinstance(errors, list):
        return None
    if not all(isinstance(e, dict) and "pydantic.dev" in str(e.get("url", "")) for e in errors):
        return None
    return [{"key": ".".join(map(str, e.get("loc") or ())), "message": str(e.get("msg", ""))}
            for e in errors]


def _problem(status: int, code: str, title: str, detail: str | None = None,
             headers: dict[str, str] | None = None, **extra: Any) -> ProblemDetailsException:
    return ProblemDetailsException(status_code=status, title=title, detail=detail or title,
                                   headers=headers, type_="about:blank",
                                   extra={"code": str(code), **extra})


PROBLEM_DETAILS = ProblemDetailsConfig(
    exception_to_problem_detail_map={DomainError: to_problem_details, HTTPException: to_problem_details,
                                     Exception: to_problem_details},
)


def _sqlstate_class(exc: DBAPIError) -> str:
    orig = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", "")
    return (state or "")[:2]


def _safe(errors: list[Any]) -> list[dict[str, Any]]:
    """Validation errors without echoing large or secret input values."""
    out = []
    for error in errors[:20]:
        if isinstance(error, dict):
            out.append({"key": str(error.get("key", "")), "message": str(error.get("message", ""))[:300]})
    return out


# --- a failing dependency: 503, never 500 ------------------------------------------------------

RETRY_AFTER = 5
"""Seconds a client is asked to wait (`Retry-After`) after a 503 for a failing dependency."""
_OUTAGE_SQLSTATE_CLASSES = ("08", "53", "57", "58")
"""Connection exception, insufficient resources, operator intervention (shutdown, statement
timeout), system error: the database is failing, not the request."""


def unavailable(detail: str) -> ProblemDetailsException:
    """503 `service_unavailable` with `Retry-After`: what a failing dependency or a request past its
    deadline answers (the CLI keeps such a write queued and pushes it later)."""
    return _problem(503, ErrorCode.SERVICE_UNAVAILABLE, "Service unavailable", detail,
                    {"Retry-After": str(RETRY_AFTER)})


def failing_dependency(exc: BaseException) -> str | None:
    """"database" or "redis" when `exc` (or what caused it) says that dependency is unreachable,
    failing or too slow (refused, reset, pool exhausted, connect or statement timeout); else None."""
    if isinstance(exc, BaseExceptionGroup):
        found = {failing_dependency(inner) for inner in exc.exceptions}
        return None if None in found or not found else sorted(found)[0]
    for _ in range(8):  # the exception and its causes (`raise … from`), as drivers wrap them
        found = _dependency_of(exc)
        if found is not None or exc.__cause__ is None:
            return found
        exc = exc.__cause__
    return None


def _dependency_of(exc: BaseException) -> str | None:
    # looked at on errors only; not every process loads redis or psycopg
    import asyncpg
    import psycopg
    import redis.exceptions
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return "redis"
    if isinstance(exc, PoolTimeout | psycopg.OperationalError):
        return "database"
    if isinstance(exc, DBAPIError):
        invalidated = exc.connection_invalidated or _sqlstate_class(exc) in _OUTAGE_SQLSTATE_CLASSES
        return "database" if invalidated else None
    if isinstance(exc, asyncpg.PostgresError):
        return "database" if (exc.sqlstate or "")[:2] in _OUTAGE_SQLSTATE_CLASSES else None
    if isinstance(exc, asyncpg.exceptions.ConnectionDoesNotExistError) or (
            type(exc) is asyncpg.InterfaceError and "closed" in str(exc)):
        return "database"
    if isinstance(exc, OSError):  # refused, reset, timed out, no socket: raw from a driver
        return _driver_of(exc)
    return None


_DRIVERS = (("redis", "redis"), ("saq.queue.redis", "redis"), ("asyncpg", "database"),
            ("sqlalchemy", "database"), ("psycopg", "database"), ("saq", "database"))


def _driver_of(exc: BaseException) -> str | None:
    """Whose client raised `exc`, by the modules its traceback went through (the innermost
    first); None when no database or Redis client did."""
    modules = []
    frame = exc.__traceback__
    while frame is not None:
        modules.append(frame.tb_frame.f_globals.get("__name__", ""))
        frame = frame.tb_next
    for module in reversed(modules):
        for prefix, dependency in _DRIVERS:
            if module == prefix or module.startswith(prefix + "."):
                return dependency
    return None


def _names(exc: BaseException) -> str:
    """`InterfaceError(ConnectionDoesNotExistError)`: the exception and its causes, by type only
    (their text may carry SQL and its parameters)."""
    names = [type(exc).__name__]
    while exc.__cause__ is not None and len(names) < 4:
        exc = exc.__cause__
        names.append(type(exc).__name__)
    return names[0] + "".join(f"({name}" for name in names[1:]) + ")" * (len(names) - 1)

