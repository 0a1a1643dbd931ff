"""GitHub webhook payloads decoded into the few facts Taskly acts on.

Decode at the edge: nothing past this module reads a raw payload. A payload that lacks what its
event must carry raises `PayloadError` (the delivery is then recorded as invalid, not retried).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ZERO_SHA = "0" * 40


class PayloadError(ValueError):
    """The payload does not have the shape its event promises."""


def parse_time(value: Any) -> datetime | None:
    """GitHub's times: ISO 8601 (`2019-05-15T15:20:33Z`, `+00:00`) or epoch seconds (push)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    text = str(value).replace("\x00", "")
    return text[:limit]


def _object(payload: dict[str, Any], name: str) -> dict[str, Any]:
    value = payload.get(name)
    if not isinstance(value, dict):
        raise PayloadError(f"the payload has no {name!r} object")
    return value


def _login(account: Any) -> str | None:
    return _text(account.get("login"), 255) if isinstance(account, dict) else None


@dataclass(frozen=True, slots=True)
class RepositoryRef:
    github_id: int | None
    owner: str
    name: str

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


def repository_ref(payload: dict[str, Any]) -> RepositoryRef | None:
    """The repository a delivery comes from (None for hooks without one, e.g. an org ping)."""
    repository = payload.get("repository")
    if not isinstance(repository, dict):
        return None
    full_name = repository.get("full_name")
    github_id = repository.get("id")
    if not isinstance(full_name, str) or full_name.count("/") != 1:
        return None
    owner, name = full_name.split("/")
    if not owner or not name:
        return None
    return RepositoryRef(github_id if isinstance(github_id, int) and not isinstance(github_id, bool)
                         else None, owner, name)


@dataclass(frozen=True, slots=True)
class PullSnapshot:
    """A pull request as one payload describes it."""

    number: int
    title: str
    body: str | None
    state: str  # open | draft | closed | merged
    head_branch: str | None
    head_sha: str | None
    base_branch: str | None
    url: str | None
    author: str | None
    commit_count: int | None
    merged_at: datetime | None
    updated_at: datetime | None
    mergeable: bool | None = None
    """None: GitHub has not computed it (or the payload does not say)."""
    mergeable_state: str | None = None
    additions: int | None = None
    deletions: int | None = None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def pull_snapshot(payload: dict[str, Any]) -> PullSnapshot:
    """The `pull_request` object of a pull_request or pull_request_review delivery."""
    pull = _object(payload, "pull_request")
    number = pull.get("number", payload.get("number"))
    if not isinstance(number, int) or isinstance(number, bool) or not 0 < number < 2**31:
        raise PayloadError("the pull request has no number")
    merged_at = parse_time(pull.get("merged_at"))
    if pull.get("merged") is True or merged_at is not None:
        state = "merged"
    elif pull.get("state") == "closed":
        state = "closed"
    elif pull.get("draft") is True:
        state = "draft"
    else:
        state = "open"
    head = pull.get("head") if isinstance(pull.get("head"), dict) else {}
    base = pull.get("base") if isinstance(pull.get("base"), dict) else {}
    commits = pull.get("commits")
    return PullSnapshot(
        number=number, title=_text(pull.get("title"), 1024) or "", body=_text(pull.get("body"), 65_535),
        state=state, head_branch=_text(head.get("ref"), 255), head_sha=_text(head.get("sha"), 64),
        base_branch=_text(base.get("ref"), 255), url=_text(pull.get("html_url"), 1024),
        author=_login(pull.get("user")),
        commit_count=commits if isinstance(commits, int) and not isinstance(commits, bool) else None,
        merged_at=merged_at, updated_at=parse_time(pull.get("updated_at")),
        mergeable=pull.get("mergeable") if isinstance(pull.get("mergeable"), bool) else None,
        mergeable_state=_text(pull.get("mergeable_state"), 32) if isinstance(pull.get("mergeable_state"), str) else None,
        additions=_count(pull.get("additions")), deletions=_count(pull.get("deletions")),
    )


@dataclass(frozen=True, slots=True)
class ReviewFact:
    id: int | None
    reviewer: str
    state: str  # approved | changes_requested | commented | dismissed
    submitted_at: datetime | None


def review_fact(payload: dict[str, Any]) -> ReviewFact:
    review = _object(payload, "review")
    reviewer = _login(review.get("user"))
    if reviewer is None:
        raise PayloadError("the review has no author")
    review_id = review.get("id")
    return ReviewFact(
        id=review_id if isinstance(review_id, int) else None, reviewer=reviewer,
        state=str(review.get("state") or "").lower(), submitted_at=parse_time(review.get("submitted_at")),
    )


@dataclass(frozen=True, slots=True)
class CheckReport:
    """One check of one commit: its state now, and GitHub's time of that state."""

    sha: str
    name: str  # `<kind>:<name>`
    kind: str  # check_run | check_suite | status
    state: str  # success | failure | pending | neutral
    url: str | None
    at: datetime | None


FAILING = {"failure", "timed_out", "action_required", "cancelled", "startup_failure", "error"}
PASSING = {"success"}
NEUTRAL = {"neutral", "skipped", "stale"}


def check_state(status: Any, conclusion: Any) -> str:
    """A check run or suite's state: completed with a conclusion, else pending."""
    if status != "completed":
        return "pending"
    if conclusion in PASSING:
        return "success"
    if conclusion in FAILING:
        return "failure"
    if conclusion in NEUTRAL:
        return "neutral"
    return "pending"


def check_report(event: str, payload: dict[str, Any]) -> CheckReport:
    """The check a check_run, check_suite or status delivery reports."""
    if event == "status":
        sha, context = payload.get("sha"), payload.get("context")
        if not isinstance(sha, str) or not isinstance(context, str):
            raise PayloadError("the status has no sha or context")
        raw = payload.get("state")
        state = {"success": "success", "failure": "failure", "error": "failure"}.get(raw, "pending")
        return CheckReport(sha[:64], f"status:{context}"[:300], "status", state,
                           _text(payload.get("target_url"), 1024),
                           parse_time(payload.get("updated_at") or payload.get("created_at")))
    if event == "check_run":
        run = _object(payload, "check_run")
        sha, name = run.get("head_sha"), run.get("name")
        if not isinstance(sha, str) or not isinstance(name, str):
            raise PayloadError("the check run has no head_sha or name")
        at = parse_time(run.get("completed_at")) or parse_time(run.get("started_at"))
        return CheckReport(sha[:64], f"check_run:{name}"[:300], "check_run",
                           check_state(run.get("status"), run.get("conclusion")),
                           _text(run.get("html_url") or run.get("details_url"), 1024), at)
    suite = _object(payload, "check_suite")
    sha = suite.get("head_sha")
    if not isinstance(sha, str):
        raise PayloadError("the check suite has no head_sha")
    app = suite.get("app") if isinstance(suite.get("app"), dict) else {}
    name = app.get("name") or app.get("slug") or "check suite"
    state = check_state(suite.get("status"), suite.get("conclusion"))
    if payload.get("action") in ("requested", "rerequested") and suite.get("status") != "completed":
        state = "pending"
    return CheckReport(sha[:64], f"check_suite:{name}"[:300], "check_suite", state, None,
                       parse_time(suite.get("updated_at")) or parse_time(suite.get("created_at")))


@dataclass(frozen=True, slots=True)
class RefFact:
    """A branch pushed, created or deleted."""

    branch: str
    sha: str | None
    exists: bool
    commits: int
    forced: bool
    at: datetime | None


def branch_of(ref: Any) -> str | None:
    """`refs/heads/main` → `main`; tags and other refs → None."""
    if isinstance(ref, str) and ref.startswith("refs/heads/") and len(ref) > len("refs/heads/"):
        return ref[len("refs/heads/"):][:255]
    return None


def _pushed_at(payload: dict[str, Any]) -> datetime | None:
    repository = payload.get("repository") if isinstance(payload.get("repository"), dict) else {}
    return parse_time(repository.get("pushed_at"))


def push_fact(payload: dict[str, Any]) -> RefFact | None:
    """A push to a branch (None for tags)."""
    branch = branch_of(payload.get("ref"))
    if branch is None:
        return None
    after = payload.get("after") if isinstance(payload.get("after"), str) else None
    deleted = payload.get("deleted") is True or after == ZERO_SHA
    commits = payload.get("commits")
    head = payload.get("head_commit") if isinstance(payload.get("head_commit"), dict) else {}
    return RefFact(branch, None if deleted else after, not deleted,
                   len(commits) if isinstance(commits, list) else 0, payload.get("forced") is True,
                   _pushed_at(payload) or parse_time(head.get("timestamp")))


def ref_fact(payload: dict[str, Any], created: bool) -> RefFact | None:
    """A create or delete delivery for a branch (None for tags)."""
    if payload.get("ref_type") != "branch" or not isinstance(payload.get("ref"), str):
        return None
    return RefFact(payload["ref"][:255], None, created, 0, False, _pushed_at(payload))
