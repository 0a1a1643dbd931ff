"""What the fake GitHub knows: users and tokens, repositories, pull requests, hooks, OAuth grants."""

from __future__ import annotations

import re
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from tests.support.fake_github_git import BareRepo

LEVELS = ("read", "triage", "write", "maintain", "admin")
DEFAULT_SCOPES = ("repo", "read:user", "user:email")
RATE_LIMIT = 5000
ANONYMOUS_RATE_LIMIT = 60


def now_iso(at: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if at is None else at))


def random_token(prefix: str = "gho_") -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(36))


def level_at_least(level: str | None, wanted: str) -> bool:
    return level is not None and LEVELS.index(level) >= LEVELS.index(wanted)


# Results handed to tests: plain values only, so the subprocess handle can rebuild them from JSON.

@dataclass(frozen=True)
class FakeUser:
    login: str
    id: int
    token: str


@dataclass(frozen=True)
class FakeRepo:
    full_name: str
    id: int
    git_dir: str
    clone_url: str
    default_branch: str
    head_sha: str


@dataclass(frozen=True)
class FakeOAuthApp:
    client_id: str
    client_secret: str
    callback_url: str | None


class LoggedRequest(NamedTuple):
    """One request the fake received: (method, path, json); `path` is relative to the API root for
    REST calls; `json` is the parsed JSON body, the form fields of a form body, or None."""

    method: str
    path: str
    json: Any


# Internal state.

@dataclass
class User:
    login: str
    id: int
    name: str | None
    email: str | None
    created_at: str = field(default_factory=now_iso)


@dataclass
class Token:
    value: str
    login: str
    scopes: tuple[str, ...]


@dataclass
class Hook:
    id: int
    name: str
    config: dict[str, Any]
    events: list[str]
    active: bool
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    last_status: int | None = None


@dataclass
class Review:
    id: int
    login: str
    state: str
    body: str
    commit_id: str
    submitted_at: str = field(default_factory=now_iso)


@dataclass
class Pull:
    id: int
    number: int
    title: str
    body: str | None
    login: str
    head: str
    base: str
    state: str = "open"
    draft: bool = False
    merged: bool = False
    head_sha: str | None = None
    merge_commit_sha: str | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    closed_at: str | None = None
    merged_at: str | None = None
    merged_by: str | None = None
    reviews: list[Review] = field(default_factory=list)
    commits: int = 1
    additions: int = 1
    deletions: int = 0
    mergeable: bool | None = True
    mergeable_state: str = "clean"


@dataclass
class IssueComment:
    id: int
    number: int
    login: str
    body: str
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)


@dataclass
class Status:
    id: int
    context: str
    state: str
    description: str | None
    target_url: str | None
    created_at: str = field(default_factory=now_iso)


@dataclass
class CheckRun:
    id: int
    name: str
    status: str
    conclusion: str | None
    started_at: str = field(default_factory=now_iso)
    completed_at: str | None = None


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    git: BareRepo
    default_branch: str
    private: bool
    description: str | None
    collaborators: dict[str, str] = field(default_factory=dict)
    hooks: dict[int, Hook] = field(default_factory=dict)
    pulls: dict[int, Pull] = field(default_factory=dict)
    statuses: dict[str, list[Status]] = field(default_factory=dict)
    check_runs: dict[str, list[CheckRun]] = field(default_factory=dict)
    comments: dict[int, IssueComment] = field(default_factory=dict)
    created_at: str = field(default_factory=now_iso)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def level(self, login: str | None) -> str | None:
        """The permission `login` has here (None: cannot see it); anonymous callers pass None."""
        if login is not None and login.lower() == self.owner.lower():
            return "admin"
        granted = self.collaborators.get(login.lower()) if login else None
        if granted:
            return granted
        return None if self.private else "read"


@dataclass
class OAuthApp:
    client_id: str
    client_secret: str
    callback_url: str | None
    device_flow: bool
    device_interval: int
    device_expires_in: int


@dataclass
class DeviceGrant:
    device_code: str
    user_code: str
    client_id: str
    scopes: tuple[str, ...]
    interval: int
    expires_at: float
    last_poll: float | None = None
    login: str | None = None
    denied: bool = False
    used: bool = False


@dataclass
class WebGrant:
    code: str
    client_id: str
    login: str
    scopes: tuple[str, ...]
    redirect_uri: str | None
    expires_at: float
    used: bool = False


@dataclass
class RateWindow:
    limit: int
    remaining: int
    reset_at: int

    @classmethod
    def fresh(cls, limit: int) -> RateWindow:
        return cls(limit, limit, int(time.time()) + 3600)

    def roll(self) -> None:
        """Starts a new window once the reset time has passed, as GitHub does."""
        if time.time() >= self.reset_at:
            self.remaining = self.limit
            self.reset_at = int(time.time()) + 3600

    @property
    def used(self) -> int:
        return self.limit - self.remaining


@dataclass
class Fault:
    """An injected answer for the next `times` requests matching `method` and `path`."""

    method: str | None
    path: re.Pattern[str] | None
    status: int
    times: int | None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    kind: str = "fail"  # fail | secondary | latency
    seconds: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or self.path.search(path) is not None

    def consume(self) -> None:
        if self.times is not None:
            self.times -= 1


def user_code() -> str:
    alphabet = "BCDFGHJKLMNPQRSTVWXZ0123456789"
    chars = "".join(secrets.choice(alphabet) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def parse_scopes(text: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part for part in re.split(r"[\s,]+", text or "") if part))
