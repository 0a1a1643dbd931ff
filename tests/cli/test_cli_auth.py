"""`taskly login|logout|whoami` and `taskly token …` through the real executable and server."""

from __future__ import annotations

import json
import os
import stat
import time
import tomllib
from pathlib import Path

import httpx

from tests.cli.support import cli_login, ok, run_taskly, unique


def home() -> Path:
    return Path(os.environ["TASKLY_HOME"])


def test_dev_login_whoami_and_logout_revokes_on_the_server(server) -> None:
    name = unique()
    result = ok("login", "--server", server.url, "--dev", name, "--json")
    user = result.json()
    assert user["username"] == name and user["id"]
    assert f"Logged in to {server.url} as {name}" in result.stderr
    assert tomllib.loads((home() / "config" / "config.toml").read_text())["server"] == server.url
    credentials = home() / "config" / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    stored = json.loads(credentials.read_text())[server.url]
    assert stored["username"] == name and stored["refresh_token"]

    who = ok("whoami", "--json").json()
    assert who["server"] == server.url and who["username"] == name and who["user"]["id"] == user["id"]
    assert ok("whoami").stdout.strip() == f"{name} on {server.url}"

    # another user on the same server: the first one's current workspace is forgotten
    ok("workspace", "create", unique("ws"))
    second = unique()
    ok("login", "--server", server.url, "--dev", second)
    assert "workspace" not in tomllib.loads((home() / "config" / "config.toml").read_text())
    assert ok("whoami", "--json").json()["username"] == second
    ok("login", "--server", server.url, "--dev", name)
    stored = json.loads(credentials.read_text())[server.url]

    out = ok("logout", "--json")
    assert out.json() == {"server": server.url, "username": name, "revoked": True}
    assert server.url not in json.loads(credentials.read_text())
    # the refresh token's family is revoked on the server
    refused = httpx.post(f"{server.url}/api/v1/auth/refresh", json={"refresh_token": stored["refresh_token"]})
    assert refused.status_code == 401
    code, _, err = run_taskly("whoami")
    assert code == 4 and "not logged in" in err
    assert run_taskly("logout").code == 4


def test_logout_ends_the_access_token_at_once(server) -> None:
    """Not only the refresh token: the access token of the login stops working too (within ~1 s)."""
    cli_login(server.url)
    stored = json.loads((home() / "config" / "credentials.json").read_text())[server.url]
    headers = {"Authorization": f"Bearer {stored['access_token']}"}
    assert httpx.get(f"{server.url}/api/v1/me", headers=headers).status_code == 200
    ok("logout")
    deadline = time.monotonic() + 3
    while (refused := httpx.get(f"{server.url}/api/v1/me", headers=headers)).status_code == 200:
        assert time.monotonic() < deadline, "the access token still works after logout"
        time.sleep(0.05)
    assert refused.status_code == 401 and refused.json()["code"] == "unauthenticated"


def test_api_token_login_list_and_revoke(server, tmp_path: Path) -> None:
    owner = cli_login(server.url)
    created = ok("token", "create", "ci", "--json").json()
    assert created["name"] == "ci" and created["token"]
    plain = ok("token", "create", "hooks")
    secret = plain.stdout.strip()
    assert secret and "not shown again" in plain.stderr and secret not in plain.stderr

    other = {"TASKLY_HOME": str(tmp_path / "ci-home")}
    logged = ok("login", "--server", server.url, "--with-token", "--json", input=created["token"] + "\n", env=other)
    assert logged.json()["username"] == owner
    assert ok("whoami", "--json", env=other).json()["username"] == owner

    tokens = ok("token", "ls", "--json").json()
    assert {t["name"] for t in tokens} == {"ci", "hooks"} and all("token" not in t for t in tokens)
    assert ok("token", "ls").stdout.count("active") == 2

    revoked = ok("token", "revoke", "ci", "--json").json()
    assert revoked["id"] == created["id"] and revoked["revoked_at"]
    hooks_id = next(t["id"] for t in tokens if t["name"] == "hooks")
    assert ok("token", "revoke", hooks_id, "--json").json()["name"] == "hooks"
    code, _, err = run_taskly("token", "revoke", "nope")
    assert code == 3 and "no active token" in err
    # the revoked token no longer works: not logged in
    assert run_taskly("whoami", env=other).code == 4


def test_taskly_token_from_the_environment(server) -> None:
    owner = cli_login(server.url)
    secret = ok("token", "create", "env").stdout.strip()
    env = {"TASKLY_HOME": str(home() / "elsewhere"), "TASKLY_TOKEN": secret, "TASKLY_SERVER": server.url}
    who = ok("whoami", "--json", env=env).json()
    assert who["username"] == owner and who["token"] == "TASKLY_TOKEN"
    assert ok("workspace", "create", unique("ws"), "--json", env=env).json()["role"] == "owner"
    bad = {**env, "TASKLY_TOKEN": "tsk_not-a-real-token"}
    code, _, err = run_taskly("whoami", env=bad)
    assert code == 4, err


def test_login_usage_and_offline_errors(server) -> None:
    assert run_taskly("login", "--dev", "x").code == 2  # no server anywhere
    # neither --dev nor --with-token: GitHub's device flow, which this server has not configured
    code, _, err = run_taskly("login", "--server", server.url, "--no-browser")
    assert code == 1 and "GitHub sign-in is not configured" in err and "--with-token" in err
    assert run_taskly("login", "--server", server.url, "--dev", "x", "--with-token").code == 2
    code, _, err = run_taskly("login", "--server", server.url, "--with-token", input="")
    assert code == 2 and "stdin" in err
    code, _, err = run_taskly("login", "--server", "http://127.0.0.1:9", "--dev", unique())
    assert code == 6 and "offline" in err
    code, _, _ = run_taskly("login", "--server", server.url, "--dev", "not a valid name!")
    assert code == 1
    code, _, err = run_taskly("whoami", "--server", server.url)
    assert code == 4 and "taskly login" in err
