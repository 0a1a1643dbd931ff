"""PyGithub behind timeouts, bounded retries and a circuit breaker; synchronous, for job threads.

Every call either returns or raises `GitHubError` with a message fit for a user and whether a
later attempt may succeed (`retryable`: 5xx, network errors, rate limits, open circuit). PyGithub
itself retries 5xx and network errors a little (`GithubRetry`), never sleeps long on a rate limit
(`max_rate_limit_wait`) and does not throttle writes; the jobs retry with backoff on top.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

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
    """A GitHub call failed; `retryable` when a later attempt may succeed; `retry_at` (epoch
    seconds) when GitHub said when (a rate limit: `Retry-After`, or the primary limit's reset)."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False,
                 retry_at: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable
        self.retry_at = retry_at


@dataclass(frozen=True, slots=True)
class Budget:
    """A token's REST budget as the last response's `X-RateLimit-*` headers said."""

    remaining: int
    limit: int
    reset_at: float
    """Epoch seconds."""

    def low(self, now: float, share: float = 0.05) -> bool:
        """Under `share` of the budget left, before the reset."""
        return self.limit > 0 and self.remaining < self.limit * share and self.reset_at > now


SECONDARY_WAIT = 60.0
"""Seconds to wait after a secondary rate limit that names no `Retry-After` (GitHub's advice)."""


def retry_at(headers: dict[str, Any] | None, now: float) -> float:
    """When a rate-limited call may be made again: `Retry-After`, else the primary limit's
    `X-RateLimit-Reset` when nothing remains, else a minute (a secondary limit)."""
    found = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    try:
        if "retry-after" in found:
            return now + max(float(found["retry-after"]), 1.0)
        if found.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in found:
            return max(float(found["x-ratelimit-reset"]) + 1, now + 1)
    except ValueError:
        pass
    return now + SECONDARY_WAIT


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


@dataclass(frozen=True, slots=True)
class IssueComment:
    id: int
    body: str


@dataclass(frozen=True, slots=True)
class PullFacts:
    """A pull request as the REST API shows it, with its reviews and its head commit's CI."""

    pull: dict[str, Any]
    reviews: list[dict[str, Any]]
    check_runs: list[dict[str, Any]]
    combined_status: dict[str, Any]


_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="([^"]+)"')


def next_link(headers: dict[str, Any]) -> str | None:
    """The `rel="next"` URL of GitHub's `Link` header, if any."""
    link = next((v for k, v in (headers or {}).items() if k.lower() == "link"), None)
    for url, rel in _LINK.findall(link or ""):
        if rel == "next":
            return url
    return None


class _Retry(GithubRetry):
    """PyGithub's policy for 5xx and network errors; a rate limit (403/429) is never slept on in
    a job thread: it comes back to the job, which is rescheduled for GitHub's time."""

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code in (403, 429):
            return False
        return super().is_retry(method, status_code, has_retry_after)


_construction = threading.Lock()


@functools.lru_cache(maxsize=128)
def _github(api_url: str, token_digest: str, token: str) -> Github:
    """One PyGithub client (and its connection pool) per token, reused across jobs and threads
    (its connection is `transport.Connection`)."""
    retry = _Retry(total=2, backoff_factor=0.2, raise_on_status=False, respect_retry_after_header=False,
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

    def budget(self) -> Budget | None:
        """The token's budget from the last response any thread got with it (None: no call yet)."""
        requester = self.github.requester
        remaining, limit = requester.rate_limiting
        if remaining < 0 or limit <= 0:
            return None
        return Budget(remaining, limit, float(requester.rate_limiting_resettime or 0))

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

    # --- pull requests (raw REST shapes: the webhook decoders read them as they read payloads) ---

    def _get(self, url: str, parameters: dict[str, Any] | None = None) -> tuple[dict[str, Any], Any]:
        return self.github.requester.requestJsonAndCheck("GET", url, parameters=parameters)

    def pulls_page(self, full_name: str, *, state: str, page_url: str | None = None,
                   sort: str = "updated") -> tuple[list[dict[str, Any]], str | None]:
        """One page (100) of the repository's pull requests, newest update first, and the URL of
        the next page from the `Link` header (None on the last)."""
        def fetch() -> tuple[list[dict[str, Any]], str | None]:
            if page_url is not None:
                headers, data = self._get(page_url)
            else:
                headers, data = self._get(f"/repos/{full_name}/pulls", {
                    "state": state, "sort": sort, "direction": "desc", "per_page": 100})
            return (data if isinstance(data, list) else []), next_link(headers)
        return self._call(f"listing the pull requests of {full_name}", fetch)

    def pull_facts(self, full_name: str, number: int) -> PullFacts:
        """The pull request, its reviews, and its head commit's check runs and combined status:
        four calls (first pages of reviews and check runs, 100 each)."""
        def fetch() -> PullFacts:
            _, pull = self._get(f"/repos/{full_name}/pulls/{number}")
            _, reviews = self._get(f"/repos/{full_name}/pulls/{number}/reviews", {"per_page": 100})
            sha = ((pull or {}).get("head") or {}).get("sha")
            runs: list[dict[str, Any]] = []
            status: dict[str, Any] = {}
            if isinstance(sha, str) and sha:
                _, checks = self._get(f"/repos/{full_name}/commits/{sha}/check-runs", {"per_page": 100})
                runs = list((checks or {}).get("check_runs") or [])
                _, status = self._get(f"/repos/{full_name}/commits/{sha}/status")
            return PullFacts(pull or {}, reviews if isinstance(reviews, list) else [], runs,
                             status if isinstance(status, dict) else {})
        return self._call(f"reading pull request #{number} of {full_name}", fetch)

    USER_REPOS_PAGES = 50
    """A bound on one listing of `user_repositories`: 5,000 repositories."""

    def user_repositories(self, *, admin_only: bool = False) -> list[dict[str, Any]]:
        """Every repository the token's user owns, collaborates on or reaches through an
        organization (`GET /user/repos`, GitHub's objects with the user's `permissions`), every
        page by the `Link` header; with `admin_only`, those whose `permissions.admin` is true."""
        def fetch() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = []
            headers, data = self._get("/user/repos", {"per_page": 100, "sort": "full_name"})
            for _ in range(self.USER_REPOS_PAGES):
                found += [repo for repo in (data if isinstance(data, list) else []) if isinstance(repo, dict)]
                page = next_link(headers)
                if page is None:
                    break
                headers, data = self._get(page)
            return found
        found = self._call("listing your repositories", fetch)
        return [repo for repo in found if not admin_only or (repo.get("permissions") or {}).get("admin")]

    # --- the comment linking a pull request's cards ---------------------------------------------

    def create_comment(self, full_name: str, number: int, body: str) -> IssueComment:
        def create() -> IssueComment:
            _, data = self.github.requester.requestJsonAndCheck(
                "POST", f"/repos/{full_name}/issues/{number}/comments", input={"body": body})
            return IssueComment(int(data["id"]), str(data.get("body") or ""))
        return self._call(f"commenting on pull request #{number} of {full_name}", create)

    def edit_comment(self, full_name: str, comment_id: int, body: str) -> bool:
        """False when the comment is gone (deleted on GitHub: 404)."""
        def edit() -> bool:
            try:
                self.github.requester.requestJsonAndCheck(
                    "PATCH", f"/repos/{full_name}/issues/comments/{comment_id}", input={"body": body})
            except GithubException as exc:
                if exc.status == 404:
                    return False
                raise
            return True
        return self._call(f"editing comment {comment_id} of {full_name}", edit)

    def find_comment(self, full_name: str, number: int, marker: str) -> IssueComment | None:
        """The pull request's comment containing `marker`, if any (every page)."""
        def find() -> IssueComment | None:
            headers, data = self._get(f"/repos/{full_name}/issues/{number}/comments", {"per_page": 100})
            while True:
                for comment in data if isinstance(data, list) else []:
                    if marker in str(comment.get("body") or ""):
                        return IssueComment(int(comment["id"]), str(comment.get("body") or ""))
                page = next_link(headers)
                if page is None:
                    return None
                headers, data = self._get(page)
        return self._call(f"reading the comments of pull request #{number} of {full_name}", find)

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
                              status=exc.status, retryable=True,
                              retry_at=retry_at(exc.headers, time.time())) from None
        except GithubException as exc:
            if exc.status == 429:
                self.breaker.neutral()
                raise GitHubError(f"{action}: GitHub rate limit exceeded ({_message(exc)})",
                                  status=429, retryable=True,
                                  retry_at=retry_at(exc.headers, time.time())) from None
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
