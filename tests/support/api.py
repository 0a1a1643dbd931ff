"""A thin HTTP client for tests: signs users in through dev login."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


class Api:
    """One signed-in user talking to a real server process."""

    def __init__(self, base_url: str, token: str | None = None, user: dict[str, Any] | None = None):
        self.base_url = base_url
        self.user = user or {}
        self.token = token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=f"{base_url}/api/v1", headers=headers, timeout=30)

    @classmethod
    def login(cls, base_url: str, username: str | None = None) -> Api:
        username = username or f"user-{uuid.uuid4().hex[:8]}"
        response = httpx.post(f"{base_url}/api/v1/auth/dev-login", json={"username": username}, timeout=30)
        response.raise_for_status()
        body = response.json()
        api = cls(base_url, body["access_token"], body["user"])
        api.refresh_token = body["refresh_token"]
        return api

    @property
    def username(self) -> str:
        return self.user["username"]

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.patch(path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.delete(path, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of a 2xx answer; anything else fails the test with the problem body."""
        response = self.request(method, path, **kwargs)
        assert response.is_success, f"{method} {path} -> {response.status_code}: {response.text}"
        return response.json() if response.content else None

    def workspace(self, name: str = "Test") -> dict[str, Any]:
        return self.ok("POST", "/workspaces", json={"name": name})

    def board(self, workspace_id: str, key: str = "WEB", name: str = "Web") -> dict[str, Any]:
        return self.ok("POST", f"/workspaces/{workspace_id}/boards", json={"name": name, "key": key})
