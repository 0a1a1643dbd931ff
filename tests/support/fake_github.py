"""A fake GitHub on loopback for Taskly's tests: GitHub's REST shapes, status codes, headers and errors.

One HTTP server answers both hosts GitHub has: the REST API under `fake.api_url` (`/api/v3`, the
GitHub Enterprise layout PyGithub expects for a custom `base_url`) and the web/OAuth endpoints under
`fake.url` (`/login/device/code`, `/login/oauth/access_token`, `/login/oauth/authorize`).
Repositories are real bare git repositories under `root`: refs created through the API can be
fetched with `git`, and commits pushed to them show up in the API.

    with FakeGitHub(tmp_path / "github") as fake:
        alice = fake.add_user("alice")
        repo = fake.add_repo("acme/web", collaborators={"alice": "admin"})
        gh = Github(base_url=fake.api_url, auth=Auth.Token(alice.token), retry=None,
                    seconds_between_requests=None, seconds_between_writes=None)

Run it on its own with `python -m tests.support.fake_github --port N --root DIR`
(see tests/support/fake_github_process.py for the handle tests use to drive that process).
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from werkzeug.http import HTTP_STATUS_CODES

from tests.support.fake_github_git import BareRepo
from tests.support.fake_github_hooks import Delivery, HookSender
from tests.support.fake_github_http import API_PREFIX, SERVER_ERRORS, Dispatcher, HttpServer
from tests.support.fake_github_oauth import OAuth
from tests.support.fake_github_rest import RestApi
from tests.support.fake_github_shapes import Shapes
from tests.support.fake_github_state import (
    DEFAULT_SCOPES,
    LEVELS,
    RATE_LIMIT,
    CheckRun,
    DeviceGrant,
    FakeOAuthApp,
    FakeRepo,
    FakeUser,
    Fault,
    LoggedRequest,
    OAuthApp,
    Pull,
    RateWindow,
    Repo,
    Review,
    Status,
    Token,
    User,
    WebGrant,
    now_iso,
    random_token,
)

if TYPE_CHECKING:
    from tests.support.fake_github_process import FakeGitHubProcess


class FakeGitHub:
    """The fake; thread-safe, every public method may be called while the server runs."""

    def __init__(self, root: Path | str, *, host: str = "127.0.0.1", port: int = 0,
                 ping_hooks: bool = False):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.orgs: dict[str, tuple[str, int]] = {}
        self.tokens: dict[str, Token] = {}
        self.repos: dict[str, Repo] = {}
        self.apps: dict[str, OAuthApp] = {}
        self.devices: dict[str, DeviceGrant] = {}
        self.web_grants: dict[str, WebGrant] = {}
        self.browser: tuple[str, bool] | None = None
        self.windows: dict[str, RateWindow] = {}
        self.window_template: RateWindow | None = None
        self.faults: list[Fault] = []
        self.requests: list[LoggedRequest] = []
        self.errors: list[str] = []
        self.ping_hooks = ping_hooks
        self.max_per_page = 100
        """GitHub's cap on `per_page`; a test lowers it to page through a few items."""
        self._counters: dict[str, Iterator[int]] = {}
        self.dispatcher = Dispatcher(self)
        self._server = HttpServer(host, port, self.dispatcher.wsgi)
        self.url = f"http://{host}:{self._server.port}"
        self.api_url = self.url + API_PREFIX
        self.shapes = Shapes(self.url, self.api_url, self.account)
        self.rest = RestApi(self)
        self.oauth = OAuth(self)
        self.sender = HookSender(self)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
        self.sender.join()

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- users, tokens, repositories -------------------------------------------------------------

    def next_id(self, kind: str) -> int:
        starts = {"account": 1001, "repo": 200001, "pull": 3000001}
        counter = self._counters.setdefault(kind, itertools.count(starts.get(kind, 1)))
        return next(counter)

    def add_user(self, login: str, *, token: str | None = None, scopes: tuple[str, ...] = DEFAULT_SCOPES,
                 name: str | None = None, email: str | None = None) -> FakeUser:
        """A GitHub user with one OAuth token (`token`, or a random `gho_…`) carrying `scopes`."""
        with self.lock:
            if login.lower() in self.users or login.lower() in self.orgs:
                raise ValueError(f"{login} already exists")
            user = User(login, self.next_id("account"), name, email)
            self.users[login.lower()] = user
            return FakeUser(login, user.id, self.add_token(login, token, scopes))

    def add_token(self, login: str, token: str | None = None,
                  scopes: tuple[str, ...] = DEFAULT_SCOPES) -> str:
        with self.lock:
            user = self.users[login.lower()]
            value = token or random_token()
            self.tokens[value] = Token(value, user.login, tuple(scopes))
            return value

    def issue_token(self, login: str, scopes: tuple[str, ...]) -> str:
        return self.add_token(login, None, scopes)

    def revoke_token(self, token: str) -> None:
        with self.lock:
            self.tokens.pop(token, None)

    def add_repo(self, full_name: str, *, default_branch: str = "main", private: bool = True,
                 description: str | None = None, collaborators: dict[str, str] | None = None) -> FakeRepo:
        """A repository backed by a bare git repo with one commit on `default_branch`.

        The owner (when it is a user) has admin; `collaborators` maps logins to
        read | triage | write | maintain | admin. A private repository is invisible (404) to others.
        """
        owner, name = full_name.split("/")
        with self.lock:
            if full_name.lower() in self.repos:
                raise ValueError(f"{full_name} already exists")
            if owner.lower() not in self.users and owner.lower() not in self.orgs:
                self.orgs[owner.lower()] = (owner, self.next_id("account"))
            git = BareRepo.create(self.root / owner / f"{name}.git", default_branch)
            repo = Repo(self.next_id("repo"), owner, name, git, default_branch, private, description)
            self.repos[full_name.lower()] = repo
            for login, permission in (collaborators or {}).items():
                self.grant(full_name, login, permission)
            return self.repo_info(full_name)

    def grant(self, full_name: str, login: str, permission: str = "write") -> None:
        if permission not in LEVELS:
            raise ValueError(f"permission must be one of {LEVELS}")
        with self.lock:
            self._repo(full_name).collaborators[login.lower()] = permission

    def revoke(self, full_name: str, login: str) -> None:
        with self.lock:
            self._repo(full_name).collaborators.pop(login.lower(), None)

    def repo_info(self, full_name: str) -> FakeRepo:
        with self.lock:
            repo = self._repo(full_name)
            head = repo.git.ref_sha(f"refs/heads/{repo.default_branch}") or ""
            return FakeRepo(repo.full_name, repo.id, str(repo.git.path), repo.git.path.as_uri(),
                            repo.default_branch, head)

    def commit(self, full_name: str, branch: str, message: str = "Update",
               files: dict[str, str] | None = None, *, author: tuple[str, str] | None = None) -> str:
        """A new commit on an existing branch of the bare repository (as if someone pushed); its sha."""
        with self.lock:
            files = files or {f"change-{secrets.token_hex(4)}.txt": f"{message}\n"}
            return self._repo(full_name).git.commit(branch, message, files, author=author)

    def add_branch(self, full_name: str, branch: str, base: str | None = None) -> str:
        """A branch off `base` (default branch) with one commit of its own (as if pushed); its sha."""
        with self.lock:
            repo = self._repo(full_name)
            sha = repo.git.resolve(base or repo.default_branch)
            assert sha is not None and repo.git.create_ref(f"refs/heads/{branch}", sha), branch
        return self.commit(full_name, branch, f"Work on {branch}")

    def branch_sha(self, full_name: str, branch: str) -> str | None:
        with self.lock:
            return self._repo(full_name).git.ref_sha(f"refs/heads/{branch}")

    def refs(self, full_name: str) -> dict[str, str]:
        with self.lock:
            return self._repo(full_name).git.refs()

    # -- pull requests, reviews, CI --------------------------------------------------------------

    def add_pull(self, full_name: str, *, head: str, base: str | None = None, title: str = "Update",
                 body: str | None = None, user: str | None = None, draft: bool = False,
                 number: int | None = None, at: str | None = None) -> int:
        """An open pull request from `head` into `base` (default branch); its number. `at`
        (ISO 8601) is its created_at and updated_at instead of now."""
        with self.lock:
            repo = self._repo(full_name)
            login = self._login(user or repo.owner)
            number = number or max([0, *repo.pulls], default=0) + 1
            repo.pulls[number] = Pull(self.next_id("pull"), number, title, body, login, head,
                                      base or repo.default_branch, draft=draft)
            if at is not None:
                repo.pulls[number].created_at = repo.pulls[number].updated_at = at
            return number

    def update_pull(self, full_name: str, number: int, *, state: str | None = None,
                    merged: bool | None = None, draft: bool | None = None, title: str | None = None,
                    body: str | None = None, head_sha: str | None = None, merged_by: str | None = None,
                    updated_at: str | None = None, commits: int | None = None, additions: int | None = None,
                    deletions: int | None = None, mergeable: bool | None = None,
                    mergeable_state: str | None = None) -> dict[str, Any]:
        """Changes a pull request as GitHub would (merged implies closed); returns its API body.

        `updated_at` (ISO 8601, e.g. "2030-01-01T00:00:00Z") replaces "now", so tests can order
        events without sleeping over GitHub's one-second timestamp resolution."""
        with self.lock:
            repo = self._repo(full_name)
            pull = repo.pulls[number]
            for attribute, value in (("title", title), ("body", body), ("draft", draft), ("head_sha", head_sha),
                                     ("commits", commits), ("additions", additions), ("deletions", deletions),
                                     ("mergeable", mergeable), ("mergeable_state", mergeable_state)):
                if value is not None:
                    setattr(pull, attribute, value)
            if merged:
                pull.merged, state = True, "closed"
                pull.merged_at = updated_at or now_iso()  # GitHub stamps both at the merge
                pull.merged_by = self._login(merged_by or pull.login)
                pull.merge_commit_sha = self.pull_body(repo, pull)["head"]["sha"]
            if state is not None:
                pull.state = state
                pull.closed_at = now_iso() if state == "closed" else None
            pull.updated_at = updated_at or now_iso()
            return self.pull_body(repo, pull)

    def pull_json(self, full_name: str, number: int) -> dict[str, Any]:
        """The pull request exactly as GET /repos/{o}/{r}/pulls/{n} returns it (also for webhook payloads)."""
        with self.lock:
            repo = self._repo(full_name)
            return self.pull_body(repo, repo.pulls[number])

    def pull_body(self, repo: Repo, pull: Pull) -> dict[str, Any]:
        base_sha = repo.git.ref_sha(f"refs/heads/{pull.base}")
        head_sha = pull.head_sha or repo.git.ref_sha(f"refs/heads/{pull.head}") or base_sha
        return self.shapes.pull(repo, pull, head_sha, base_sha)

    def add_review(self, full_name: str, number: int, user: str, state: str = "APPROVED",
                   body: str = "") -> dict[str, Any]:
        """A submitted review: APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED."""
        with self.lock:
            repo = self._repo(full_name)
            pull = repo.pulls[number]
            sha = self.pull_body(repo, pull)["head"]["sha"]
            review = Review(self.next_id("review"), self._login(user), state, body, sha)
            pull.reviews.append(review)
            pull.updated_at = now_iso()
            return self.shapes.review(repo, pull, review)

    def add_status(self, full_name: str, ref: str, context: str, state: str,
                   description: str | None = None, target_url: str | None = None) -> None:
        """A commit status (error | failure | pending | success) on the commit `ref` names."""
        with self.lock:
            repo = self._repo(full_name)
            sha = repo.git.resolve(ref)
            status = Status(self.next_id("status"), context, state, description, target_url)
            repo.statuses.setdefault(sha, []).append(status)

    def add_check_run(self, full_name: str, ref: str, name: str, status: str = "completed",
                      conclusion: str | None = "success") -> None:
        with self.lock:
            repo = self._repo(full_name)
            run = CheckRun(self.next_id("check_run"), name, status, conclusion if status == "completed" else None)
            run.completed_at = now_iso() if status == "completed" else None
            repo.check_runs.setdefault(repo.git.resolve(ref), []).append(run)

    # -- issue comments ---------------------------------------------------------------------------

    def issue_comments(self, full_name: str, number: int) -> list[dict[str, Any]]:
        """The pull request's conversation comments, oldest first, as the API lists them."""
        with self.lock:
            repo = self._repo(full_name)
            found = sorted((c for c in repo.comments.values() if c.number == number), key=lambda c: c.id)
            return [self.shapes.issue_comment(repo, c) for c in found]

    def delete_issue_comment(self, full_name: str, comment_id: int) -> None:
        """Someone deletes the comment on GitHub."""
        with self.lock:
            del self._repo(full_name).comments[comment_id]

    # -- webhooks --------------------------------------------------------------------------------

    def hooks(self, full_name: str) -> list[dict[str, Any]]:
        """The hooks registered on a repository, with their secrets in clear (the API masks them)."""
        with self.lock:
            return self.sender.hooks(self._repo(full_name))

    def deliver(self, full_name: str, event: str, payload: dict[str, Any], *,
                delivery_id: str | None = None) -> list[int]:
        """Sends `payload` as `event`, signed, to every active hook of the repository subscribed to
        it ("*" subscribes to all); returns the HTTP status each receiver answered (0: unreachable)."""
        with self.lock:
            repo = self._repo(full_name)
        return self.sender.deliver(repo, event, payload, delivery_id)

    @property
    def deliveries(self) -> list[Delivery]:
        """Every delivery sent so far (pings included), oldest first."""
        return list(self.sender.deliveries)

    def schedule_ping(self, repo: Repo, hook: Any) -> None:
        self.sender.ping(repo, hook)

    # -- OAuth -----------------------------------------------------------------------------------

    def add_oauth_app(self, client_id: str | None = None, client_secret: str | None = None, *,
                      callback_url: str | None = None, device_flow: bool = True,
                      device_interval: int = 5, device_expires_in: int = 900) -> FakeOAuthApp:
        """An OAuth app; `device_interval` is the polling interval the device flow asks for (s)."""
        with self.lock:
            app = OAuthApp(client_id or f"Ov23li{secrets.token_hex(7)}", client_secret or secrets.token_hex(20),
                           callback_url, device_flow, device_interval, device_expires_in)
            self.apps[app.client_id] = app
            return FakeOAuthApp(app.client_id, app.client_secret, app.callback_url)

    def _device(self, user_code: str) -> DeviceGrant:
        wanted = user_code.upper().replace("-", "")
        for grant in self.devices.values():
            if grant.user_code.replace("-", "") == wanted:
                return grant
        raise KeyError(f"no device code {user_code}")

    def approve_device(self, user_code: str, login: str) -> None:
        """The user `login` enters `user_code` at the verification page and authorizes the app."""
        with self.lock:
            grant = self._device(user_code)
            if time.monotonic() >= grant.expires_at:
                raise ValueError(f"device code {user_code} has expired")
            grant.login = self._login(login)

    def deny_device(self, user_code: str) -> None:
        with self.lock:
            self._device(user_code).denied = True

    def expire_device(self, user_code: str) -> None:
        with self.lock:
            self._device(user_code).expires_at = time.monotonic()

    def web_login(self, login: str | None, *, approve: bool = True) -> None:
        """Who is signed in to the fake's web pages: /login/oauth/authorize then redirects at once
        (with a code, or with access_denied when `approve` is False). None signs out."""
        with self.lock:
            self.browser = None if login is None else (self._login(login), approve)

    # -- failure injection and the request log ---------------------------------------------------

    def fail_next(self, method: str | None, path_regex: str | None, status: int = 502, times: int = 1,
                  body: Any = None, headers: dict[str, str] | None = None) -> None:
        """The next `times` requests whose method and path (relative to the API root for REST calls,
        searched with re.search) match are answered with `status` and `body` (default: GitHub's)."""
        if body is None:
            body = SERVER_ERRORS.get(status, {"message": HTTP_STATUS_CODES.get(status, "Error")})
        with self.lock:
            pattern = re.compile(path_regex) if path_regex else None
            self.faults.append(Fault(method, pattern, status, times, body, dict(headers or {})))

    def rate_limit(self, remaining: int = 0, *, limit: int = RATE_LIMIT, reset_in: float = 60,
                   login: str | None = None) -> None:
        """Sets the primary (core) rate limit of `login`, or of every caller; at 0 remaining every
        API call answers 403 "API rate limit exceeded" until the reset time passes."""
        window = RateWindow(limit, remaining, int(time.time() + reset_in + 0.999))
        with self.lock:
            if login is None:
                self.windows.clear()
                self.window_template = window
            else:
                self.windows[self._login(login).lower()] = window

    def secondary_rate_limit(self, *, retry_after: int = 60, times: int | None = 1,
                             method: str | None = None, path_regex: str | None = None) -> None:
        """The next `times` matching API calls answer 403 "secondary rate limit" with Retry-After."""
        with self.lock:
            pattern = re.compile(path_regex) if path_regex else None
            headers = {"Retry-After": str(retry_after)}
            self.faults.append(Fault(method, pattern, 403, times, None, headers, kind="secondary"))

    def latency(self, seconds: float, *, method: str | None = None, path_regex: str | None = None,
                times: int | None = None) -> None:
        """Delays matching answers by `seconds` (every one, or the next `times`)."""
        with self.lock:
            pattern = re.compile(path_regex) if path_regex else None
            self.faults.append(Fault(method, pattern, 0, times, kind="latency", seconds=seconds))

    def reset_faults(self) -> None:
        with self.lock:
            self.faults.clear()
            self.windows.clear()
            self.window_template = None

    def clear_requests(self) -> None:
        with self.lock:
            self.requests.clear()

    # -- lookups used by the handlers ------------------------------------------------------------

    def _repo(self, full_name: str) -> Repo:
        repo = self.repos.get(full_name.lower())
        if repo is None:
            raise KeyError(f"no repository {full_name}")
        return repo

    def _login(self, login: str) -> str:
        user = self.users.get(login.lower())
        if user is None:
            raise KeyError(f"no user {login}")
        return user.login

    def state_repo(self, full_name: str) -> Repo | None:
        return self.repos.get(full_name.lower())

    def state_user(self, login: str | None) -> User | None:
        return self.users.get(login.lower()) if login else None

    def has_user(self, login: str) -> bool:
        return self.state_user(login) is not None

    def account(self, login: str) -> dict[str, Any]:
        user = self.users.get(login.lower())
        if user is not None:
            return self.shapes.simple_user(user.login, user.id)
        org_login, org_id = self.orgs[login.lower()]
        return self.shapes.simple_user(org_login, org_id, "Organization")


@pytest.fixture
def fake_github(tmp_path: Path) -> Iterator[FakeGitHub]:
    """A running fake GitHub for one test; fails the test if the fake itself hit a bug."""
    with FakeGitHub(tmp_path / "fake-github") as fake:
        yield fake
    assert not fake.errors, "fake GitHub raised:\n" + "\n".join(fake.errors)


@pytest.fixture
def fake_github_process(tmp_path: Path) -> Iterator[FakeGitHubProcess]:
    """The fake as a separate process (same methods, over HTTP), for tests that need one."""
    from tests.support.fake_github_process import FakeGitHubProcess

    fake = FakeGitHubProcess.start(tmp_path / "fake-github-process")
    try:
        yield fake
        errors = fake.errors if fake.process.poll() is None else []
    finally:
        fake.stop()
    assert not errors, "fake GitHub raised:\n" + "\n".join(errors)


if __name__ == "__main__":
    from tests.support.fake_github_process import main

    main()
