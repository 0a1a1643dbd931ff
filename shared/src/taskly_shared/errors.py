"""Error codes shared by the server (problem details `code`) and the client (exit codes)."""

from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable machine-readable codes carried in every problem-details body."""

    BAD_REQUEST = "bad_request"
    VALIDATION = "validation_error"
    UNAUTHENTICATED = "unauthenticated"
    TOKEN_EXPIRED = "token_expired"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    AMBIGUOUS_KEY = "ambiguous_key"
    DUPLICATE = "duplicate"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    COLUMN_NOT_EMPTY = "column_not_empty"
    GONE = "gone"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    RATE_LIMITED = "rate_limited"
    DEV_LOGIN_DISABLED = "dev_login_disabled"
    INTERNAL = "internal_error"
    UNAVAILABLE = "unavailable"
