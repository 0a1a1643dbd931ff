"""The fake GitHub as a separate process, and the handle tests use to drive it over HTTP.

    fake = FakeGitHubProcess.start(tmp_path / "github")
    alice = fake.add_user("alice")          # same methods as FakeGitHub, sent to /_fake/call
    ...
    fake.stop()

The control endpoint (`POST /_fake/call {"method", "args", "kwargs"}`) only exists for this; it is
never logged in `requests` and never counted against rate limits.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from werkzeug.wrappers import Request, Response

from tests.support.fake_github_hooks import Delivery
from tests.support.fake_github_state import FakeOAuthApp, FakeRepo, FakeUser, LoggedRequest

if TYPE_CHECKING:
    from tests.support.fake_github import FakeGitHub

ROOT = Path(__file__).resolve().parents[2]
RESULT_TYPES = {cls.__name__: cls for cls in (FakeUser, FakeRepo, FakeOAuthApp, LoggedRequest, Delivery)}
CONTROL_METHODS = {
    "add_user", "has_user", "add_token", "revoke_token", "add_repo", "grant", "revoke", "repo_info", "commit",
    "branch_sha", "refs", "add_pull", "update_pull", "pull_json", "add_review", "add_status",
    "add_check_run", "hooks", "deliver", "add_oauth_app", "approve_device", "deny_device",
    "expire_device", "web_login", "fail_next", "rate_limit", "secondary_rate_limit", "latency",
    "reset_faults", "clear_requests",
}
ATTRIBUTES = {"requests", "deliveries", "errors"}
READY = "fake-github listening on "


def encode(value: Any) -> Any:
    if isinstance(value, LoggedRequest):
        return {"__type__": "LoggedRequest", **value._asdict()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__type__": type(value).__name__, **dataclasses.asdict(value)}
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict) and "__type__" in value:
        fields = {key: item for key, item in value.items() if key != "__type__"}
        return RESULT_TYPES[value["__type__"]](**fields)
    if isinstance(value, list):
        return [decode(item) for item in value]
    return value


def control(fake: FakeGitHub, request: Request) -> Response:
    """Runs one allow-listed FakeGitHub method (or reads an attribute) for a remote handle."""
    if request.path != "/_fake/call" or request.method != "POST":
        return Response("not found", 404)
    order = json.loads(request.get_data(as_text=True))
    name = order.get("method")
    try:
        if name in ATTRIBUTES:
            result = getattr(fake, name)
        elif name in CONTROL_METHODS:
            result = getattr(fake, name)(*order.get("args", []), **order.get("kwargs", {}))
        else:
            return Response(json.dumps({"error": f"unknown method {name}"}), 400, content_type="application/json")
    except Exception as error:  # reported to the remote caller, like a local call would raise
        body = {"error": f"{type(error).__name__}: {error}"}
        return Response(json.dumps(body), 400, content_type="application/json")
    return Response(json.dumps({"result": encode(result)}), 200, content_type="application/json")


class FakeGitHubProcess:
    """A `python -m tests.support.fake_github` subprocess with FakeGitHub's methods, over HTTP."""

    def __init__(self, process: subprocess.Popen, url: str, log_path: Path):
        self.process = process
        self.url = url
        self.api_url = f"{url}/api/v3"
        self.log_path = log_path
        self.http = httpx.Client(timeout=30)

    @classmethod
    def start(cls, root: Path, port: int = 0, args: tuple[str, ...] = (), timeout: float = 15) -> FakeGitHubProcess:
        root.mkdir(parents=True, exist_ok=True)
        log_path = root / "fake-github.log"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.support.fake_github", "--port", str(port), "--root", str(root), *args],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = log_path.read_text(errors="replace")
            if READY in text:
                url = text.split(READY, 1)[1].split()[0]
                return cls(process, url, log_path)
            if process.poll() is not None:
                raise RuntimeError(f"fake GitHub exited with {process.returncode}:\n{text}")
            time.sleep(0.02)
        process.kill()
        process.wait()
        raise RuntimeError(f"fake GitHub did not start:\n{log_path.read_text(errors='replace')}")

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        response = self.http.post(f"{self.url}/_fake/call", json={"method": method, "args": args, "kwargs": kwargs})
        if response.status_code != 200:
            raise RuntimeError(f"fake GitHub {method}: {response.text}")
        return decode(response.json()["result"])

    def __getattr__(self, name: str) -> Any:
        if name in CONTROL_METHODS:
            return partial(self.call, name)
        if name in ATTRIBUTES:
            return self.call(name)
        raise AttributeError(name)

    def stop(self, timeout: float = 10) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> FakeGitHubProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    from tests.support.fake_github import FakeGitHub

    parser = argparse.ArgumentParser(prog="python -m tests.support.fake_github", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on start)")
    parser.add_argument("--root", type=Path, required=True, help="directory for the bare repositories")
    parser.add_argument("--user", action="append", default=[], metavar="LOGIN[:TOKEN]")
    parser.add_argument("--repo", action="append", default=[], metavar="OWNER/NAME[:COLLABORATOR,...]",
                        help="a private repository; the listed users get admin on it")
    parser.add_argument("--oauth-app", action="append", default=[], metavar="CLIENT_ID:SECRET")
    options = parser.parse_args(argv)

    fake = FakeGitHub(options.root, host=options.host, port=options.port)
    for spec in options.user:
        login, _, token = spec.partition(":")
        user = fake.add_user(login, token=token or None)
        print(f"user {user.login} token {user.token}", flush=True)
    for spec in options.repo:
        full_name, _, admins = spec.partition(":")
        repo = fake.add_repo(full_name, collaborators={login: "admin" for login in admins.split(",") if login})
        print(f"repo {repo.full_name} {repo.clone_url}", flush=True)
    for spec in options.oauth_app:
        client_id, _, secret = spec.partition(":")
        fake.add_oauth_app(client_id, secret or None, device_interval=1)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    fake.start()
    print(f"{READY}{fake.url} api {fake.api_url}", flush=True)
    stopped.wait()
    fake.stop()
