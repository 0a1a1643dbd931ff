"""Notifications, a feed consumer: who a change concerns, never the one who made it.

- `assigned`: you were added to a card's assignees;
- `mentioned`: `@you` appeared in a card's description or a comment (new mentions only);
- `commented`: a comment on a card you are assigned to (unless it mentions you);
- `ci_failed`, `changes_requested`: a pull request of your card failed CI or got a review asking
  for changes (the card's change carries its pull requests before and after);
- `moved_by_automation`: your card was moved by a pull-request event (a change with a delivery).

Only current members of the workspace are notified, as their preferences allow
(services.write_notifications); each change makes at most one notification of a kind per user.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, select

from ...db.models import ApiToken, Board, Card, Change, User
from ...lib.consumers import Consumer, ConsumerContext
from .services import Draft, write_notifications

MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9](?:[A-Za-z0-9._-]{0,37}[A-Za-z0-9])?)")


def mentions(text: str | None) -> set[str]:
    """The lower-cased usernames `@name` mentions in `text` (not e-mail addresses)."""
    return {name.lower() for name in MENTION.findall(text or "")}


_REQUESTS = re.compile(r"(\d+) change requests?\b")


def pull_states(lines: Any) -> dict[str, tuple[bool, int]]:
    """From a card change's old `pull_requests` (pulls/views.py `summary`: `acme/web#12 open, ci
    failure, 1 change request`): per pull request, whether CI had failed and how many reviews
    asked for changes. The new state is the change's data."""
    states = {}
    for line in lines or []:
        if not isinstance(line, str) or " " not in line:
            continue
        name, _, rest = line.partition(" ")
        requests = _REQUESTS.search(rest)
        states[name] = ("ci failure" in rest, int(requests[1]) if requests else 0)
    return states


def _field(change: Row[Any], name: str) -> tuple[Any, Any] | None:
    values = (change.changes or {}).get(name)
    if not isinstance(values, dict):
        return None
    return values.get("old"), values.get("new")


class _Batch:
    """The drafts of one batch, with the lookups they need done once."""

    def __init__(self, ctx: ConsumerContext, changes: Sequence[Row[Any]]) -> None:
        self.ctx = ctx
        self.changes = changes
        self.drafts: list[Draft] = []
        self.users: dict[str, uuid.UUID] = {}
        self.actors: dict[uuid.UUID, uuid.UUID] = {}
        self.cards: dict[int, dict[str, Any]] = {}
        """Per comment change (by seq): its card as it was then (key, title, assignees)."""

    def add(self, names_or_ids: set[Any], kind: str, change: Row[Any], card: dict[str, Any],
            message: str) -> None:
        actor = self.actor_user(change)
        for who in names_or_ids:
            user_id = who if isinstance(who, uuid.UUID) else self.users.get(str(who).lower())
            if user_id is None or user_id == actor:
                continue
            self.drafts.append(Draft(
                user_id=user_id, kind=kind, workspace_id=change.workspace_id,
                card_id=card.get("id"), card_key=card.get("key"), card_title=card.get("title"),
                actor=change.actor_name or change.actor_type, message=message,
                dedupe_key=f"change:{change.workspace_id}:{change.seq}:{kind}"))

    def actor_user(self, change: Row[Any]) -> uuid.UUID | None:
        if change.actor_type == "user":
            return change.actor_id
        if change.actor_type == "token" and change.actor_id is not None:
            return self.actors.get(change.actor_id)
        return None

    async def load(self) -> None:
        """Usernames named anywhere in the batch, the owners of the API tokens that acted, and the
        cards that comments are on."""
        db = self.ctx.db
        names: set[str] = set()
        tokens: set[uuid.UUID] = set()
        for change in self.changes:
            data = change.data or {}
            if change.actor_type == "token" and change.actor_id is not None:
                tokens.add(change.actor_id)
            if change.entity_type == "card":
                names.update(name.lower() for name in data.get("assignees") or [])
                names |= mentions(data.get("description"))
            elif change.entity_type == "comment" and data.get("card_id"):
                names |= mentions(data.get("body"))
                card = await self.card_then(uuid.UUID(str(data["card_id"])), change.seq)
                if card is not None:
                    self.cards[change.seq] = card
                    names.update(name.lower() for name in card.get("assignees") or [])
        if names:
            self.users = {name: user_id for name, user_id in (await db.execute(
                select(func.lower(User.username), User.id)
                .where(func.lower(User.username).in_(names)))).all()}
        if tokens:
            self.actors = dict((await db.execute(
                select(ApiToken.id, ApiToken.user_id).where(ApiToken.id.in_(tokens)))).all())


    async def card_then(self, card_id: uuid.UUID, seq: int) -> dict[str, Any] | None:
        """The card as its last change before `seq` left it (the feed keeps its wire form), or as
        it is now when the feed no longer has that."""
        data = await self.ctx.db.scalar(
            select(Change.data).where(Change.entity_id == card_id, Change.seq < seq,
                                      Change.workspace_id == self.ctx.workspace_id,
                                      Change.entity_type == "card", Change.data.is_not(None))
            .order_by(Change.seq.desc()).limit(1))
        if data and data.get("key"):
            return data
        row = (await self.ctx.db.execute(
            select(Card.number, Card.title, Card.assignee_ids, Board.key)
            .join(Board, Board.id == Card.board_id).where(Card.id == card_id))).one_or_none()
        if row is None:
            return None
        usernames = dict((await self.ctx.db.execute(
            select(User.id, User.username).where(User.id.in_(row.assignee_ids or [])))).all())
        return {"id": card_id, "key": f"{row.key}-{row.number}", "title": row.title,
                "assignees": [usernames[u] for u in row.assignee_ids or [] if u in usernames]}


def card_drafts(batch: _Batch, change: Row[Any]) -> None:
    card = change.data or {}
    key = card.get("key") or "a card"
    who = change.actor_name or "someone"
    assignees = {name.lower() for name in card.get("assignees") or []}
    if change.op == "create":
        added = assignees
        new_mentions = mentions(card.get("description"))
    else:
        values = _field(change, "assignees")
        added = ({n.lower() for n in values[1] or []} - {n.lower() for n in values[0] or []}
                 if values else set())
        values = _field(change, "description")
        new_mentions = mentions(values[1]) - mentions(values[0]) if values else set()
    batch.add(added, "assigned", change, card, f"{who} assigned you to {key}")
    batch.add(new_mentions, "mentioned", change, card, f"{who} mentioned you in {key}")
    if change.delivery_id and change.actor_type == "automation" and _field(change, "column"):
        column = card.get("column")
        batch.add(assignees, "moved_by_automation", change, card,
                  f"{key} moved to {column} by {who}")
    pulls = _field(change, "pull_requests")
    if pulls is not None:
        before = pull_states(pulls[0])
        for pull in card.get("pull_requests") or []:
            name = f"{pull.get('repository')}#{pull.get('number')}"
            old_failed, old_requests = before.get(name, (False, 0))
            if pull.get("ci") == "failure" and not old_failed:
                batch.add(assignees, "ci_failed", change, card, f"CI failed on {name} of {key}")
            if (pull.get("changes_requested") or 0) > old_requests:
                batch.add(assignees, "changes_requested", change, card,
                          f"changes requested on {name} of {key}")


def comment_drafts(batch: _Batch, change: Row[Any]) -> None:
    comment = change.data or {}
    card = batch.cards.get(change.seq)
    if card is None or change.op not in ("create", "update") or comment.get("deleted"):
        return
    who = change.actor_name or "someone"
    body = comment.get("body")
    if change.op == "create":
        named = mentions(body)
    else:
        values = _field(change, "body")
        named = mentions(values[1]) - mentions(values[0]) if values else set()
    batch.add(named, "mentioned", change, card, f"{who} mentioned you in a comment on {card['key']}")
    if change.op == "create":
        watchers = {name.lower() for name in card.get("assignees") or []} - named
        batch.add(watchers, "commented", change, card, f"{who} commented on {card['key']}")


async def handle(ctx: ConsumerContext, changes: Sequence[Row[Any]]) -> None:
    relevant = [c for c in changes if c.entity_type in ("card", "comment") and c.data]
    if not relevant:
        return
    batch = _Batch(ctx, relevant)
    await batch.load()
    for change in relevant:
        if change.entity_type == "card":
            card_drafts(batch, change)
        else:
            comment_drafts(batch, change)
    newest = await write_notifications(ctx.db, batch.drafts, ctx.now)
    if newest:
        ctx.effects += len(newest)
        announcer = ctx.announcer
        if announcer is not None:
            ctx.before_commit.append(lambda db: announcer.users_before_commit(db, newest))
            ctx.after_commit.append(lambda: announcer.users_after_commit(newest))


WHERE = ("entity_type = 'comment' OR (entity_type = 'card' AND (op = 'create' "
         "OR changes ?| array['assignees', 'description', 'pull_requests'] "
         "OR (delivery_id IS NOT NULL AND changes ? 'column')))")
"""The changes that may notify anyone, as a condition the database checks (plain moves, the most
common change, are not read)."""

CONSUMER = Consumer(name="notifications", handle=handle, actor="notifications", where=WHERE)
