"""Domain errors, and the one place that turns every exception into RFC 9457 problem details."""

from __future__ import annotations

from typing import Any

import structlog
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.exc import DBAPIError
from taskly_shared.errors import ErrorCode

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


def to_problem_details(exc: Exception) -> ProblemDetailsException:
    """Every error leaves the server as problem details with a stable `code`; never a traceback."""
    if isinstance(exc, ProblemDetailsException):
        return exc
    if isinstance(exc, DomainError):
        return _problem(exc.status, exc.code, exc.title, exc.detail, exc.headers, **exc.extra)
    if isinstance(exc, ValidationException):
        errors = exc.extra if isinstance(exc.extra, list) else []
        detail = exc.detail if isinstance(exc.detail, str) else "Validation failed"
        return _problem(400, ErrorCode.VALIDATION, "Invalid request", detail, errors=_safe(errors))
    if isinstance(exc, PydanticValidationError):
        errors = [{"key": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()]
        return _problem(400, ErrorCode.VALIDATION, "Invalid request", "Validation failed", errors=errors[:20])
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
