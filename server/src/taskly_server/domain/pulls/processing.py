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

from taskly_shared.models import AutomationEvent, PullRequestState

from ...lib.mutation import Mutation
from .ci import refresh_ci
from .effects import Effects
from .linking import linked_keys
from .payloads import (
    CheckReport,
    PayloadError,
    PullSnapshot,
    RefFact,
    check_report,
    pull_snapshot,
    push_fact,
    ref_fact,
    review_fact,
)
from .queries import PullRow, PullStore, RepositoryRow
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

    def __init__(self, mutation: Mutation, store: PullStore, repository: RepositoryRow,
                 via: str = "github") -> None:
        self.mutation = mutation
        self.via = via
        """Who reports the event: `github` (a webhook) or `reconcile` (read back from the API)."""
        self.store = store
        self.repository = repository
        self.notes: list[str] = []

    async def run(self, event: str, action: str | None, payload: dict[str, Any]) -> Effects | None:
        """Payloads are decoded before anything is written, so a PayloadError leaves no trace."""
        source = f"{self.via} {event}.{action}" if action else f"{self.via} {event}"
        effects = Effects(self.mutation, self.store, self.repository, source,
                          via=None if self.via == "github" else self.via)
        match event:
            case "pull_request":
                await self.pull_request(effects, action or "", pull_snapshot(payload))
            case "pull_request_review":
                await self.review(effects, action or "", pull_snapshot(payload), payload)
            case "check_suite" | "check_run" | "status":
                await self.check(effects, check_report(event, payload))
            case "push":
                await self.push(effects, push_fact(payload))
            case "create" | "delete":
                await self.branch(effects, ref_fact(payload, created=event == "create"))
            case _:
                return None
        return effects

    # --- pull requests -------------------------------------------------------------------------

    async def _lock_pull(self, snapshot: PullSnapshot) -> tuple[PullRow, bool]:
        """The pull request's row, locked; created from the snapshot when missing."""
        pull = await self.store.lock_pull(self.repository.id, snapshot.number)
        if pull is not None:
            return pull, False
        created = await self.store.create_pull(self.repository.id, snapshot)
        pull = await self.store.lock_pull(self.repository.id, snapshot.number)
        assert pull is not None
        return pull, created

    @staticmethod
    def _fresh(pull: PullRow, created: bool, snapshot: PullSnapshot) -> bool:
        return created or _newer_or_same(snapshot.updated_at, pull.github_updated_at)

    async def _apply(self, effects: Effects, pull: PullRow, snapshot: PullSnapshot,
                     wanted: dict[uuid.UUID, bool]) -> set[uuid.UUID]:
        """Take the snapshot's fields, links and (for a new head commit) CI; the cards linked now
        that were not."""
        head_changed = pull.head_sha != snapshot.head_sha
        pull.title, pull.body, pull.state = snapshot.title, snapshot.body, snapshot.state
        pull.head_branch, pull.base_branch = snapshot.head_branch, snapshot.base_branch
        pull.url, pull.author, pull.head_sha = snapshot.url, snapshot.author, snapshot.head_sha
        pull.merged_at = snapshot.merged_at
        pull.github_updated_at = snapshot.updated_at or pull.github_updated_at
        if snapshot.commit_count is not None:
            pull.commit_count = snapshot.commit_count
        for name in ("additions", "deletions", "mergeable_state"):
            if getattr(snapshot, name) is not None:
                setattr(pull, name, getattr(snapshot, name))
        # GitHub answers null while it computes mergeability: a new head makes the old answer stale
        if snapshot.mergeable is not None or head_changed:
            pull.mergeable = snapshot.mergeable
        added = await effects.relink(pull, wanted)
        if head_changed or not pull.checks:
            await refresh_ci(self.store, pull)
        return added

    async def pull_request(self, effects: Effects, action: str, snapshot: PullSnapshot) -> None:
        await self.store.lock_commit(self.repository.id, snapshot.head_sha)
        pull, created = await self._lock_pull(snapshot)
        if not self._fresh(pull, created, snapshot):
            self.notes.append(f"#{snapshot.number} {action}: older than the stored state, ignored")
            return
        wanted = await self.store.cards_for_keys(self.repository.workspace_id, linked_keys(snapshot))
        await effects.begin([(pull, created)], wanted)
        was = pull.state if not created else None
        added = await self._apply(effects, pull, snapshot, wanted)
        event = self._pull_event(action, was, pull.state)
        if event is not None:
            # a merge happened at merged_at, whatever touched the PR since (a comment, a label)
            at = snapshot.merged_at if event == AutomationEvent.PR_MERGED and snapshot.merged_at else None
            effects.trigger(event, pull, at or snapshot.updated_at)
        elif added and pull.state == PullRequestState.OPEN.value:  # linked by an edit: it is open
            effects.trigger(AutomationEvent.PR_OPENED, pull, snapshot.updated_at, cards=added)
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

    async def review(self, effects: Effects, action: str, snapshot: PullSnapshot,
                     payload: dict[str, Any]) -> None:
        review = review_fact(payload)
        await self.store.lock_commit(self.repository.id, snapshot.head_sha)
        pull, created = await self._lock_pull(snapshot)
        fresh = self._fresh(pull, created, snapshot)
        wanted = await self.store.cards_for_keys(self.repository.workspace_id,
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

    async def check(self, effects: Effects, report: CheckReport) -> None:
        await self.store.lock_commit(self.repository.id, report.sha)
        if not await self.store.store_check(self.repository.id, report):
            self.notes.append(f"{report.name} at {report.sha[:7]}: older than the stored state")
            return
        pulls = await self.store.lock_pulls(self.repository.id, head_sha=report.sha)
        if not pulls:
            self.notes.append(f"{report.name} at {report.sha[:7]}: no pull request has this head")
            return
        await effects.begin([(pull, False) for pull in pulls])
        for pull in pulls:
            await refresh_ci(self.store, pull)
        await effects.finish()

    # --- branches ------------------------------------------------------------------------------

    async def push(self, effects: Effects, fact: RefFact | None) -> None:
        if fact is None:
            self.notes.append("push to a tag: ignored")
            return
        await self.store.lock_commit(self.repository.id, fact.sha)
        if not await self.branch(effects, fact) or fact.sha is None:
            return
        pulls = [pull for pull in await self.store.lock_pulls(self.repository.id, open_on_branch=fact.branch)
                 if _newer_or_same(fact.at, pull.github_updated_at)]
        if not pulls:
            return
        await effects.begin([(pull, False) for pull in pulls])
        for pull in pulls:
            if pull.head_sha != fact.sha:
                pull.head_sha = fact.sha
                pull.commit_count = None if fact.forced else (pull.commit_count or 0) + fact.commits
                await refresh_ci(self.store, pull)
            if fact.at is not None:
                pull.github_updated_at = max(fact.at, pull.github_updated_at or fact.at)
        await effects.finish()

    async def branch(self, effects: Effects, fact: RefFact | None) -> bool:
        """Record a branch pushed, created or deleted; whether the event was not older than the
        branch's last one."""
        if fact is None:
            self.notes.append("not a branch: ignored")
            return False
        row = await self.store.store_branch(self.repository.id, fact)
        if row is None:
            self.notes.append(f"branch {fact.branch}: older than its last event, ignored")
            return False
        sha, exists, commit_count = row
        entity_id = branch_entity_id(self.repository.id, fact.branch)
        self.mutation.actor_name = effects.source
        self.mutation.record(
            self.repository.workspace_id, "branch", entity_id, "update" if exists else "delete",
            changes={"sha": (None, sha), "exists": (None, exists)},
            data={"id": entity_id, "repository_id": self.repository.id, "repository": effects.full_name,
                  "name": fact.branch, "sha": sha, "exists": exists, "commit_count": commit_count})
        return True


__all__ = ["HANDLED", "DeliveryProcessor", "PayloadError"]
