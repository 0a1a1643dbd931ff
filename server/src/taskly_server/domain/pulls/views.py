"""Pull requests as the wire sees them, and the pull requests of a batch of cards (one query)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import CheckOut, CiState, PullRequestOut, PullRequestState

from ...db.models import CardPullRequest, PullRequest, Repository


def checks_of(pull: PullRequest) -> list[CheckOut]:
    """The checks of the pull request's head commit (stored with the sha they belong to)."""
    stored = pull.checks or {}
    if not pull.head_sha or stored.get("sha") != pull.head_sha:
        return []
    return [CheckOut.model_validate(check) for check in stored.get("checks") or []]


def pull_request_out(pull: PullRequest, full_name: str) -> PullRequestOut:
    return PullRequestOut(
        id=pull.id, repository=full_name, number=pull.number, title=pull.title,
        state=PullRequestState(pull.state), url=pull.url, author=pull.author,
        head_branch=pull.head_branch, base_branch=pull.base_branch, head_sha=pull.head_sha,
        commit_count=pull.commit_count, draft=pull.state == PullRequestState.DRAFT.value,
        mergeable=pull.mergeable, mergeable_state=pull.mergeable_state, additions=pull.additions,
        deletions=pull.deletions, ci=CiState(pull.ci_status), checks=checks_of(pull),
        approvals=pull.approvals, changes_requested=pull.changes_requested,
        merged_at=pull.merged_at, updated_at=pull.github_updated_at,
    )


async def pull_requests_of(db: AsyncSession,
                           card_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[PullRequestOut]]:
    """Each card's linked pull requests, by repository then number; cards without any map to []."""
    ids = list(card_ids)
    found: dict[uuid.UUID, list[PullRequestOut]] = {card_id: [] for card_id in ids}
    if not ids:
        return found
    rows = await db.execute(
        select(CardPullRequest.card_id, PullRequest, Repository.owner, Repository.name)
        .join(PullRequest, PullRequest.id == CardPullRequest.pull_request_id)
        .join(Repository, Repository.id == PullRequest.repository_id)
        .where(CardPullRequest.card_id.in_(ids))
        .order_by(Repository.owner, Repository.name, PullRequest.number)
    )
    for card_id, pull, owner, name in rows.all():
        found[card_id].append(pull_request_out(pull, f"{owner}/{name}"))
    return found


def summary(pulls: Iterable[PullRequestOut]) -> list[str]:
    """What a card's activity shows of its pull requests: `acme/web#12 open, ci pending, 1 approval`."""
    lines = []
    for pull in pulls:
        parts = [pull.state.value]
        if pull.ci != CiState.NONE:
            parts.append(f"ci {pull.ci.value}")
        if pull.approvals:
            parts.append(f"{pull.approvals} approval{'s' if pull.approvals > 1 else ''}")
        if pull.changes_requested:
            parts.append(f"{pull.changes_requested} change request{'s' if pull.changes_requested > 1 else ''}")
        lines.append(f"{pull.repository}#{pull.number} {', '.join(parts)}")
    return lines
