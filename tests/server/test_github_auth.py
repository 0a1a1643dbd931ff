"""Signing in with GitHub through the server: the device flow (`taskly login`) and the browser
flow, against a real server process and the fake GitHub."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from sqlalchemy import select
from taskly_server.db.models import User
from taskly_server.db.session import create_engine, create_sessionmaker
from taskly_server.domain.auth.tokens import signing_key
from taskly_server.integrations.github.crypto import (
    SecretBox,
    UndecryptableSecret,
    user_token_context,
)

from tests.support.api import Api
from tests.support.checks import problem
from tests.support.fake_github import FakeGitHub
from tests.support.github_stack import SECRET, GitHubStack
from tests.support.processes import ServerProcess

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def stack(fake: FakeGitHub, github_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHubStack]:
    stack = GitHubStack.start(tmp_path_factory.mktemp("github-auth"), github_database, fake, worker=False)
    yield stack
    stack.stop()


@pytest.fixture(autouse=True)
def _clean_faults(fake: FakeGitHub) -> Iterator[None]:
    yield
    fake.reset_faults()


def start_device(stack: GitHubStack) -> dict:
    response = httpx.post(f"{stack.url}/api/v1/auth/github/device", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def poll(stack: GitHubStack, device_code: str) -> httpx.Response:
    return httpx.post(f"{stack.url}/api/v1/auth/github/device/poll", json={"device_code": device_code},
                      timeout=30)


async def stored_token(database_url: str, user_id: str) -> tuple[int | None, bytes | None]:
    engine = create_engine(database_url, pool_size=1)
    async with create_sessionmaker(engine)() as db:
        row = (await db.execute(select(User.github_id, User.github_token_encrypted)
                                .where(User.id == user_id))).one()
    await engine.dispose()
    return row.github_id, row.github_token_encrypted


# --- the device flow -----------------------------------------------------------------------------


def test_device_flow_signs_in_and_stores_the_token_encrypted(stack: GitHubStack, fake: FakeGitHub,
                                                             github_database: str) -> None:
    gh = fake.add_user("octo-alice", name="Alice Liddell", email="alice@example.com")
    fake.clear_requests()
    device = start_device(stack)
    assert set(device) == {"device_code", "user_code", "verification_uri", "expires_in", "interval"}
    assert device["verification_uri"] == f"{fake.url}/login/device"
    asked = next(r for r in fake.requests if r.path == "/login/device/code")
    assert set(asked.json["scope"].split()) == {"repo", "read:user", "user:email", "admin:repo_hook"}

    problem(poll(stack, device["device_code"]), 428, "authorization_pending")
    fake.approve_device(device["user_code"], "octo-alice")
    answer = poll(stack, device["device_code"])
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert tokens["token_type"] == "bearer" and tokens["refresh_token"]
    assert tokens["user"]["username"] == "octo-alice"
    assert tokens["user"]["name"] == "Alice Liddell" and tokens["user"]["email"] == "alice@example.com"
    me = Api(stack.url, tokens["access_token"]).ok("GET", "/me")
    assert me["id"] == tokens["user"]["id"]

    github_id, sealed = asyncio.run(stored_token(github_database, tokens["user"]["id"]))
    assert github_id == gh.id
    issued = [t for t, info in fake.tokens.items() if info.login == "octo-alice" and t != gh.token]
    assert len(issued) == 1 and issued[0].encode() not in sealed
    box = SecretBox(SECRET)
    assert box.decrypt(sealed, user_token_context(me["id"])) == issued[0]
    assert set(fake.tokens[issued[0]].scopes) >= {"repo", "admin:repo_hook"}

    problem(poll(stack, device["device_code"]), 400, "bad_device_code")  # a device code works once


def test_device_flow_slow_down_gives_the_new_interval(stack: GitHubStack, fake: FakeGitHub) -> None:
    device = start_device(stack)
    with fake.lock:
        fake.devices[device["device_code"]].interval = 5  # as if GitHub asked for 5 s
    problem(poll(stack, device["device_code"]), 428, "authorization_pending")
    slow = poll(stack, device["device_code"])
    body = problem(slow, 428, "slow_down")
    assert body["interval"] == 10
    assert slow.headers["retry-after"] == "10"


def test_device_flow_denied_expired_and_unknown(stack: GitHubStack, fake: FakeGitHub) -> None:
    denied = start_device(stack)
    fake.deny_device(denied["user_code"])
    problem(poll(stack, denied["device_code"]), 403, "access_denied")
    expired = start_device(stack)
    fake.expire_device(expired["user_code"])
    problem(poll(stack, expired["device_code"]), 410, "expired_token")
    problem(poll(stack, "no-such-device-code"), 400, "bad_device_code")
    problem(httpx.post(f"{stack.url}/api/v1/auth/github/device/poll", json={}, timeout=30), 400,
            "validation_error")


def test_github_down_answers_502(stack: GitHubStack, fake: FakeGitHub) -> None:
    fake.fail_next("POST", r"^/login/device/code$", 502)
    problem(httpx.post(f"{stack.url}/api/v1/auth/github/device", timeout=30), 502, "github_unavailable")
    device = start_device(stack)  # the next one works again
    fake.approve_device(device["user_code"], fake.add_user("octo-down").login)
    fake.fail_next("GET", r"^/user$", 503)
    problem(poll(stack, device["device_code"]), 502, "github_unavailable")


def test_same_github_user_again_and_a_dev_login_namesake(stack: GitHubStack) -> None:
    first = stack.github_login("octo-bob")
    again = stack.github_login("octo-bob")
    assert again.user["id"] == first.user["id"]
    dev = Api.login(stack.url, "octo-carol")  # signed in by name before GitHub sign-in existed
    linked = stack.github_login("octo-carol")
    assert linked.user["id"] == dev.user["id"] and linked.username == "octo-carol"


def test_not_configured_answers_503(server: ServerProcess) -> None:
    """The session server has no GitHub OAuth app configured."""
    problem(httpx.post(f"{server.url}/api/v1/auth/github/device", timeout=30), 503, "github_not_configured")
    problem(httpx.get(f"{server.url}/api/v1/auth/github/login", timeout=30), 503, "github_not_configured")


# --- the browser flow ----------------------------------------------------------------------------


def browser_login(stack: GitHubStack, fake: FakeGitHub, login: str, client: httpx.Client) -> httpx.Response:
    """GET /login, GitHub's consent page (signed in as `login`), back to the callback URL."""
    fake.web_login(login)
    to_github = client.get(f"{stack.url}/api/v1/auth/github/login")
    assert to_github.status_code == 302, to_github.text
    back = client.get(to_github.headers["location"])
    assert back.status_code == 302, back.text
    return back


def test_browser_flow_with_state_check(stack: GitHubStack, fake: FakeGitHub) -> None:
    fake.add_user("octo-dana")
    with httpx.Client(timeout=30) as browser:
        to_github = browser.get(f"{stack.url}/api/v1/auth/github/login")
        assert to_github.status_code == 302
        location = urlsplit(to_github.headers["location"])
        query = parse_qs(location.query)
        assert f"{location.scheme}://{location.netloc}{location.path}" == f"{fake.url}/login/oauth/authorize"
        assert query["client_id"] == [stack.client_id]
        assert query["redirect_uri"] == [f"{stack.url}/api/v1/auth/github/callback"]
        assert set(query["scope"][0].split()) == {"repo", "read:user", "user:email", "admin:repo_hook"}
        fake.web_login("octo-dana")
        back = browser.get(to_github.headers["location"])
        callback = back.headers["location"]
        assert callback.startswith(f"{stack.url}/api/v1/auth/github/callback?")
        signed_in = browser.get(callback)
        assert signed_in.status_code == 200, signed_in.text
        assert signed_in.json()["user"]["username"] == "octo-dana"
        Api(stack.url, signed_in.json()["access_token"]).ok("GET", "/me")
        problem(browser.get(callback), 400, "invalid_state")  # its cookie is spent


def test_browser_flow_refuses_a_bad_state(stack: GitHubStack, fake: FakeGitHub) -> None:
    fake.add_user("octo-eve")
    with httpx.Client(timeout=30) as browser:
        back = browser_login(stack, fake, "octo-eve", browser)
        url = urlsplit(back.headers["location"])
        query = parse_qs(url.query)
        code, state = query["code"][0], query["state"][0]
        callback = f"{stack.url}/api/v1/auth/github/callback"
        problem(browser.get(callback, params={"code": code, "state": state[:-2] + "xx"}), 400, "invalid_state")
        problem(browser.get(callback, params={"code": code}), 400, "invalid_state")
        now = int(time.time())
        nonce = jwt.decode(state, options={"verify_signature": False})["nonce"]
        expired = jwt.encode({"typ": "github_state", "nonce": nonce, "iat": now - 700, "exp": now - 100},
                             signing_key(SECRET, "github-state"), algorithm="HS256")
        problem(browser.get(callback, params={"code": code, "state": expired}), 400, "invalid_state")
        forged = jwt.encode({"typ": "github_state", "nonce": nonce, "iat": now, "exp": now + 100},
                            b"not-the-server-key-but-long-enough-for-hs256", algorithm="HS256")
        problem(browser.get(callback, params={"code": code, "state": forged}), 400, "invalid_state")
    with httpx.Client(timeout=30) as other_browser:  # a valid state without its cookie
        problem(other_browser.get(callback, params={"code": code, "state": state}), 400, "invalid_state")
    with httpx.Client(timeout=30) as browser:  # the user said no on GitHub
        fake.web_login("octo-eve", approve=False)
        to_github = browser.get(f"{stack.url}/api/v1/auth/github/login")
        refused = browser.get(to_github.headers["location"])
        problem(browser.get(refused.headers["location"]), 403, "access_denied")


def test_secret_box_binds_each_secret_to_its_row_and_key() -> None:
    """SecretBox binds a ciphertext to its row and refuses another key."""
    box = SecretBox(SECRET)
    sealed = box.encrypt("gho_secret", "user-token:1")
    assert b"gho_secret" not in sealed
    assert box.decrypt(sealed, "user-token:1") == "gho_secret"
    with pytest.raises(UndecryptableSecret):
        box.decrypt(sealed, "user-token:2")
    with pytest.raises(UndecryptableSecret):
        SecretBox("another-secret-key-0123456789").decrypt(sealed, "user-token:1")
