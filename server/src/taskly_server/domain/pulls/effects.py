"""What one delivery changes, recorded in the change feed: pull requests, their cards' data, and the
automation moves, each attributed to the delivery.

Locks are always taken in one order (commit advisory lock → pull requests by id → cards by id →
target column → workspace seq at flush), and a card is evaluated only while its row is locked, so
two deliveries about two PRs of one card see each other's committed state: the later one decides.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import AutomationEvent, CardOut, PullRequestOut, PullRequestState

from ...db.base import utcnow
from ...db.models import Card, CardPullRequest, Change, PullRequest, Repository
from ..cards.lookup import Ranks, lock_column, rank_between
from ..cards.views import CardRenderer
from ..sync.mutation import Mutation
from .rules import Target, target
from .views import pull_request_out, summary

CLOSED = (PullRequestState.CLOSED, PullRequestState.MERGED)


@dataclass(frozen=True, slots=True)
class Trigger:
    """A pull-request event that may move the PR's cards, at GitHub's time of the event."""

    event: AutomationEvent
    pull_id: uuid.UUID
    at: datetime | None


@dataclass(frozen=True, slots=True)
class Moved:
    key: str
    column: str
    rule: str


class Effects:
    """The pull requests and cards one delivery touches, their state before, and what changed."""

    def __init__(self, mutation: Mutation, repository: Repository, source: str) -> None:
        self.mutation = mutation
        self.db: AsyncSession = mutation.db
        self.repository = repository
        self.full_name = f"{repository.owner}/{repository.name}"
        self.source = source
        """The actor name of changes no rule made: `github pull_request.edited`."""
        self.renderer = CardRenderer(self.db)
        self.pulls: dict[uuid.UUID, PullRequest] = {}
        self.pulls_before: dict[uuid.UUID, PullRequestOut | None] = {}
        self.cards: dict[uuid.UUID, Card] = {}
        self.cards_before: dict[uuid.UUID, CardOut] = {}
        self.triggers: list[Trigger] = []
        self.moved: list[Moved] = []
        self.skipped: list[str] = []

    # --- before any change ---------------------------------------------------------------------

    async def begin(self, pulls: Iterable[tuple[PullRequest, bool]],
                    card_ids: Iterable[uuid.UUID] = ()) -> None:
        """Track the locked pull requests (with whether each was just created) and lock their cards,
        plus `card_ids`, remembering how each looked; call before changing anything."""
        pulls = list(pulls)
        for pull, created in pulls:
            self.pulls[pull.id] = pull
            self.pulls_before[pull.id] = None if created else pull_request_out(pull, self.full_name)
        wanted = set(card_ids) | set(await self.linked_cards(self.pulls))
        if wanted:
            cards = (await self.db.scalars(
                select(Card).where(Card.id.in_(wanted)).order_by(Card.id)
                .with_for_update().execution_options(populate_existing=True)
            )).all()
            for card, out in zip(cards, await self.renderer.many(cards), strict=True):
                self.cards[card.id] = card
                self.cards_before[card.id] = out

    async def linked_cards(self, pull_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
        ids = list(pull_ids)
        if not ids:
            return []
        return list((await self.db.scalars(
            select(CardPullRequest.card_id).where(CardPullRequest.pull_request_id.in_(ids))
        )).all())

    # --- changes -------------------------------------------------------------------------------

    async def relink(self, pull: PullRequest, wanted: dict[uuid.UUID, bool]) -> None:
        """Link the pull request to exactly the cards its keys name now (a deleted card stays
        linked if it was, and is not newly linked); `wanted` maps card id → deleted."""
        current = set(await self.linked_cards([pull.id]))
        keep = {card_id for card_id, deleted in wanted.items() if not deleted or card_id in current}
        added, removed = keep - current, current - keep
        if added:
            await self.db.execute(insert(CardPullRequest), [
                {"card_id": card_id, "pull_request_id": pull.id, "created_at": utcnow()}
                for card_id in sorted(added)])
        if removed:
            await self.db.execute(delete(CardPullRequest).where(
                CardPullRequest.pull_request_id == pull.id, CardPullRequest.card_id.in_(removed)))

    def trigger(self, event: AutomationEvent, pull: PullRequest, at: datetime | None) -> None:
        self.triggers.append(Trigger(event, pull.id, at))

    # --- the end: feed rows and moves ----------------------------------------------------------

    async def finish(self) -> None:
        """Record every pull request and card that changed, moving cards as the rules say."""
        await self.db.flush()
        for pull in self.pulls.values():
            before = self.pulls_before[pull.id]
            after = pull_request_out(pull, self.full_name)
            if before is not None and before == after:
                continue
            pull.version = (pull.version or 1) + (0 if before is None else 1)
            pull.updated_at = utcnow()
            self._record("pull_request", pull.id, "create" if before is None else "update",
                         _pull_changes(before, after), after, pull.version, self.source)
        if not self.cards:
            return
        self.renderer.forget_pull_requests(self.cards)
        links = await self._links(self.cards)
        manual = await self._manual_moves(self.cards) if self.triggers else {}
        for card_id, card in self.cards.items():
            before = self.cards_before[card_id]
            move = await self._automate(card, links.get(card_id, set()), manual.get(card_id))
            after = await self.renderer.one(card)
            changes: dict[str, tuple[Any, Any]] = {}
            if after.pull_requests != before.pull_requests:
                changes["pull_requests"] = (summary(before.pull_requests), summary(after.pull_requests))
            if move is not None:
                for field in ("column", "column_id", "rank"):
                    if getattr(before, field) != getattr(after, field):
                        changes[field] = (getattr(before, field), getattr(after, field))
            if not changes:
                continue
            card.version += 1
            card.updated_at = utcnow()
            await self.db.flush()
            after = await self.renderer.one(card)
            actor = move.rule if move is not None else self.source
            self._record("card", card.id, "move" if move is not None else "update", changes, after,
                         card.version, actor)
            if move is not None:
                self.moved.append(Moved(after.key, after.column, move.rule))

    def _record(self, entity_type: str, entity_id: uuid.UUID, op: str,
                changes: dict[str, tuple[Any, Any]], data: Any, version: int, actor: str) -> None:
        self.mutation.actor_name = actor[:255]
        self.mutation.record(self.repository.workspace_id, entity_type, entity_id, op,
                             changes=changes, data=data, version=version)

    async def _links(self, card_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, set[uuid.UUID]]:
        """Each card's linked pull requests now."""
        rows = await self.db.execute(
            select(CardPullRequest.card_id, CardPullRequest.pull_request_id)
            .where(CardPullRequest.card_id.in_(list(card_ids))))
        links: dict[uuid.UUID, set[uuid.UUID]] = {}
        for card_id, pull_id in rows.all():
            links.setdefault(card_id, set()).add(pull_id)
        return links

    async def _manual_moves(self, card_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, datetime]:
        """When each card last changed column by a person (or their token), not by automation."""
        rows = await self.db.execute(
            select(Change.entity_id, func.max(Change.created_at))
            .where(Change.workspace_id == self.repository.workspace_id, Change.entity_type == "card",
                   Change.entity_id.in_(list(card_ids)), Change.op.in_(("move", "update")),
                   Change.actor_type != "automation", Change.changes.has_key("column_id"))
            .group_by(Change.entity_id))
        return dict(rows.all())

    async def _automate(self, card: Card, pull_ids: set[uuid.UUID],
                        manual_at: datetime | None) -> _Move | None:
        """Apply the rule of the newest trigger about one of the card's pull requests, if any."""
        triggers = [t for t in self.triggers if t.pull_id in pull_ids]
        if not triggers or card.deleted_at is not None:
            return None
        trigger = triggers[-1]
        event = await self._event(trigger, pull_ids)
        if event is None:
            return None
        board = self.renderer.boards[card.board_id]
        columns = [c for c in self.renderer.columns.values() if c.board_id == board.id]
        found = target(board.automation, event, columns)
        if found is None:
            return None
        current = self.renderer.columns.get(card.column_id)
        if card.column_id == found.column.id or (
                found.kind is not None and current is not None and current.kind == found.kind.value):
            return None
        # GitHub's times have whole seconds: a move within the event's second is not after it
        if manual_at is not None and trigger.at is not None and manual_at.replace(microsecond=0) > trigger.at:
            self.skipped.append(f"{self.cards_before[card.id].key}: moved by hand after the event")
            return None
        await self._place(card, found)
        return _Move(found.actor(event))

    async def _event(self, trigger: Trigger, pull_ids: set[uuid.UUID]) -> AutomationEvent | None:
        """The rule a trigger applies; a closing PR applies `pr_merged` once every linked PR is
        closed and at least one merged, else `pr_closed` (unmerged) or nothing (merged)."""
        if trigger.event not in (AutomationEvent.PR_MERGED, AutomationEvent.PR_CLOSED):
            return trigger.event
        states = [PullRequestState(s) for s in (await self.db.scalars(
            select(PullRequest.state).where(PullRequest.id.in_(pull_ids)))).all()]
        if all(s in CLOSED for s in states) and PullRequestState.MERGED in states:
            return AutomationEvent.PR_MERGED
        return AutomationEvent.PR_CLOSED if trigger.event == AutomationEvent.PR_CLOSED else None

    async def _place(self, card: Card, found: Target) -> None:
        """Bottom of the target column (its row locked, like a person's move)."""
        await lock_column(self.db, found.column.id)
        lower, upper = await Ranks(self.db, found.column.id, moving=card.id).bounds("bottom")
        card.column_id = found.column.id
        card.rank = rank_between(lower, upper)


@dataclass(frozen=True, slots=True)
class _Move:
    rule: str


def _pull_changes(before: PullRequestOut | None, after: PullRequestOut) -> dict[str, tuple[Any, Any]]:
    fields = ("title", "state", "head_branch", "head_sha", "ci", "approvals", "changes_requested",
              "commit_count")
    if before is None:
        return {field: (None, getattr(after, field)) for field in ("number", *fields)}
    return {field: (getattr(before, field), getattr(after, field)) for field in fields
            if getattr(before, field) != getattr(after, field)}

