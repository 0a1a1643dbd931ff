"""PyGithub behind timeouts, bounded retries and a circuit breaker; synchronous, for job threads.

Every call either returns or raises `GitHubError` with a message fit for a user and whether a
later attempt may succeed (`retryable`: 5xx, network errors, rate limits, open circuit). PyGithub
itself retries 5xx and network errors a little (`GithubRetry`), never sleeps long on a rate limit
(`max_rate_limit_wait`) and does not throttle writes; the jobs retry with backoff on top.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from github import Auth, Github, GithubException, GithubRetry, RateLimitExceededException
from github.Requester import Requester
from urllib3.exceptions import HTTPError as Urllib3Error

from .breaker import CircuitBreaker, CircuitOpen, breaker_for
from .transport import Connection, HTTPSConnection

T = TypeVar("T")

TIMEOUT = 10
"""Seconds per HTTP request to GitHub."""
WEBHOOK_EVENTS = ("pull_request", "pull_request_review", "push", "create", "delete", "check_suite",
                  "check_run", "status")
"""What Taskly's webhook subscribes to (SPEC §4 "GitHub")."""


class GitHubError(Exception):
    """A GitHub call failed; `retryable` when a later attempt may succeed."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class RepoInfo:
    github_id: int
    owner: str
    name: str
    full_name: str
    default_branch: str
    html_url: str
    admin: bool
    push: bool


_construction = threading.Lock()


@functools.lru_cache(maxsize=128)
def _github(api_url: str, token_digest: str, token: str) -> Github:
    """One PyGithub client (and its connection pool) per token, reused across jobs and threads
    (its connection is `transport.Connection`)."""
    retry = GithubRetry(total=2, backoff_factor=0.2, raise_on_status=False,
                        secondary_rate_wait=5, max_rate_limit_wait=10)
    with _construction:  # PyGithub's Requester takes its connection class when it is made
        Requester.injectConnectionClasses(Connection, HTTPSConnection)
        try:
            return Github(base_url=api_url, auth=Auth.Token(token), timeout=TIMEOUT, retry=retry,
                          user_agent="Taskly", seconds_between_requests=None,
                          seconds_between_writes=None, lazy=True, pool_size=20)
        finally:
            Requester.resetConnectionClasses()  # and keeps connections alive again


def _message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or exc.message or "").strip() or "error"
    details = [str(e.get("message")) for e in data.get("errors") or []
               if isinstance(e, dict) and e.get("message")]
    return f"{message} ({'; '.join(details)})" if details else message


class GitHubClient:
    """What the jobs ask GitHub, as one user (their OAuth token)."""

    def __init__(self, api_url: str, token: str, breaker: CircuitBreaker | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self.github = _github(self.api_url, hashlib.sha256(token.encode()).hexdigest(), token)
        self.breaker = breaker or breaker_for(self.api_url)

    def __repr__(self) -> str:
        return f"GitHubClient({self.api_url!r}, token=<hidden>)"

    # --- the calls ----------------------------------------------------------------------------

    def repository(self, full_name: str) -> RepoInfo:
        """The repository as the token sees it (404: missing or invisible to this user)."""
        def fetch() -> RepoInfo:
            repo = self.github.get_repo(full_name)
            permissions = repo.permissions
            return RepoInfo(repo.id, repo.owner.login, repo.name, repo.full_name, repo.default_branch,
                            repo.html_url, bool(permissions and permissions.admin),
                            bool(permissions and permissions.push))
        return self._call(f"reading {full_name}", fetch)

    def branch_sha(self, full_name: str, branch: str) -> str:
        """The commit a branch points at."""
        def fetch() -> str:
            return self.github.get_repo(full_name).get_git_ref(f"heads/{branch}").object.sha
        return self._call(f"reading branch {branch} of {full_name}", fetch)

    def create_branch(self, full_name: str, branch: str, sha: str) -> bool:
        """Create `branch` at `sha`; False when it already exists (pointing anywhere)."""
        def create() -> bool:
            try:
                self.github.get_repo(full_name).create_git_ref(f"refs/heads/{branch}", sha)
            except GithubException as exc:
                if exc.status == 422 and "already exists" in _message(exc).lower():
                    return False
                raise
            return True
        return self._call(f"creating branch {branch} in {full_name}", create)

    def find_hook(self, full_name: str, url: str) -> int | None:
        """The id of the repository's hook delivering to `url`, if any."""
        def find() -> int | None:
            for hook in self.github.get_repo(full_name).get_hooks():
                if (hook.config or {}).get("url") == url:
                    return hook.id
            return None
        return self._call(f"listing the webhooks of {full_name}", find)

    def create_hook(self, full_name: str, url: str, secret: str) -> int:
        def create() -> int:
            hook = self.github.get_repo(full_name).create_hook(
                "web", {"url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0"},
                list(WEBHOOK_EVENTS), active=True)
            return hook.id
        return self._call(f"creating the webhook of {full_name}", create)

    def update_hook(self, full_name: str, hook_id: int, url: str, secret: str) -> None:
        def update() -> None:
            self.github.get_repo(full_name).get_hook(hook_id).edit(
                "web", {"url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0"},
                events=list(WEBHOOK_EVENTS), active=True)
        self._call(f"updating the webhook of {full_name}", update)

    def delete_hook(self, full_name: str, hook_id: int) -> bool:
        """Remove a hook; False when it was already gone."""
        def delete() -> bool:
            try:
                self.github.get_repo(full_name).get_hook(hook_id).delete()
            except GithubException as exc:
                if exc.status == 404:
                    return False
                raise
            return True
        return self._call(f"deleting the webhook of {full_name}", delete)

    # --- translation of failures --------------------------------------------------------------

    def _call(self, action: str, fn: Callable[[], T]) -> T:
        try:
            self.breaker.before()
        except CircuitOpen as exc:
            raise GitHubError(f"{action}: {exc}", retryable=True) from None
        try:
            result = fn()
        except RateLimitExceededException as exc:
            self.breaker.neutral()
            raise GitHubError(f"{action}: GitHub rate limit exceeded ({_message(exc)})",
                              status=exc.status, retryable=True) from None
        except GithubException as exc:
            raise self._failed(action, exc) from None
        except (Urllib3Error, OSError) as exc:
            self.breaker.failure()
            raise GitHubError(f"{action}: GitHub did not answer ({type(exc).__name__})",
                              retryable=True) from None
        self.breaker.success()
        return result

    def _failed(self, action: str, exc: GithubException) -> GitHubError:
        status = exc.status
        if status >= 500:
            self.breaker.failure()
            return GitHubError(f"{action}: GitHub answered {status} {_message(exc)}", status=status,
                               retryable=True)
        self.breaker.neutral()
        if status == 401:
            return GitHubError(f"{action}: GitHub rejected the token (401); sign in again with "
                               "`taskly login`", status=status)
        if status == 404:
            return GitHubError(f"{action}: not found, or not visible with your GitHub access (404)",
                               status=status)
        if status == 403:
            return GitHubError(f"{action}: forbidden by GitHub (403 {_message(exc)})", status=status)
        return GitHubError(f"{action}: GitHub answered {status} {_message(exc)}", status=status,
                           retryable=status in (408, 409, 429))
