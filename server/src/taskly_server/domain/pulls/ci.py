"""CI per commit: checks stored per (repository, sha, check), and a pull request's CI state from the
checks of its head commit. A report older than the stored one for the same check is dropped."""

from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import CiState

from ...db.base import utcnow
from ...db.models import CommitCheck, PullRequest
from .payloads import CheckReport


async def lock_commit(db: AsyncSession, repository_id: uuid.UUID, sha: str | None) -> None:
    """Serialise the work on one commit's CI (reports against head-sha changes) until commit."""
    if sha:
        await db.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                         {"key": f"ci:{repository_id}:{sha}"})


async def store_report(db: AsyncSession, repository_id: uuid.UUID, report: CheckReport) -> bool:
    """Keep the report unless a newer one of the same check is stored; whether it was kept."""
    table = CommitCheck.__table__
    statement = pg_insert(CommitCheck).values(
        repository_id=repository_id, sha=report.sha, name=report.name, state=report.state,
        url=report.url, reported_at=report.at, updated_at=utcnow(),
    )
    statement = statement.on_conflict_do_update(
        index_elements=["repository_id", "sha", "name"],
        set_={"state": statement.excluded.state, "url": statement.excluded.url,
              "reported_at": statement.excluded.reported_at, "updated_at": statement.excluded.updated_at},
        where=or_(table.c.reported_at.is_(None), statement.excluded.reported_at.is_(None),
                  statement.excluded.reported_at >= table.c.reported_at),
    ).returning(CommitCheck.sha)
    return (await db.scalar(statement)) is not None


def aggregate(states: list[str]) -> CiState:
    """Any failure fails; then any pending is pending; passing and neutral checks pass."""
    if not states:
        return CiState.NONE
    if "failure" in states:
        return CiState.FAILURE
    if "pending" in states:
        return CiState.PENDING
    return CiState.SUCCESS


async def refresh_ci(db: AsyncSession, pull: PullRequest) -> None:
    """Recompute the pull request's CI state and checks from its head commit's checks."""
    if not pull.head_sha:
        pull.ci_status, pull.checks = CiState.NONE.value, {}
        return
    rows = (await db.execute(
        select(CommitCheck.name, CommitCheck.state, CommitCheck.url, CommitCheck.reported_at)
        .where(CommitCheck.repository_id == pull.repository_id, CommitCheck.sha == pull.head_sha)
        .order_by(func.lower(CommitCheck.name))
    )).all()
    checks = []
    for name, state, url, at in rows:
        kind, _, label = name.partition(":")
        checks.append({"name": label, "kind": kind, "state": state, "url": url,
                       "at": at.isoformat() if at else None})
    ci = aggregate([check["state"] for check in checks]).value
    stored = {"sha": pull.head_sha, "checks": checks}
    if pull.ci_status != ci:
        pull.ci_status = ci
    if pull.checks != stored:
        pull.checks = stored
