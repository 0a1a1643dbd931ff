"""What the CLI's GitHub tests share: a server, a worker and the fake GitHub (tests/support/
github_stack.py), a user signed in to the CLI with GitHub, a connected repository and real git
clones of the fake's bare repositories.

    @pytest.fixture(scope="module")
    def stack(...): ...                          # see the fixtures below, imported by each module
    world = World.create(stack, tmp_path)        # signed in, workspace + board WEB, repo connected
    world.taskly("start", "WEB-1")               # runs in world.clone
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cli.support import CliResult, ok, run_taskly
from tests.support.api import Api
from tests.support.fake_github import FakeGitHub
from tests.support.github_stack import GitHubStack

GIT_ENV = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com", "GIT_COMMITTER_NAME": "Test",
           "GIT_COMMITTER_EMAIL": "test@example.com", "GIT_CONFIG_NOSYSTEM": "1"}


# --- fixtures (import them into a test module) ---------------------------------------------------


@pytest.fixture(scope="module")
def stack(fake: FakeGitHub, github_database: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHubStack]:
    stack = GitHubStack.start(tmp_path_factory.mktemp("cli-github"), github_database, fake)
    yield stack
    stack.stop()


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Commits need an author; the developer's git config stays out."""
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.gitconfig of the machine


# --- git -----------------------------------------------------------------------------------------


def git(*args: str, cwd: Path | str, check: bool = True) -> str:
    completed = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                               env={**os.environ, **GIT_ENV})
    if check and completed.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} -> {completed.returncode}: {completed.stderr}")
    return completed.stdout.strip()


def clone(url: str, target: Path) -> Path:
    git("clone", "--quiet", url, str(target), cwd=target.parent)
    return target


def head_branch(repo: Path) -> str:
    return git("rev-parse", "--abbrev-ref", "HEAD", cwd=repo)


def upstream_of(repo: Path, branch: str) -> str | None:
    out = git("rev-parse", "--abbrev-ref", "--symbolic-full-name", f"{branch}@{{upstream}}", cwd=repo,
              check=False)
    return out or None


def ls_remote(url: str) -> dict[str, str]:
    out = git("ls-remote", url, cwd=Path.cwd())
    return {ref: sha for sha, ref in (line.split("\t") for line in out.splitlines())}


def no_traceback(result: CliResult) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr


# --- a signed-in user with a connected repository ----------------------------------------------


def github_user(stack: GitHubStack, prefix: str = "octo") -> tuple[Api, str]:
    """A user signed in with GitHub (through the server) and an API token for the CLI."""
    api = stack.github_login(f"{prefix}-{uuid.uuid4().hex[:8]}")
    token = api.ok("POST", "/tokens", json={"name": "cli"})["token"]
    return api, token


def cli_token_login(server_url: str, token: str, env: dict[str, str | None] | None = None) -> None:
    ok("login", "--server", server_url, "--with-token", input=token + "\n", env=env)


@dataclass
class World:
    stack: GitHubStack
    api: Api
    token: str
    full_name: str
    clone_url: str
    clone: Path
    workspace_id: str

    @classmethod
    def create(cls, stack: GitHubStack, tmp_path: Path, *, server_url: str | None = None,
               key: str = "WEB", connect: bool = True) -> World:
        """A GitHub user logged in to the CLI, a workspace with board `key`, a repository on the fake
        (admin) connected to it, and a clone of it in tmp_path/clone."""
        api, token = github_user(stack)
        url = server_url or stack.url
        full_name = f"acme-{uuid.uuid4().hex[:8]}/web"
        repo = stack.fake.add_repo(full_name, collaborators={api.username: "admin"})
        cli_token_login(url, token)
        ok("workspace", "create", f"ws-{uuid.uuid4().hex[:6]}")
        ok("board", "create", "Web", "--key", key)
        workspace_id = ok("workspace", "ls", "--json").json()[0]["id"]
        if connect:
            ok("repo", "connect", full_name)
        target = clone(repo.clone_url, tmp_path / "clone")
        return cls(stack, api, token, full_name, repo.clone_url, target, workspace_id)

    def taskly(self, *args: str, cwd: Path | None = None, **kwargs: Any) -> CliResult:
        return run_taskly(*args, cwd=cwd or self.clone, **kwargs)

    def ok(self, *args: str, cwd: Path | None = None, **kwargs: Any) -> CliResult:
        return ok(*args, cwd=cwd or self.clone, **kwargs)

    def card(self, ref: str) -> dict[str, Any]:
        return self.api.ok("GET", f"/cards/{ref}")

    def add(self, title: str) -> dict[str, Any]:
        return self.ok("add", title, "--json").json()


def wait_for(check, timeout: float = 10, interval: float = 0.05) -> Any:
    """`check()`'s first truthy value within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        time.sleep(interval)
