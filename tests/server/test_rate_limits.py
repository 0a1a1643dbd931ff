"""Rate limits per user and per client IP (issue 13, point 5): the request past the limit gets 429
problem details with `Retry-After`; users have buckets of their own; webhooks, health, metrics
and the schema are never limited; with Redis, two server processes count against one limit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.api import Api
from tests.support.checks import problem
from tests.support.processes import ServerProcess, start_server
from tests.support.services import REDIS_URL, require

pytestmark = pytest.mark.timeout(120)


def limited_server(server_env: dict[str, str], log_dir: Path, **limits: str) -> ServerProcess:
    env = {**server_env, "TASKLY_QUEUE_NAME": f"rate-{uuid.uuid4().hex[:8]}",
           **{f"TASKLY_RATE_LIMIT_{name.upper()}": value for name, value in limits.items()}}
    return start_server(env, log_dir)


@pytest.fixture(scope="module")
def per_user(server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = limited_server(server_env, tmp_path_factory.mktemp("per-user"), user="5", ip="0")
    yield process
    process.stop()


@pytest.fixture(scope="module")
def per_ip(server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = limited_server(server_env, tmp_path_factory.mktemp("per-ip"), user="0", ip="5")
    yield process
    process.stop()


def assert_rate_limited(response: httpx.Response, longest_wait: int) -> None:
    problem(response, 429, "rate_limited")
    assert 1 <= int(response.headers["retry-after"]) <= longest_wait, response.headers


def test_the_request_past_a_users_limit_is_429_and_users_have_their_own(per_user: ServerProcess) -> None:
    alice, bob = Api.login(per_user.url), Api.login(per_user.url)  # signing in is not a user's request
    for _ in range(5):
        assert alice.get("/me").status_code == 200
    refused = alice.get("/me")
    assert_rate_limited(refused, 12)  # 5 a minute: one more every 12 s
    assert "per user" in refused.json()["detail"]
    assert bob.get("/me").status_code == 200  # bob's bucket is his own
    token = bob.ok("POST", "/tokens", json={"name": "ci"})["token"]
    as_token = Api(per_user.url, token)  # an API token counts against its user
    for _ in range(3):
        as_token.get("/me")
    assert_rate_limited(as_token.get("/me"), 12)
    assert_rate_limited(bob.get("/me"), 12)


def test_the_request_past_an_ips_limit_is_429_whatever_it_asks(per_ip: ServerProcess) -> None:
    url = per_ip.url
    statuses = [httpx.get(f"{url}/api/v1/nowhere").status_code for _ in range(5)]
    assert statuses == [404] * 5
    refused = httpx.post(f"{url}/api/v1/auth/dev-login", json={"username": "late"})
    assert_rate_limited(refused, 12)
    assert "per client address" in refused.json()["detail"]
    assert refused.headers["x-content-type-options"] == "nosniff"


def test_webhooks_health_metrics_and_the_schema_are_not_limited(per_ip: ServerProcess) -> None:
    url = per_ip.url
    for _ in range(12):
        assert httpx.get(f"{url}/health/live").status_code == 200
        assert httpx.get(f"{url}/health/ready").status_code == 200
        assert httpx.get(f"{url}/metrics").status_code == 200
        assert httpx.get(f"{url}/schema/openapi.json").status_code == 200
        unsigned = httpx.post(f"{url}/api/v1/webhooks/github", content=b"{}",
                              headers={"X-GitHub-Event": "ping", "X-GitHub-Delivery": str(uuid.uuid4())})
        assert unsigned.status_code == 401


def test_replicas_on_one_redis_share_the_count(server_env: dict[str, str], tmp_path: Path) -> None:
    require(REDIS_URL, 6379, "Redis")
    env = {**server_env, "TASKLY_REDIS_URL": REDIS_URL, "TASKLY_QUEUE_NAME": f"rate-{uuid.uuid4().hex[:8]}",
           "TASKLY_RATE_LIMIT_USER": "6", "TASKLY_RATE_LIMIT_IP": "0"}
    first = start_server(env, tmp_path / "first")
    try:
        second = start_server(env, tmp_path / "second")
        try:
            user = Api.login(first.url)
            on_first, on_second = user, Api(second.url, user.token)
            statuses = [(on_first if n % 2 else on_second).get("/me").status_code for n in range(6)]
            assert statuses == [200] * 6
            assert_rate_limited(on_first.get("/me"), 10)
            assert_rate_limited(on_second.get("/me"), 10)
        finally:
            second.stop()
    finally:
        first.stop()
