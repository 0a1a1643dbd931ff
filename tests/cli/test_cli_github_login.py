"""`taskly login --server URL` with GitHub: the device flow brokered by the server, with the real CLI
as a subprocess, a real server and the fake GitHub (code shown, browser opened or not, polling that
respects `interval` and `slow_down`, denial and expiry)."""

from __future__ import annotations

import json
import stat
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.support import TASKLY, ok, run_taskly, taskly_env
from tests.support.fake_github import FakeGitHub
from tests.support.github_stack import GitHubStack

pytestmark = pytest.mark.timeout(120)
TOKEN_PATH = "/login/oauth/access_token"


@pytest.fixture(scope="module")
def stack(fake: FakeGitHub, github_database: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHubStack]:
    stack = GitHubStack.start(tmp_path_factory.mktemp("cli-login"), github_database, fake, worker=False)
    yield stack
    stack.stop()


class LoginProcess:
    """`taskly login …` running; its stderr read as it comes (the code is printed before it waits)."""

    def __init__(self, *args: str, env: dict[str, str | None] | None = None) -> None:
        self.process = subprocess.Popen([str(TASKLY), "login", *args], env=taskly_env(env),
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def user_code(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                if "one-time code: " in line:
                    return line.rsplit(" ", 1)[1]
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.02)
        raise AssertionError(f"no code shown:\n{self.stderr}")

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        stdout = self.process.stdout.read()
        self.process.wait(timeout)
        self._reader.join(5)
        return self.process.returncode, stdout


def token_polls(fake: FakeGitHub) -> int:
    return sum(1 for request in list(fake.requests) if request.path == TOKEN_PATH)


def recorder(tmp_path: Path) -> tuple[str, Path]:
    """A BROWSER command that writes the URL it is given to a file."""
    seen = tmp_path / "browser-opened"
    script = tmp_path / "browser.sh"
    script.write_text(f'#!/bin/sh\necho "$1" >> {seen}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return f"{script} %s", seen


def test_device_flow_signs_in_and_stores_the_login(stack: GitHubStack, fake: FakeGitHub, tmp_path: Path) -> None:
    login = f"octo-{uuid.uuid4().hex[:8]}"
    fake.add_user(login, name="Octo Cat")
    running = LoginProcess("--server", stack.url, "--no-browser", "--json")
    code = running.user_code()
    assert f"Then open {fake.url}/login/device in your browser" in running.stderr
    time.sleep(0.6)  # a poll or two while the user types the code
    fake.approve_device(code, login)
    status, stdout = running.finish()
    assert status == 0, running.stderr
    assert f"Logged in to {stack.url} as {login}" in running.stderr
    user = json.loads(stdout)
    assert user["username"] == login and user["name"] == "Octo Cat"
    me = ok("whoami", "--json").json()
    assert me["username"] == login and me["user"]["username"] == login
    stored = next((tmp_path / "home").rglob("credentials.json"))
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600 and login in stored.read_text()
    # the stored tokens work for the commands that need GitHub (this server has no worker: queued)
    ok("workspace", "create", "GitHub users")


def test_browser_opened_unless_no_browser_and_a_denial(stack: GitHubStack, fake: FakeGitHub, tmp_path: Path) -> None:
    login = f"octo-{uuid.uuid4().hex[:8]}"
    fake.add_user(login)
    browser, seen = recorder(tmp_path)
    env = {"DISPLAY": ":99", "BROWSER": browser}
    opened = LoginProcess("--server", stack.url, env=env)
    fake.approve_device(opened.user_code(), login)
    status, _ = opened.finish()
    assert status == 0, opened.stderr
    assert seen.read_text().split() == [f"{fake.url}/login/device"]
    assert "in your browser: enter the code there" in opened.stderr

    denied = LoginProcess("--server", stack.url, "--no-browser", env=env)
    fake.deny_device(denied.user_code())
    status, stdout = denied.finish()
    assert status == 4 and "cancelled on GitHub" in denied.stderr and stdout == ""
    assert "Traceback" not in denied.stderr
    assert seen.read_text().split() == [f"{fake.url}/login/device"]  # not opened the second time
    assert ok("whoami", "--json").json()["username"] == login  # the earlier login stays


def test_polling_respects_slow_down_and_stops_at_expiry(stack: GitHubStack, fake: FakeGitHub) -> None:
    login = f"octo-{uuid.uuid4().hex[:8]}"
    fake.add_user(login)
    running = LoginProcess("--server", stack.url, "--no-browser")
    code = running.user_code()
    with fake.lock:
        grant = next(g for g in fake.devices.values() if g.user_code == code)
        grant.interval = 2  # GitHub now wants 2 s between polls: the next poll is too fast
    deadline = time.monotonic() + 10
    while grant.interval == 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert grant.interval == 7, "no slow_down happened"  # GitHub adds 5 s
    slowed_at, polls = time.monotonic(), token_polls(fake)
    time.sleep(3)
    assert token_polls(fake) == polls  # the CLI waits the new interval
    fake.approve_device(code, login)
    status, _ = running.finish()
    assert status == 0, running.stderr
    assert time.monotonic() - slowed_at >= 6.5
    assert token_polls(fake) == polls + 1

    expiring = LoginProcess("--server", stack.url, "--no-browser")
    fake.expire_device(expiring.user_code())
    status, _ = expiring.finish()
    assert status == 1 and "expired" in expiring.stderr and "taskly login" in expiring.stderr

    fake.fail_next("POST", r"^/login/device/code$", 502)
    down = run_taskly("login", "--server", stack.url, "--no-browser")
    assert down.code == 1 and "GitHub answered 502" in down.stderr and "Traceback" not in down.stderr
