"""What one delivery changes, recorded in the change feed: the data of the cards whose pull requests
changed (`pull_requests` of each card), and the automation moves, attributed to the delivery.

Pull requests reach clients through their cards: a card's change carries the new state of every
PR linked to it, so one delivery adds one feed row per card it touches, and nothing when no card
shows the PR (the feed's seq is taken under the workspace's row lock, so fewer rows per delivery
is more deliveries per second).

The rules decide here (which event, which column, a card moved by hand after the event); the move
itself is the one move function's (cards/placement.py): placement, rank, version and the card's
one Change, with its `pull_requests` summary merged in and the rule as the actor. A card whose
pull requests changed but that does not move is saved and recorded here.

Locks are always taken in one order (the commit's advisory lock → the check's or branch's row →
pull requests by id → cards by id → target column → workspace seq at flush), and a card is read
only once its row is locked, so two deliveries about two PRs of one card see each other's
committed state: the later one decides.

Cards are rendered once, before any change (by `CardRenderer.render`, from rows this module
loads); the new wire state of a card that does not move is that rendering with the changed pull
requests put in, so a delivery costs no second round of reads.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from taskly_shared.models import (
    AutomationEvent,
    CardOut,
    PullRequestOut,
    PullRequestState,
)

from ...db.base import utcnow
from ...lib.mutation import Mutation, jsonable
from ..cards.placement import Move, make_moves
from ..cards.views import CardRenderer
from .queries import CardRow, ColumnRow, PullRow, PullStore, RepositoryRow, jsonb
from .rules import target
from .views import pull_request_out, summary

CLOSED = (PullRequestState.CLOSED, PullRequestState.MERGED)


@dataclass(frozen=True, slots=True)
class Trigger:
    """A pull-request event that may move the PR's cards (only `cards`, when given), at GitHub's
    time of the event."""

    event: AutomationEvent
    pull_id: uuid.UUID
    at: datetime | None
    cards: frozenset[uuid.UUID] | None = None


@dataclass(frozen=True, slots=True)
class Moved:
    key: str
    column: str
    rule: str


@dataclass(frozen=True, slots=True)
class _Move:
    rule: str
    column: ColumnRow


@dataclass(frozen=True, slots=True)
class _Moving:
    """A card a rule moves, with its pull requests after the delivery and what they changed."""

    card: CardRow
    move: _Move
    pulls: list[PullRequestOut]
    changes: dict[str, tuple[Any, Any]]


class Effects:
    """The pull requests and cards one delivery touches, their state before, and what changed."""

    def __init__(self, mutation: Mutation, store: PullStore, repository: RepositoryRow,
                 source: str, via: str | None = None) -> None:
        self.mutation = mutation
        self.store = store
        self.repository = repository
        self.full_name = f"{repository.owner}/{repository.name}"
        self.source = source
        """The actor name of changes no rule made: `github pull_request.edited`."""
        self.via = via
        """Not a webhook: the rule's moves are attributed `reconcile: pr_merged → done`."""
        self.renderer = CardRenderer(mutation.db)
        self.pulls: dict[uuid.UUID, PullRow] = {}
        self.pulls_loaded: dict[uuid.UUID, PullRow | None] = {}
        self.links: dict[uuid.UUID, set[uuid.UUID]] = {}
        """Pull request id → its linked cards, kept current by `relink`."""
        self.cards: dict[uuid.UUID, CardRow] = {}
        self.cards_before: dict[uuid.UUID, CardOut] = {}
        self.triggers: list[Trigger] = []
        self.moved: list[Moved] = []
        self.skipped: list[str] = []

    # --- before any change ---------------------------------------------------------------------

    async def begin(self, pulls: Iterable[tuple[PullRow, bool]],
                    card_ids: Iterable[uuid.UUID] = ()) -> None:
        """Track the locked pull requests (with whether each was just created) and lock their cards,
        plus `card_ids`, remembering how each looked; call before changing anything."""
        for pull, created in pulls:
            self.pulls[pull.id] = pull
            self.pulls_loaded[pull.id] = None if created else dataclasses.replace(pull)
            self.links[pull.id] = set()
        found = await self.store.lock_cards(self.pulls, card_ids)
        for card, linked_to in found:
            for pull_id in linked_to:
                self.links[pull_id].add(card.id)
        cards = [card for card, _ in found]
        if not cards:
            return
        await self._load(cards)
        for card in cards:
            self.cards[card.id] = card
            self.cards_before[card.id] = self.renderer.render(card)

    async def _load(self, cards: list[CardRow]) -> None:
        """Give the renderer the boards, columns, usernames and pull requests of `cards`."""
        boards, columns = await self.store.boards({c.board_id for c in cards})
        self.renderer.boards.update({b.id: b for b in boards})
        self.renderer.columns.update({c.id: c for c in columns})
        users = {u for c in cards for u in c.assignee_ids} | {c.created_by for c in cards if c.created_by}
        self.renderer.usernames.update(await self.store.usernames(users))
        self.renderer.pull_requests.update(await self.store.card_pull_requests([c.id for c in cards]))

    # --- changes -------------------------------------------------------------------------------

    async def relink(self, pull: PullRow, wanted: dict[uuid.UUID, bool]) -> set[uuid.UUID]:
        """Link the pull request to exactly the cards its keys name now (a deleted card stays
        linked if it was, and is not newly linked); `wanted` maps card id → deleted. The cards
        linked now that were not."""
        current = self.links[pull.id]
        keep = {card_id for card_id, deleted in wanted.items()
                if card_id in self.cards and (not deleted or card_id in current)}
        added, removed = keep - current, current - keep
        if added:
            await self.store.link(pull.id, added)
        if removed:
            await self.store.unlink(pull.id, removed)
        self.links[pull.id] = keep
        return added

    def trigger(self, event: AutomationEvent, pull: PullRow, at: datetime | None,
                cards: Iterable[uuid.UUID] | None = None) -> None:
        self.triggers.append(Trigger(event, pull.id, at, frozenset(cards) if cards is not None else None))

    # --- the end: feed rows and moves ----------------------------------------------------------

    async def finish(self) -> None:
        """Save and record every pull request and card that changed, moving cards as the rules say."""
        pulls_after: dict[uuid.UUID, PullRequestOut] = {}
        for pull in self.pulls.values():
            loaded = self.pulls_loaded[pull.id]
            pulls_after[pull.id] = pull_request_out(pull, self.full_name)
            if loaded is not None and loaded == pull:
                continue
            if loaded is not None:
                pull.version += 1
            await self.store.save_pull(pull)
        manual = await self.store.manual_moves(self.repository.workspace_id, self.cards) if self.triggers else {}
        moves: list[_Moving] = []
        for card_id, card in self.cards.items():
            moving = await self._finish_card(card, pulls_after, manual.get(card_id))
            if moving is not None:
                moves.append(moving)
        await self._move(moves)

    async def _finish_card(self, card: CardRow, pulls_after: dict[uuid.UUID, PullRequestOut],
                           manual_at: datetime | None) -> _Moving | None:
        """Save and record a card whose pull requests changed; a card to move is returned instead."""
        before = self.cards_before[card.id]
        pulls = {p.id: p for p in before.pull_requests}
        for pull_id, after in pulls_after.items():
            if card.id in self.links[pull_id]:
                pulls[pull_id] = after
            else:
                pulls.pop(pull_id, None)
        ordered = sorted(pulls.values(), key=lambda p: (p.repository.lower(), p.number))
        move = await self._automate(card, ordered, manual_at)
        changes: dict[str, tuple[Any, Any]] = {}
        if ordered != before.pull_requests:
            changes["pull_requests"] = (summary(before.pull_requests), summary(ordered))
        if move is not None:
            return _Moving(card, move, ordered, changes)
        await self._save(card, ordered, changes)
        return None

    async def _save(self, card: CardRow, ordered: list[PullRequestOut],
                    changes: dict[str, tuple[Any, Any]]) -> None:
        if not changes:
            return
        before = self.cards_before[card.id]
        card.version += 1
        card.updated_at = utcnow()
        await self.store.save_card(card)
        after = before.model_copy(update={"pull_requests": ordered, "version": card.version,
                                          "updated_at": card.updated_at})
        self._record("card", card.id, "update", changes, after, card.version, self.source)

    async def _move(self, moves: list[_Moving]) -> None:
        """To the bottom of each rule's column, in one call of the move function, after every
        card's lock (the column locks come next, then the workspace's): one Change per card, with
        its pull requests' summary merged in, attributed to the rule."""
        if not moves:
            return
        placed = await make_moves(self.mutation, [Move.by(
            self.mutation, card_id=m.card.id, column_id=m.move.column.id, position="bottom",
            before=self.cards_before[m.card.id].model_dump_json(), op="move",
            extra_changes=jsonb({f: {"old": jsonable(old), "new": jsonable(new)}
                                 for f, (old, new) in m.changes.items()}) if m.changes else None,
            actor_name=self._mover(m.move.rule)) for m in moves])
        for moving, answer in zip(moves, placed, strict=True):
            if answer.body is None:  # the cards are locked: only a column deleted meanwhile refuses
                self.skipped.append(f"{self.cards_before[moving.card.id].key}: not moved ({answer.code})")
                await self._save(moving.card, moving.pulls, moving.changes)
                continue
            after = json.loads(answer.body)
            self.moved.append(Moved(after["key"], after["column"], moving.move.rule))

    def _mover(self, rule: str) -> str:
        return (f"{self.via}: {rule}" if self.via else rule)[:255]

    def _record(self, entity_type: str, entity_id: uuid.UUID, op: str,
                changes: dict[str, tuple[Any, Any]], data: Any, version: int, actor: str) -> None:
        self.mutation.actor_name = actor[:255]
        self.mutation.record(self.repository.workspace_id, entity_type, entity_id, op,
                             changes=changes, data=data, version=version)

    async def _automate(self, card: CardRow, pulls: list[PullRequestOut],
                        manual_at: datetime | None) -> _Move | None:
        """Apply the rule of the newest trigger about one of the card's pull requests, if any."""
        linked = {p.id for p in pulls}
        triggers = [t for t in self.triggers
                    if t.pull_id in linked and (t.cards is None or card.id in t.cards)]
        if not triggers or card.deleted_at is not None:
            return None
        trigger = triggers[-1]
        event = _event(trigger, pulls)
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
        return _Move(found.actor(event), found.column)


def _event(trigger: Trigger, pulls: list[PullRequestOut]) -> AutomationEvent | None:
    """The rule a trigger applies; a closing PR applies `pr_merged` once every linked PR is closed
    and at least one merged, else `pr_closed` (closed unmerged) or nothing (merged)."""
    if trigger.event not in (AutomationEvent.PR_MERGED, AutomationEvent.PR_CLOSED):
        return trigger.event
    states = [p.state for p in pulls]
    if all(s in CLOSED for s in states) and PullRequestState.MERGED in states:
        return AutomationEvent.PR_MERGED
    return AutomationEvent.PR_CLOSED if trigger.event == AutomationEvent.PR_CLOSED else None

