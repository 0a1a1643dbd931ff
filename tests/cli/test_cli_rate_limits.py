"""The real `taskly` against a rate-limited server: after a 429 it waits the `Retry-After` the
server gives (when short) and retries once, saying so on stderr; a long wait is an error at once."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from tests.cli.support import run_taskly
from tests.support.api import Api
from tests.support.processes import start_server

pytestmark = pytest.mark.timeout(120)


def exhaust(api: Api) -> None:
    """Spend the user's whole bucket: the next request is refused."""
    for _ in range(100):
        if api.get("/me").status_code == 429:
            return
    raise AssertionError("never rate limited")


@pytest.mark.parametrize(("per_minute", "retried"), [(20, True), (2, False)])
def test_the_cli_waits_out_a_short_retry_after_once(server_env: dict[str, str], tmp_path: Path,
                                                    per_minute: int, retried: bool) -> None:
    """20 a minute: one more every 3 s, longer than the CLI takes to start, within what it waits;
    2 a minute: one more every 30 s, longer than it waits."""
    env = {**server_env, "TASKLY_QUEUE_NAME": f"rate-{uuid.uuid4().hex[:8]}",
           "TASKLY_RATE_LIMIT_USER": str(per_minute), "TASKLY_RATE_LIMIT_IP": "0"}
    server = start_server(env, tmp_path / "server")
    try:
        user = Api.login(server.url)
        token = user.ok("POST", "/tokens", json={"name": "cli"})["token"]
        exhaust(Api(server.url, token))
        result = run_taskly("whoami", "--json", env={"TASKLY_SERVER": server.url, "TASKLY_TOKEN": token})
    finally:
        server.stop()
    if retried:
        assert result.code == 0, result.stderr
        assert result.json()["username"] == user.username
        assert re.search(r"^taskly: rate limited by the server; retrying in [123] s$", result.stderr, re.M), \
            result.stderr
    else:
        assert result.code != 0
        assert "retrying" not in result.stderr
        assert re.search(r"rate limit .* per user exceeded; retry in \d+ s", result.stderr), result.stderr
