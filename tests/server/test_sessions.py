"""Sessions end when they should: a logout ends its access tokens on every replica within about a
second, and a logout or an API token's revocation closes their WebSockets at once (4401) — long
before the next ping (a minute here) could."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx
import pytest

from tests.server.test_realtime import Client
from tests.support.api import Api
from tests.support.checks import problem
from tests.support.processes import ServerProcess, realtime_env, replica_pair

pytestmark = pytest.mark.timeout(120)

PING_INTERVAL = 60.0


@dataclass
class Pair:
    a: ServerProcess
    b: ServerProcess


@pytest.fixture(scope="module", params=["postgres", "redis"])
def pair(request, server_env, tmp_path_factory):
    """Two replicas on one database that ping only every minute: a socket closed within seconds
    was closed by the revocation, not by the check at a ping."""
    env = realtime_env({**server_env, "TASKLY_WS_PING_INTERVAL": str(PING_INTERVAL)}, request.param,
                       "sessions")
    with replica_pair(env, tmp_path_factory.mktemp(f"sessions-{request.param}")) as (a, b):
        yield Pair(a, b)


def me(base_url: str, token: str) -> httpx.Response:
    return httpx.get(f"{base_url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def refused_within(base_url: str, token: str, seconds: float = 3.0) -> httpx.Response:
    """Polls /me with `token` until it is refused (or `seconds` pass); the last answer."""
    deadline = time.monotonic() + seconds
    while True:
        response = me(base_url, token)
        if response.status_code != 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def test_logout_ends_the_access_token_on_every_replica(pair):
    api = Api.login(pair.a.url)
    other = Api.login(pair.a.url, api.username)  # a second sign-in of the same user
    for replica in (pair.a, pair.b):  # both replicas have seen (and cached) the session live
        assert me(replica.url, api.token).status_code == 200

    assert api.post("/auth/logout", json={"refresh_token": api.refresh_token}).status_code == 204
    for replica in (pair.a, pair.b):
        body = problem(refused_within(replica.url, api.token), 401, "unauthenticated")
        assert "signed out" in body["detail"] and api.token not in body["detail"]
    problem(httpx.post(f"{pair.a.url}/api/v1/auth/refresh", json={"refresh_token": api.refresh_token}),
            401, "unauthenticated")
    for replica in (pair.a, pair.b):  # the other sign-in goes on
        assert me(replica.url, other.token).status_code == 200


def test_logout_without_a_refresh_token_ends_every_session_of_the_user(pair):
    api = Api.login(pair.a.url)
    other = Api.login(pair.a.url, api.username)
    stranger = Api.login(pair.a.url)
    assert me(pair.b.url, other.token).status_code == 200
    assert api.post("/auth/logout").status_code == 204
    for token in (api.token, other.token):
        problem(refused_within(pair.b.url, token), 401, "unauthenticated")
    assert me(pair.b.url, stranger.token).status_code == 200


async def closed_by_revocation(client: Client, started: float) -> float:
    """The socket gets an `unauthenticated` error and close 4401; seconds since `started`."""
    error = await client.expect("error", wait=10)
    assert error["code"] == "unauthenticated", error
    assert await client.closed(wait=10) == 4401
    return time.monotonic() - started


async def test_revoking_an_api_token_closes_its_sockets_on_every_replica(pair):
    api = Api.login(pair.a.url)
    workspace = api.workspace()
    created = api.ok("POST", "/tokens/", json={"name": "hook"})
    kept = api.ok("POST", "/tokens/", json={"name": "kept"})
    on_a = await Client.open(pair.a, created["token"])
    on_b = await Client.open(pair.b, created["token"])
    untouched = await Client.open(pair.b, kept["token"])
    try:
        for client in (on_a, on_b, untouched):
            await client.subscribe(workspace["id"], 2)
        started = time.monotonic()
        await asyncio.to_thread(api.ok, "DELETE", f"/tokens/{created['id']}")
        for client in (on_a, on_b):
            assert await closed_by_revocation(client, started) < PING_INTERVAL / 4
        await untouched.quiet(0.5)
    finally:
        for client in (on_a, on_b, untouched):
            await client.close()


async def test_logout_closes_the_sessions_sockets_on_every_replica(pair):
    api = Api.login(pair.a.url)
    other = Api.login(pair.a.url, api.username)
    workspace = api.workspace()
    on_a = await Client.open(pair.a, api.token)
    on_b = await Client.open(pair.b, api.token)
    untouched = await Client.open(pair.b, other.token)
    try:
        for client in (on_a, on_b, untouched):
            await client.subscribe(workspace["id"], 2)
        started = time.monotonic()
        response = await asyncio.to_thread(api.post, "/auth/logout", json={"refresh_token": api.refresh_token})
        assert response.status_code == 204, response.text
        for client in (on_a, on_b):
            assert await closed_by_revocation(client, started) < PING_INTERVAL / 4
        await untouched.quiet(0.5)
        # a new socket with the signed-out token is refused outright
        refused = await Client.open(pair.b)
        await refused.send(type="auth", token=api.token)
        assert (await refused.expect("error"))["code"] == "unauthenticated"
        assert await refused.closed() == 4401
    finally:
        for client in (on_a, on_b, untouched):
            await client.close()
