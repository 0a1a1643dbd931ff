"""The OpenAPI document at /schema: JSON and YAML only, with every operation's problem answers.

`render_plugins()`: `/schema` and `/schema/openapi.json` serve the JSON document and
`/schema/openapi.yaml` the YAML one; no documentation page (Litestar's load their scripts from
third-party CDNs), so nothing from elsewhere runs under this server's origin.

`document_problems(app)` states, for each operation, the error statuses it really answers with
their body (`Problem`, `application/problem+json`), from what the handler is:

- every operation: 400 (malformed request), 503 (a dependency failing); under `/api/`: 429;
- authenticated (takes `principal`): 401, 403, 404 (objects out of reach are 404) and 422 (checks
  past the schema, and values the database refuses, such as an out-of-range number);
- with path parameters: 404; taking a body: 413 and 422;
- mutating and authenticated: 409 (version or idempotency-key conflicts);
- plus `EXTRA` for what only some operations answer (the feed's 410, the device flow's 428 …).

A handler's own `responses=` win over these.
"""

from __future__ import annotations

from typing import Any

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin, YamlRenderPlugin
from litestar.routes import HTTPRoute
from taskly_shared.models import Problem, WebhookAccepted

from .protection import NOT_RATE_LIMITED

PROBLEM_MEDIA_TYPE = "application/problem+json"
DESCRIPTIONS = {
    400: "Malformed request: a field fails validation (`validation_error`), the body is not JSON or "
         "nested too deeply, or a header or query parameter is invalid.",
    401: "No valid credentials: the bearer token is missing, invalid or expired.",
    403: "The caller may not do this (a viewer writing, a non-admin changing settings …).",
    404: "No such object, or not in a workspace the caller belongs to.",
    409: "A conflict: a stale version, an Idempotency-Key reused for a different request, or no "
         "GitHub sign-in for what needs one (`github_not_linked`; `github_sign_in_required` once "
         "GitHub refused the token).",
    410: "Gone: the requested part of the change feed was pruned, or the device code expired.",
    413: "The request body is larger than this route's limit (checked before it is read).",
    422: "The request is well-formed but cannot be applied (an unknown column, a bad anchor …).",
    428: "Not yet: the user has not approved the sign-in (`authorization_pending`, `slow_down`).",
    429: "Rate limited (per user or per client address): retry after `Retry-After` seconds.",
    502: "GitHub answered with an error or not at all.",
    503: "A dependency is unavailable (database, Redis, GitHub not configured); retry later.",
}
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
EXTRA: dict[tuple[str, str], tuple[int, ...]] = {
    ("POST", "/api/v1/auth/dev-login"): (403,),
    ("POST", "/api/v1/auth/refresh"): (401,),
    ("POST", "/api/v1/auth/github/device"): (502,),
    ("POST", "/api/v1/auth/github/device/poll"): (403, 410, 428, 502),
    ("GET", "/api/v1/auth/github/callback"): (401, 403, 502),
    ("POST", "/api/v1/webhooks/github"): (401, 413),
    ("GET", "/api/v1/workspaces/{workspace_id}/changes"): (410,),
    ("POST", "/api/v1/cards/{card_ref}/create-branch"): (502,),
    ("POST", "/api/v1/workspaces/{workspace_id}/repositories"): (502,),
    ("GET", "/api/v1/github/repositories"): (409, 502),
}
SUCCESS: dict[tuple[str, str], dict[int, ResponseSpec]] = {
    ("POST", "/api/v1/webhooks/github"): {200: ResponseSpec(
        data_container=WebhookAccepted, generate_examples=False,
        description="A redelivery, or an event Taskly does not act on (stored, not processed).")},
}
"""Second success statuses (the handler declares its main one)."""


def render_plugins() -> list[OpenAPIRenderPlugin]:
    return [JsonRenderPlugin(path=["/openapi.json", "/"]), YamlRenderPlugin()]


def problem_response(status: int) -> ResponseSpec:
    return ResponseSpec(data_container=Problem, media_type=PROBLEM_MEDIA_TYPE, generate_examples=False,
                        description=DESCRIPTIONS[status])


def problem_statuses(handler: Any, method: str, path: str) -> set[int]:
    """The error statuses the operation `method path` of `handler` answers."""
    if path == "/health/live":
        return set()
    parameters = handler.parsed_fn_signature.parameters
    statuses = {400, 503}
    if path.startswith("/api/") and not path.startswith(NOT_RATE_LIMITED):
        statuses.add(429)
    if "principal" in parameters:
        statuses |= {401, 403, 404, 422}  # 422: also a value the database refuses (out of range …)
        if method in MUTATING:
            statuses.add(409)
    if "{" in path:
        statuses.add(404)
    if "data" in parameters:
        statuses |= {413, 422}
    statuses.update(EXTRA.get((method, path), ()))
    return statuses


def document_problems(routes: list[Any]) -> None:
    """Set `responses` of every HTTP handler in `routes` (see the module docstring)."""
    for route in routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema() or route.path_format.startswith("/schema"):
                continue
            responses: dict[int, ResponseSpec] = {}
            if handler.status_code == 204:  # Litestar would document a JSON `null` body
                responses[204] = ResponseSpec(data_container=None, description="Done; no body.")
            for method in handler.http_methods:
                key = (method, route.path_format)
                responses.update(SUCCESS.get(key, {}))
                for status in problem_statuses(handler, method, route.path_format):
                    responses[status] = problem_response(status)
            handler.responses = {**responses, **(handler.responses or {})}
