"""A Taskly server and a separate `taskly-server worker` wired to a fake GitHub, for the GitHub tests.

    stack = GitHubStack.start(tmp, database_url, fake)      # redis_url=... for the Redis queue
    alice = stack.github_login("alice")                     # the device flow, end to end
    stack.wait_job(alice, job_id)
    stack.worker.kill(); stack.start_worker()               # a worker dies, another takes over
    stack.stop()
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.api import Api
from tests.support.fake_github import FakeGitHub
from tests.support.fake_github_process import FakeGitHubProcess
from tests.support.processes import (
    ServerProcess,
    WorkerProcess,
    free_port,
    start_server,
    start_worker,
    stop_all,
)
from tests.support.services import create_database, drop_database

SECRET = "github-tests-secret-0123456789abcdef"
DONE = ("complete", "failed", "aborted")


@pytest.fixture(scope="module")
def github_database() -> Iterator[str]:
    """The module's own database (see own_database)."""
    with own_database() as url:
        yield url


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGitHub]:
    """The module's fake GitHub; a bug inside the fake fails the module."""
    with FakeGitHub(tmp_path_factory.mktemp("fake-github")) as fake:
        yield fake
    assert not fake.errors, "fake GitHub raised:\n" + "\n".join(fake.errors)


@contextlib.contextmanager
def own_database() -> Iterator[str]:
    """A fresh database for one fake GitHub: its account ids start at 1001 like every fake's, and
    Taskly keys users by GitHub id."""
    name, url = create_database("taskly_github")
    try:
        yield url
    finally:
        drop_database(name)


@dataclass
class GitHubStack:
    fake: FakeGitHub | FakeGitHubProcess
    server: ServerProcess
    env: dict[str, str]
    log_dir: Path
    client_id: str
    workers: list[WorkerProcess] = field(default_factory=list)

    @classmethod
    def start(cls, log_dir: Path, database_url: str, fake: FakeGitHub | FakeGitHubProcess, *, redis_url: str | None = None,
              worker: bool = True, extra_env: dict[str, str] | None = None) -> GitHubStack:
        app = fake.add_oauth_app(device_interval=0)
        port = free_port()
        env = {
            "TASKLY_DATABASE_URL": database_url, "TASKLY_SECRET_KEY": SECRET, "TASKLY_DEV_LOGIN": "1",
            "TASKLY_QUEUE_NAME": f"gh-{uuid.uuid4().hex[:10]}", "TASKLY_WORKER_IN_PROCESS": "false",
            "TASKLY_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "TASKLY_GITHUB_API_URL": fake.api_url, "TASKLY_GITHUB_OAUTH_URL": fake.url,
            "TASKLY_GITHUB_CLIENT_ID": app.client_id, "TASKLY_GITHUB_CLIENT_SECRET": app.client_secret,
            **(extra_env or {}),
        }
        if redis_url:
            env["TASKLY_REDIS_URL"] = redis_url
        server = start_server(env, log_dir, port=port)
        stack = cls(fake, server, env, log_dir, app.client_id)
        if worker:
            try:
                stack.start_worker()
            except BaseException:
                server.stop()
                raise
        return stack

    @property
    def url(self) -> str:
        return self.server.url

    def start_worker(self, prefix: tuple[str, ...] = ()) -> WorkerProcess:
        """A `taskly-server worker` process on the stack's queue (never Redis unless the stack
        says); `prefix` runs it under another command (a profiler, say)."""
        env = {"TASKLY_REDIS_URL": None, **self.env}  # the developer's Redis only when asked for
        worker = start_worker(env, self.log_dir / f"worker-{len(self.workers)}.log", prefix)
        self.workers.append(worker)
        return worker

    @property
    def worker(self) -> WorkerProcess:
        return self.workers[-1]

    def stop(self) -> None:
        stop_all([*self.workers, self.server])

    # --- helpers ------------------------------------------------------------------------------

    def github_login(self, login: str, **user: Any) -> Api:
        """`login` signs in through the device flow (created on the fake GitHub first if needed)."""
        if not self.fake.has_user(login):
            self.fake.add_user(login, **user)
        start = httpx.post(f"{self.url}/api/v1/auth/github/device", timeout=30)
        assert start.status_code == 200, start.text
        self.fake.approve_device(start.json()["user_code"], login)
        poll = httpx.post(f"{self.url}/api/v1/auth/github/device/poll",
                          json={"device_code": start.json()["device_code"]}, timeout=30)
        assert poll.status_code == 200, poll.text
        body = poll.json()
        api = Api(self.url, body["access_token"], body["user"])
        api.refresh_token = body["refresh_token"]
        return api

    def wait_job(self, api: Api, job_id: str, timeout: float = 30) -> dict[str, Any]:
        """The job once it is complete, failed or aborted."""
        deadline = time.monotonic() + timeout
        while True:
            job = api.ok("GET", f"/jobs/{job_id}")
            if job["status"] in DONE:
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s: {job}\n"
                                     f"{self.worker.log()[-3000:]}")
            time.sleep(0.05)

    def connect(self, api: Api, workspace_id: str, full_name: str, board_id: str | None = None) -> dict:
        """Connect a repository and wait for the job; its result."""
        body = {"full_name": full_name, **({"board_id": board_id} if board_id else {})}
        accepted = api.ok("POST", f"/workspaces/{workspace_id}/repositories", json=body)
        job = self.wait_job(api, accepted["job_id"])
        assert job["status"] == "complete", job
        return job["result"]
