"""Small assertions and SQL reads shared by the server and client tests."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg


def sql(database_url: str, query: str, *params: object) -> list[tuple]:
    """Rows of `query` on the test database (straight SQL, to check what the server stored)."""
    with psycopg.connect(database_url.replace("+asyncpg", ""), autocommit=True) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def problem(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The problem-details body of a refused request, after checking its status, type and code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status, body
    if code is not None:
        assert body["code"] == code, body
    return body


def join(owner: Any, other: Any, workspace_id: str, role: str = "member") -> dict[str, Any]:
    """`other` joins the workspace through the real invitation flow; answers the WorkspaceOut."""
    token = owner.ok("POST", f"/workspaces/{workspace_id}/invitations", json={"role": role})["token"]
    return other.ok("POST", f"/invitations/{token}/accept")
