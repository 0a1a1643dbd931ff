"""CI per commit: checks are stored per (repository, sha, check) and a pull request's CI state is
that of its head commit's checks. A report older than the stored one of the same check is dropped."""

from __future__ import annotations

from taskly_shared.models import CiState

from .queries import PullRow, PullStore


def aggregate(states: list[str]) -> CiState:
    """Any failure fails; then any pending is pending; passing and neutral checks pass."""
    if not states:
        return CiState.NONE
    if "failure" in states:
        return CiState.FAILURE
    if "pending" in states:
        return CiState.PENDING
    return CiState.SUCCESS


async def refresh_ci(store: PullStore, pull: PullRow) -> None:
    """Recompute the pull request's CI state and checks from its head commit's checks."""
    if not pull.head_sha:
        pull.ci_status, pull.checks = CiState.NONE.value, {}
        return
    checks = []
    for name, state, url, at in await store.checks(pull.repository_id, pull.head_sha):
        kind, _, label = name.partition(":")
        checks.append({"name": label, "kind": kind, "state": state, "url": url,
                       "at": at.isoformat() if at else None})
    pull.ci_status = aggregate([check["state"] for check in checks]).value
    pull.checks = {"sha": pull.head_sha, "checks": checks}
