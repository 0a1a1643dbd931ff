"""One delivery's effect on one repository: pull requests, reviews, CI, branches, automation.

Out-of-order deliveries never regress state: a pull request payload older than the stored
`github_updated_at` changes nothing and moves nothing; a review older than its reviewer's stored
decision is dropped; a check report older than the stored state of that check is dropped; a
branch event older than the branch's last event is dropped.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from taskly_shared.models import AutomationEvent, PullRequestState

from ...db.base import utcnow
from ...db.models import PullRequest, Repository, RepositoryBranch
from ..sync.mutation import Mutation
from .ci import lock_commit, refresh_ci, store_report
from .effects import Effects
from .linking import cards_for_keys, linked_keys
from .payloads import (
    PayloadError,
    PullSnapshot,
    RefFact,
    check_report,
    pull_snapshot,
    push_fact,
    ref_fact,
    review_fact,
)
from .reviews import apply_review

HANDLED = frozenset({"pull_request", "pull_request_review", "check_suite", "check_run", "status",
                     "push", "create", "delete"})
"""Events a job processes; every other event (ping included) is acknowledged and ignored."""

BRANCH_NAMESPACE = uuid.UUID("6f1d2a0e-5b7c-4d43-9f0e-2f5c8a1b7e31")
OPEN = (PullRequestState.OPEN.value, PullRequestState.DRAFT.value)


def branch_entity_id(repository_id: uuid.UUID, name: str) -> uuid.UUID:
    """The change feed's id of a branch (branches have no row id of their own)."""
    return uuid.uuid5(BRANCH_NAMESPACE, f"{repository_id}:{name}")


def _newer_or_same(at: datetime | None, stored: datetime | None) -> bool:
    return at is None or stored is None or at >= stored


class DeliveryProcessor:
    """Applies one delivery to one connected repository, inside the caller's transaction."""

    def __init__(self, mutation: Mutation, repository: Repository) -> None:
        self.mutation = mutation
        self.db = mutation.db
        self.repository = repository
        self.notes: list[str] = []

    async def run(self, event: str, action: str | None, payload: dict[str, Any]) -> Effects | None:
        source = f"github {event}.{action}" if action else f"github {event}"
        effects = Effects(self.mutation, self.repository, source)
        match event:
            case "pull_request":
                await self.pull_request(effects, action or "", payload)
            case "pull_request_review":
                await self.review(effects, action or "", payload)
            case "check_suite" | "check_run" | "status":
                await self.check(effects, event, payload)
            case "push":
                await self.push(effects, payload)
            case "create" | "delete":
                await self.branch(effects, ref_fact(payload, created=event == "create"))
            case _:
                return None
        return effects

    # --- pull requests -------------------------------------------------------------------------

    async def _lock_pull(self, number: int, snapshot: PullSnapshot | None) -> tuple[PullRequest | None, bool]:
        """The pull request's row, locked; created from `snapshot` when missing (and given)."""
        query = (select(PullRequest)
                 .where(PullRequest.repository_id == self.repository.id, PullRequest.number == number)
                 .with_for_update().execution_options(populate_existing=True))
        pull = await self.db.scalar(query)
        if pull is not None or snapshot is None:
            return pull, False
        created = await self.db.scalar(
            pg_insert(PullRequest).values(
                id=uuid.uuid4(), repository_id=self.repository.id, number=number,
                title=snapshot.title, state=snapshot.state, ci_status="none", checks={}, reviews={},
                approvals=0, changes_requested=0, version=1, created_at=utcnow(), updated_at=utcnow(),
            ).on_conflict_do_nothing(index_elements=["repository_id", "number"]).returning(PullRequest.id))
        return await self.db.scalar(query), created is not None

    def _fresh(self, pull: PullRequest, created: bool, snapshot: PullSnapshot) -> bool:
        return created or pull.github_updated_at is None or _newer_or_same(
            snapshot.updated_at, pull.github_updated_at)

    async def _apply(self, effects: Effects, pull: PullRequest, snapshot: PullSnapshot,
                     wanted: dict[uuid.UUID, bool]) -> None:
        """Take the snapshot's fields, links and (for a new head commit) CI."""
        head_changed = pull.head_sha != snapshot.head_sha
        values = {"title": snapshot.title, "body": snapshot.body, "state": snapshot.state,
                  "head_branch": snapshot.head_branch, "base_branch": snapshot.base_branch,
                  "url": snapshot.url, "author": snapshot.author, "head_sha": snapshot.head_sha,
                  "merged_at": snapshot.merged_at,
                  "github_updated_at": snapshot.updated_at or pull.github_updated_at}
        if snapshot.commit_count is not None:
            values["commit_count"] = snapshot.commit_count
        for name, value in values.items():
            if getattr(pull, name) != value:
                setattr(pull, name, value)
        await effects.relink(pull, wanted)
        if head_changed or not pull.checks:
            await refresh_ci(self.db, pull)

    async def pull_request(self, effects: Effects, action: str, payload: dict[str, Any]) -> None:
        snapshot = pull_snapshot(payload)
        await lock_commit(self.db, self.repository.id, snapshot.head_sha)
        pull, created = await self._lock_pull(snapshot.number, snapshot)
        if not self._fresh(pull, created, snapshot):
            self.notes.append(f"#{snapshot.number} {action}: older than the stored state, ignored")
            return
        wanted = await cards_for_keys(self.db, self.repository.workspace_id, linked_keys(snapshot))
        await effects.begin([(pull, created)], wanted)
        was = pull.state if not created else None
        await self._apply(effects, pull, snapshot, wanted)
        event = self._pull_event(action, was, pull.state)
        if event is not None:
            effects.trigger(event, pull, snapshot.updated_at)
        await effects.finish()

    @staticmethod
    def _pull_event(action: str, was: str | None, state: str) -> AutomationEvent | None:
        """The automation event of a pull_request action, given the PR's state before and after."""
        if state in (PullRequestState.MERGED.value, PullRequestState.CLOSED.value):
            if action == "closed" or was in OPEN or was is None:
                merged = state == PullRequestState.MERGED.value
                return AutomationEvent.PR_MERGED if merged else AutomationEvent.PR_CLOSED
            return None
        if action in ("opened", "reopened") and state == PullRequestState.OPEN.value:
            return AutomationEvent.PR_OPENED
        if action == "ready_for_review" and state == PullRequestState.OPEN.value:
            return AutomationEvent.PR_READY_FOR_REVIEW
        if action == "review_requested":
            return AutomationEvent.PR_REVIEW_REQUESTED
        if action == "converted_to_draft":
            return AutomationEvent.PR_CONVERTED_TO_DRAFT
        return None

    async def review(self, effects: Effects, action: str, payload: dict[str, Any]) -> None:
        snapshot = pull_snapshot(payload)
        review = review_fact(payload)
        await lock_commit(self.db, self.repository.id, snapshot.head_sha)
        pull, created = await self._lock_pull(snapshot.number, snapshot)
        fresh = self._fresh(pull, created, snapshot)
        wanted = await cards_for_keys(self.db, self.repository.workspace_id,
                                      linked_keys(snapshot)) if fresh else {}
        await effects.begin([(pull, created)], wanted)
        if fresh:
            await self._apply(effects, pull, snapshot, wanted)
        decided = apply_review(pull, review, action)
        if not decided:
            self.notes.append(f"#{snapshot.number} review by {review.reviewer}: no new decision")
        elif action == "submitted" and pull.state in OPEN:
            event = {"approved": AutomationEvent.PR_APPROVED,
                     "changes_requested": AutomationEvent.PR_CHANGES_REQUESTED}.get(review.state)
            if event is not None:
                effects.trigger(event, pull, review.submitted_at)
        await effects.finish()

    # --- CI ------------------------------------------------------------------------------------

    async def check(self, effects: Effects, event: str, payload: dict[str, Any]) -> None:
        report = check_report(event, payload)
        await lock_commit(self.db, self.repository.id, report.sha)
        if not await store_report(self.db, self.repository.id, report):
            self.notes.append(f"{report.name} at {report.sha[:7]}: older than the stored state")
            return
        pulls = (await self.db.scalars(
            select(PullRequest)
            .where(PullRequest.repository_id == self.repository.id, PullRequest.head_sha == report.sha)
            .order_by(PullRequest.id).with_for_update().execution_options(populate_existing=True)
        )).all()
        if not pulls:
            self.notes.append(f"{report.name} at {report.sha[:7]}: no pull request has this head")
            return
        await effects.begin([(pull, False) for pull in pulls])
        for pull in pulls:
            await refresh_ci(self.db, pull)
        await effects.finish()

    # --- branches ------------------------------------------------------------------------------

    async def push(self, effects: Effects, payload: dict[str, Any]) -> None:
        fact = push_fact(payload)
        if fact is None:
            self.notes.append("push to a tag: ignored")
            return
        await lock_commit(self.db, self.repository.id, fact.sha)
        if not await self.branch(effects, fact):
            return
        if fact.sha is None:
            return
        pulls = (await self.db.scalars(
            select(PullRequest)
            .where(PullRequest.repository_id == self.repository.id,
                   PullRequest.head_branch == fact.branch, PullRequest.state.in_(OPEN))
            .order_by(PullRequest.id).with_for_update().execution_options(populate_existing=True)
        )).all()
        pulls = [pull for pull in pulls if _newer_or_same(fact.at, pull.github_updated_at)]
        if not pulls:
            return
        await effects.begin([(pull, False) for pull in pulls])
        for pull in pulls:
            if pull.head_sha != fact.sha:
                pull.head_sha = fact.sha
                pull.commit_count = None if fact.forced else (pull.commit_count or 0) + fact.commits
                await refresh_ci(self.db, pull)
            if fact.at is not None:
                pull.github_updated_at = max(fact.at, pull.github_updated_at or fact.at)
        await effects.finish()

    async def branch(self, effects: Effects, fact: RefFact | None) -> bool:
        """Record a branch pushed, created or deleted; whether the event was not older than the
        branch's last one."""
        if fact is None:
            self.notes.append("not a branch: ignored")
            return False
        table = RepositoryBranch.__table__
        commits = 0 if fact.forced else fact.commits
        statement = pg_insert(RepositoryBranch).values(
            repository_id=self.repository.id, name=fact.branch, sha=fact.sha, exists=fact.exists,
            commit_count=commits, event_at=fact.at, updated_at=utcnow())
        keep_sha = fact.sha is None and fact.exists  # `create` names no sha: keep a pushed one
        statement = statement.on_conflict_do_update(
            index_elements=["repository_id", "name"],
            set_={"sha": table.c.sha if keep_sha else statement.excluded.sha,
                  "exists": statement.excluded.exists,
                  "commit_count": (0 if fact.forced else table.c.commit_count) + commits,
                  "event_at": statement.excluded.event_at, "updated_at": statement.excluded.updated_at},
            where=(table.c.event_at.is_(None) | statement.excluded.event_at.is_(None)
                   | (statement.excluded.event_at >= table.c.event_at)),
        ).returning(RepositoryBranch.sha, RepositoryBranch.exists, RepositoryBranch.commit_count)
        row = (await self.db.execute(statement)).first()
        if row is None:
            self.notes.append(f"branch {fact.branch}: older than its last event, ignored")
            return False
        entity_id = branch_entity_id(self.repository.id, fact.branch)
        effects.mutation.actor_name = effects.source
        self.mutation.record(
            self.repository.workspace_id, "branch", entity_id, "update" if row.exists else "delete",
            changes={"sha": (None, row.sha), "exists": (None, row.exists)},
            data={"id": entity_id, "repository_id": self.repository.id,
                  "repository": effects.full_name, "name": fact.branch, "sha": row.sha,
                  "exists": row.exists, "commit_count": row.commit_count})
        return True


__all__ = ["HANDLED", "DeliveryProcessor", "PayloadError"]
