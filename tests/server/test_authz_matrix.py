"""The authorization matrix: every REST endpoint x {no token, non-member, viewer, member, admin,
owner}, each answered with exactly the expected status.

Rules (SPEC §4 "Auth and access"): no token → 401; a non-member → 404 for anything inside a
workspace (never 403: nothing is revealed); a viewer reads and gets 403 on writes; a member
writes cards and comments and gets 403 on admin things; an admin manages boards, columns,
members and invitations and gets 403 on owner-only things (deleting the workspace, granting or
taking away the owner role); the owner may do everything. Endpoints outside a workspace need a
token only. `test_every_operation_has_a_row` keeps the table complete: a new endpoint without a
row here fails the suite.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.support.api import Api
from tests.support.authz import ROLE_NAMES, ROLES, Cast, World, board_key, build_world, unique

PREFIX = "/api/v1"
PROBLEM_CODES = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 409: "github_not_linked"}
"""The problem code of each expected status (the only 409 rows are GitHub's: no sign-in)."""
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CARD_KEY = re.compile(r"\b[A-Z]{2,10}-[0-9]+\b")

# Operations of the OpenAPI document that need no row, with the reason.
EXEMPT = {
    ("GET", "/health/live"): "liveness probe, public by design",
    ("GET", "/health/ready"): "readiness probe, public by design",
    ("POST", "/api/v1/auth/dev-login"): "signs in: there is no token yet",
    ("POST", "/api/v1/auth/refresh"): "authenticated by the refresh token in its body",
    ("POST", "/api/v1/auth/github/device"): "signs in with GitHub: there is no token yet",
    ("POST", "/api/v1/auth/github/device/poll"): "signs in with GitHub: there is no token yet",
    ("GET", "/api/v1/auth/github/login"): "signs in with GitHub: there is no token yet",
    ("GET", "/api/v1/auth/github/callback"): "signs in with GitHub: there is no token yet",
    ("POST", "/api/v1/workspaces/{workspace_id}/repositories"):
        "needs a GitHub sign-in (the matrix users have none): roles in tests/server/test_repositories.py",
    ("POST", "/api/v1/cards/{card_ref}/create-branch"):
        "needs a GitHub sign-in and a connected repository: roles in tests/server/test_create_branch.py",
    ("POST", "/api/v1/webhooks/github"):
        "public by design, authenticated by the repository's webhook signature: tests/server/test_webhooks.py",
}


# --- the table ------------------------------------------------------------------------------


def token_only(ok: int) -> dict[str, int]:
    """Outside any workspace: any signed-in user."""
    return {"anon": 401, **{role: ok for role in ROLES[1:]}}


def from_role(minimum: str, ok: int) -> dict[str, int]:
    """Inside a workspace: 404 for a non-member, 403 below `minimum`, `ok` from `minimum` up."""
    ranks = ROLES[2:]
    return {"anon": 401, "outsider": 404,
            **{role: ok if ranks.index(role) >= ranks.index(minimum) else 403 for role in ranks}}


@dataclass(frozen=True)
class Ctx:
    """What a row may use to build its request."""

    cast: Cast
    world: World
    role: str


@dataclass(frozen=True)
class Row:
    method: str
    route: str  # exactly as in the OpenAPI document
    expect: dict[str, int]
    body: Callable[[Ctx], Any] | None = None
    # Path values beyond the world's defaults, prepared per call (e.g. a fresh invitation token).
    prepare: Callable[[Ctx], dict[str, str]] | None = None
    fresh: bool = False  # changes or destroys what it touches: gets its own world per call
    target_role: str | None = None  # in a fresh world, the role of the member the row manages
    content: bool = True  # a fresh world needs a board, card and comments
    note: str = ""

    def url(self, ctx: Ctx) -> str:
        world = ctx.world
        values = {"workspace_id": world.workspace_id, "board_id": world.board_id,
                  "column_id": world.column_id, "card_ref": world.card_id,
                  "comment_id": world.comment_id, "user_ref": world.target,
                  "sprint_id": world.sprint_id}
        if self.prepare is not None:
            values.update(self.prepare(ctx))
        return self.route.removeprefix(PREFIX).format(**values)

    def label(self) -> str:
        note = f" ({self.note})" if self.note else ""
        return f"{self.method} {self.route.removeprefix(PREFIX)}{note}"


def own_token(ctx: Ctx) -> dict[str, str]:
    """An API token of the caller (of the owner, for the anonymous caller)."""
    creator = ctx.cast.api("owner" if ctx.role == "anon" else ctx.role)
    return {"token_id": creator.ok("POST", "/tokens", json={"name": "authz"})["id"]}


def owners_token(ctx: Ctx) -> dict[str, str]:
    if ctx.world.ghost:
        return {"token_id": str(uuid.uuid4())}
    return {"token_id": ctx.cast.api("owner").ok("POST", "/tokens", json={"name": "authz"})["id"]}


def lobby_invitation(ctx: Ctx) -> dict[str, str]:
    """A viewer invitation to a workspace of its own, so accepting it changes no other row."""
    owner = ctx.cast.api("owner")
    lobby = owner.workspace(unique("Lobby"))["id"]
    return {"token": owner.ok("POST", f"/workspaces/{lobby}/invitations",
                              json={"role": "viewer"})["token"]}


def open_invitation(ctx: Ctx) -> dict[str, str]:
    """A new invitation to the world's workspace (an id that names nothing in a missing world)."""
    if ctx.world.ghost:
        return {"invitation_id": str(uuid.uuid4())}
    return {"invitation_id": ctx.cast.api("owner").ok(
        "POST", f"/workspaces/{ctx.world.workspace_id}/invitations", json={"role": "viewer"})["id"]}


def another_session(ctx: Ctx) -> dict[str, str]:
    """The refresh token of a new sign-in of the caller (of the owner, for the anonymous caller):
    logging it out ends that session only, not the one the matrix goes on with."""
    signed_in = Api.login(ctx.cast.api(ctx.role).base_url, ctx.cast.username(ctx.role))
    return {"refresh_token": signed_in.refresh_token}


def caller(ctx: Ctx) -> dict[str, str]:
    return {"user_ref": ctx.cast.username(ctx.role)}


def by_key(ctx: Ctx) -> dict[str, str]:
    return {"card_ref": ctx.world.card_key}


_SPRINT_SLOTS = itertools.count()


def sprint_dates() -> dict[str, str]:
    """Dates no other sprint of the matrix uses (open sprints of a board may not overlap)."""
    start = date(2100, 1, 1) + timedelta(days=3 * next(_SPRINT_SLOTS))
    return {"start_date": start.isoformat(), "end_date": (start + timedelta(days=1)).isoformat()}


def new_sprint(ctx: Ctx) -> dict[str, str]:
    """A sprint of its own (the owner's) on the world's board, for rows that close or delete one."""
    if ctx.world.ghost:
        return {"sprint_id": str(uuid.uuid4())}
    return {"sprint_id": ctx.cast.api("owner").ok("POST", f"/boards/{ctx.world.board_id}/sprints",
                                                  json={"name": unique("Sprint"), **sprint_dates()})["id"]}


def new_label(ctx: Ctx) -> dict[str, str]:
    """A label of its own (the owner's) in the world's workspace, for rows that edit or delete one."""
    if ctx.world.ghost:
        return {"label_id": str(uuid.uuid4())}
    return {"label_id": ctx.cast.api("owner").ok("POST", f"/workspaces/{ctx.world.workspace_id}/labels",
                                                 json={"name": unique("label")[:50]})["id"]}


ROWS: list[Row] = [
    # --- outside any workspace: a token is enough
    Row("GET", "/api/v1/me", token_only(200)),
    Row("GET", "/api/v1/me/settings", token_only(200)),
    Row("PATCH", "/api/v1/me/settings", token_only(200), body=lambda c: {"timezone": "UTC"}),
    Row("GET", "/api/v1/notifications", token_only(200),
        note="the caller's own (another's: tests/server/test_notifications.py)"),
    Row("POST", "/api/v1/notifications/read", token_only(200), body=lambda c: {"all": True}),
    Row("GET", "/api/v1/tokens", token_only(200)),
    Row("POST", "/api/v1/tokens", token_only(201), body=lambda c: {"name": "ci"}),
    Row("DELETE", "/api/v1/tokens/{token_id}", token_only(200), prepare=own_token,
        note="own token"),
    Row("DELETE", "/api/v1/tokens/{token_id}", {**token_only(404), "owner": 200},
        prepare=owners_token, note="the owner's token"),
    Row("POST", "/api/v1/auth/logout", token_only(204), body=another_session,
        note="another session of the caller"),
    Row("GET", "/api/v1/workspaces", token_only(200)),
    Row("POST", "/api/v1/workspaces", token_only(201), body=lambda c: {"name": unique("Mine")}),
    Row("POST", "/api/v1/invitations/{token}/accept", token_only(200), prepare=lobby_invitation),
    # --- the workspace
    Row("GET", "/api/v1/workspaces/{workspace_id}", from_role("viewer", 200)),
    Row("PATCH", "/api/v1/workspaces/{workspace_id}", from_role("admin", 200),
        body=lambda c: {"name": unique("Authz")}),
    Row("DELETE", "/api/v1/workspaces/{workspace_id}", from_role("owner", 204), fresh=True,
        content=False),
    Row("GET", "/api/v1/workspaces/{workspace_id}/changes", from_role("viewer", 200)),
    Row("GET", "/api/v1/workspaces/{workspace_id}/snapshot", from_role("viewer", 200)),
    Row("GET", "/api/v1/workspaces/{workspace_id}/activity", from_role("member", 200),
        note="the audit log: members and up"),
    # --- members and invitations
    Row("GET", "/api/v1/workspaces/{workspace_id}/members", from_role("viewer", 200)),
    Row("PATCH", "/api/v1/workspaces/{workspace_id}/members/{user_ref}", from_role("admin", 200),
        body=lambda c: {"role": "member"}, fresh=True, target_role="viewer", content=False,
        note="viewer to member"),
    Row("PATCH", "/api/v1/workspaces/{workspace_id}/members/{user_ref}", from_role("owner", 200),
        body=lambda c: {"role": "owner"}, fresh=True, target_role="viewer", content=False,
        note="grant owner"),
    Row("PATCH", "/api/v1/workspaces/{workspace_id}/members/{user_ref}", from_role("owner", 200),
        body=lambda c: {"role": "admin"}, fresh=True, target_role="owner", content=False,
        note="demote a co-owner"),
    Row("DELETE", "/api/v1/workspaces/{workspace_id}/members/{user_ref}", from_role("admin", 204),
        fresh=True, target_role="viewer", content=False, note="remove a viewer"),
    Row("DELETE", "/api/v1/workspaces/{workspace_id}/members/{user_ref}", from_role("owner", 204),
        fresh=True, target_role="owner", content=False, note="remove a co-owner"),
    # Anyone may leave; the co-owner lets the owner leave too (the last owner cannot: 409).
    Row("DELETE", "/api/v1/workspaces/{workspace_id}/members/{user_ref}", from_role("viewer", 204),
        prepare=caller, fresh=True, target_role="owner", content=False, note="leave"),
    Row("POST", "/api/v1/workspaces/{workspace_id}/invitations", from_role("admin", 201),
        body=lambda c: {"role": "member"}, note="as member"),
    Row("POST", "/api/v1/workspaces/{workspace_id}/invitations", from_role("owner", 201),
        body=lambda c: {"role": "owner"}, note="as owner"),
    Row("GET", "/api/v1/workspaces/{workspace_id}/invitations", from_role("admin", 200)),
    Row("DELETE", "/api/v1/invitations/{invitation_id}", from_role("admin", 204), prepare=open_invitation),
    # --- boards and columns: admin things
    Row("GET", "/api/v1/workspaces/{workspace_id}/boards", from_role("viewer", 200)),
    Row("POST", "/api/v1/workspaces/{workspace_id}/boards", from_role("admin", 201),
        body=lambda c: {"name": "New", "key": board_key()}),
    Row("GET", "/api/v1/boards/{board_id}", from_role("viewer", 200)),
    Row("PATCH", "/api/v1/boards/{board_id}", from_role("admin", 200),
        body=lambda c: {"name": unique("Board")}),
    Row("DELETE", "/api/v1/boards/{board_id}", from_role("admin", 204), fresh=True),
    Row("POST", "/api/v1/boards/{board_id}/columns", from_role("admin", 201),
        body=lambda c: {"name": unique("Column")}),
    Row("PATCH", "/api/v1/columns/{column_id}", from_role("admin", 200),
        body=lambda c: {"wip_limit": 50}),
    Row("DELETE", "/api/v1/columns/{column_id}", from_role("admin", 204), fresh=True),
    Row("GET", "/api/v1/boards/{board_id}/automation", from_role("viewer", 200)),
    Row("PUT", "/api/v1/boards/{board_id}/automation", from_role("admin", 200),
        body=lambda c: {"rules": {"pr_approved": None}}),
    # --- cards: member writes
    Row("GET", "/api/v1/boards/{board_id}/cards", from_role("viewer", 200)),
    Row("POST", "/api/v1/boards/{board_id}/cards", from_role("member", 201),
        body=lambda c: {"title": unique("Card")}),
    Row("GET", "/api/v1/cards/{card_ref}", from_role("viewer", 200)),
    Row("GET", "/api/v1/cards/{card_ref}", from_role("viewer", 200), prepare=by_key, note="by key"),
    Row("PATCH", "/api/v1/cards/{card_ref}", from_role("member", 200),
        body=lambda c: {"title": unique("Card")}),
    Row("PATCH", "/api/v1/cards/{card_ref}", from_role("member", 200), prepare=by_key,
        body=lambda c: {"priority": "high"}, note="by key"),
    Row("DELETE", "/api/v1/cards/{card_ref}", from_role("member", 200), fresh=True),
    Row("POST", "/api/v1/cards/{card_ref}/restore", from_role("member", 200)),
    Row("POST", "/api/v1/cards/{card_ref}/move", from_role("member", 200),
        body=lambda c: {"column": "Todo", "position": "top"}),
    Row("POST", "/api/v1/cards/bulk-update", from_role("member", 200),
        body=lambda c: {"cards": [{"card": c.world.card_id, "points": 3}]}),
    Row("GET", "/api/v1/cards/{card_ref}/activity", from_role("viewer", 200)),
    # --- sprints: member writes
    Row("GET", "/api/v1/boards/{board_id}/sprints", from_role("viewer", 200)),
    Row("POST", "/api/v1/boards/{board_id}/sprints", from_role("member", 201),
        body=lambda c: {"name": unique("Sprint"), **sprint_dates()}),
    Row("GET", "/api/v1/sprints/{sprint_id}", from_role("viewer", 200)),
    Row("PATCH", "/api/v1/sprints/{sprint_id}", from_role("member", 200),
        body=lambda c: {"goal": unique("Goal")}),
    Row("DELETE", "/api/v1/sprints/{sprint_id}", from_role("member", 204), prepare=new_sprint),
    Row("POST", "/api/v1/sprints/{sprint_id}/close", from_role("member", 200), prepare=new_sprint,
        body=lambda c: {"carry_over_to": None}),
    Row("GET", "/api/v1/sprints/{sprint_id}/burndown", from_role("viewer", 200)),
    # --- labels: members create and edit, admins delete
    Row("GET", "/api/v1/workspaces/{workspace_id}/labels", from_role("viewer", 200)),
    Row("POST", "/api/v1/workspaces/{workspace_id}/labels", from_role("member", 201),
        body=lambda c: {"name": unique("label")[:50]}),
    Row("PATCH", "/api/v1/labels/{label_id}", from_role("member", 200), prepare=new_label,
        body=lambda c: {"color": "#123abc"}),
    Row("DELETE", "/api/v1/labels/{label_id}", from_role("admin", 200), prepare=new_label),
    # --- repositories and jobs (connecting one needs GitHub: tests/server/test_repositories.py)
    Row("GET", "/api/v1/workspaces/{workspace_id}/repositories", from_role("viewer", 200)),
    Row("DELETE", "/api/v1/repositories/{repository_id}", token_only(404),
        prepare=lambda c: {"repository_id": str(uuid.uuid4())}, note="no such repository"),
    Row("GET", "/api/v1/repositories/{repository_id}/status", token_only(404),
        prepare=lambda c: {"repository_id": str(uuid.uuid4())},
        note="no such repository (roles on a connected one: tests/server/test_reconcile.py)"),
    Row("POST", "/api/v1/repositories/{repository_id}/sync", token_only(404),
        prepare=lambda c: {"repository_id": str(uuid.uuid4())},
        note="no such repository (roles on a connected one: tests/server/test_reconcile.py)"),
    Row("GET", "/api/v1/github/repositories", token_only(409),
        note="github_not_linked: the matrix users have no GitHub sign-in (tests/cli/test_cli_repo.py)"),
    Row("GET", "/api/v1/jobs/{job_id}", token_only(404),
        prepare=lambda c: {"job_id": f"branch:{uuid.uuid4()}"}, note="no such job"),
    # --- comments
    Row("GET", "/api/v1/cards/{card_ref}/comments", from_role("viewer", 200)),
    Row("POST", "/api/v1/cards/{card_ref}/comments", from_role("member", 201),
        body=lambda c: {"body": "hello"}),
    # Only the author edits a comment, whatever their role (the member wrote this one).
    Row("PATCH", "/api/v1/comments/{comment_id}", {**from_role("member", 403), "member": 200},
        body=lambda c: {"body": unique("edited")}, note="the member's comment"),
    # The author or an admin deletes a comment.
    Row("DELETE", "/api/v1/comments/{comment_id}", from_role("member", 200), fresh=True,
        note="the member's comment"),
    Row("DELETE", "/api/v1/comments/{comment_id}", from_role("admin", 200), fresh=True,
        prepare=lambda c: {"comment_id": c.world.admin_comment_id}, note="the admin's comment"),
]

# (row label, role) whose status contradicts the rules: kept honest as strict xfails, with the
# bug. None is known today; add one here rather than bending a row's expectation.
KNOWN_BUGS: dict[tuple[str, str], str] = {}

# Rows whose 404 for a non-member reads differently for an existing object than for a missing
# one, which tells the non-member that the id exists.
DETAIL_LEAKS: dict[str, str] = {}


def cases() -> list:
    params = []
    for row in ROWS:
        assert set(row.expect) == set(ROLES), row.label()
        for role in ROLES:
            status = row.expect[role]
            case_id = f"{row.label()} as {ROLE_NAMES.get(role, role)} -> {status}"
            bug = KNOWN_BUGS.get((row.label(), role))
            marks = [pytest.mark.xfail(strict=True, reason=f"bug: {bug}")] if bug else []
            params.append(pytest.param(row, role, id=case_id, marks=marks))
    return params


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cast(server) -> Cast:
    return Cast.login(server.url)


@pytest.fixture(scope="module")
def shared_world(cast: Cast) -> World:
    """The world of every row that changes nothing it cannot take again."""
    return build_world(cast)


def world_for(row: Row, cast: Cast, shared_world: World) -> World:
    return build_world(cast, row.target_role, row.content) if row.fresh else shared_world


def call(row: Row, ctx: Ctx) -> httpx.Response:
    body = row.body(ctx) if row.body is not None else None
    return ctx.cast.api(ctx.role).request(row.method, row.url(ctx), json=body)


def assert_status(response: httpx.Response, expected: int) -> None:
    request = f"{response.request.method} {response.request.url.path}"
    assert response.status_code == expected, f"{request} -> {response.status_code}: {response.text}"
    if expected < 400:
        return
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith("application/problem+json"), f"{request}: {content_type}"
    problem = response.json()
    assert problem.get("code") == PROBLEM_CODES[expected], f"{request}: {problem}"
    assert problem.get("status") == expected, f"{request}: {problem}"


# --- tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("row", "role"), cases())
def test_matrix(row: Row, role: str, cast: Cast, shared_world: World) -> None:
    ctx = Ctx(cast, world_for(row, cast, shared_world), role)
    assert_status(call(row, ctx), row.expect[role])


def test_every_operation_has_a_row(server) -> None:
    """Every operation of the OpenAPI document has a row here, and every row is a real route."""
    schema = httpx.get(f"{server.url}/schema/openapi.json", timeout=30).json()
    operations = {(method.upper(), path) for path, item in schema["paths"].items()
                  for method in item if method in {"get", "put", "post", "patch", "delete"}}
    covered = {(row.method, row.route) for row in ROWS}
    assert sorted(operations - covered - EXEMPT.keys()) == [], "endpoints without a matrix row"
    assert sorted(covered - operations) == [], "matrix rows for routes the server does not have"


HIDDEN_ROWS = [
    pytest.param(row, id=row.label(), marks=[
        pytest.mark.xfail(strict=True, reason=f"bug: {DETAIL_LEAKS[row.label()]}")
    ] if row.label() in DETAIL_LEAKS else [])
    for row in ROWS if row.expect["outsider"] == 404
]


@pytest.mark.parametrize("row", HIDDEN_ROWS)
def test_hidden_looks_missing(row: Row, cast: Cast, shared_world: World) -> None:
    """A non-member cannot tell an existing object from a missing one: the same status, code and
    detail (ids and keys aside) as for ids that name nothing."""
    world = world_for(row, cast, shared_world)
    hidden = call(row, Ctx(cast, world, "outsider"))
    missing = call(row, Ctx(cast, World.missing(world.target), "outsider"))
    assert_status(hidden, 404)
    assert_status(missing, 404)
    assert anonymised(hidden.json()) == anonymised(missing.json()), row.label()


def anonymised(problem: dict[str, Any]) -> dict[str, Any]:
    """The problem with its ids and card keys blanked out."""
    def blank(text: str) -> str:
        return CARD_KEY.sub("<key>", UUID.sub("<id>", text))
    return {name: blank(value) if isinstance(value, str) else value
            for name, value in problem.items()}
