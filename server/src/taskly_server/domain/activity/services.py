"""The workspace's audit log: who changed what (each field from what to what) and when, newest
first, read from the change feed.

It reads a Change row's audit part only (op, fields with old and new values, actor, time), never
its sync payload (`data`), which `prune_feed` strips from old rows: pruning never removes what the
audit log shows. Members and up read it (viewers sync the feed, but the log of who did what is
for the people who work in the workspace).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import ActivityPage, Role

from ...db.models import ApiToken, Change, Comment, User
from ...errors import Invalid, NotFound
from ...lib.access import require_role
from ...lib.principal import Principal
from ..cards.queries import find_card
from ..cards.views import change_out

ENTITIES = ("card", "comment", "column", "board", "sprint", "member", "workspace", "label")
OPS = ("create", "update", "delete", "restore", "move")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True)
class ActivityQuery:
    """The filters of one page: each None when not given."""

    user: str | None = None
    card: str | None = None
    entity: str | None = None
    op: str | None = None
    since: str | None = None
    until: str | None = None
    cursor: int | None = None
    limit: int = DEFAULT_LIMIT


def parse_time(value: str | None, name: str, end: bool = False) -> datetime | None:
    """An ISO date-time (naive: UTC) or a date (its start; with `end`, the start of the next day)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1) if end else day, time.min, UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise Invalid(f"{name} must be a date (2026-12-01) or an ISO date-time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class ActivityService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def page(self, principal: Principal, workspace_id: uuid.UUID, query: ActivityQuery) -> ActivityPage:
        """One page, newest first; `next_cursor` (a seq) continues with older changes."""
        await require_role(self.db, workspace_id, principal.user_id, Role.MEMBER)
        if query.entity is not None and query.entity not in ENTITIES:
            raise Invalid(f"entity must be one of {', '.join(ENTITIES)}")
        if query.op is not None and query.op not in OPS:
            raise Invalid(f"op must be one of {', '.join(OPS)}")
        since = parse_time(query.since, "since")
        until = parse_time(query.until, "until", end=True)
        statement = select(Change).where(Change.workspace_id == workspace_id)
        if query.cursor is not None:
            statement = statement.where(Change.seq < query.cursor)
        if query.entity is not None:
            statement = statement.where(Change.entity_type == query.entity)
        if query.op is not None:
            statement = statement.where(Change.op == query.op)
        if since is not None:
            statement = statement.where(Change.created_at >= since)
        if until is not None:
            statement = statement.where(Change.created_at < until)
        if query.user is not None:
            statement = statement.where(await self._by_user(workspace_id, query.user))
        if query.card is not None:
            statement = statement.where(await self._of_card(principal, workspace_id, query.card))
        rows = (await self.db.scalars(statement.order_by(Change.seq.desc()).limit(query.limit + 1))).all()
        more = len(rows) > query.limit
        rows = rows[:query.limit]
        changes = [change_out(row).model_copy(update={"data": None}) for row in rows]
        return ActivityPage(changes=changes, next_cursor=rows[-1].seq if more and rows else None)

    async def _by_user(self, workspace_id: uuid.UUID, ref: str):
        """Changes made by a user (by username or id, a member or a former one): as themselves or
        through their API tokens."""
        by_name = func.lower(User.username) == ref.strip().lower()
        try:
            condition = or_(User.id == uuid.UUID(ref), by_name)
        except ValueError:
            condition = by_name
        user_id = await self.db.scalar(select(User.id).where(condition))
        if user_id is None:
            raise NotFound(f"no user {ref!r}")
        tokens = select(ApiToken.id).where(ApiToken.user_id == user_id).scalar_subquery()
        return or_(Change.actor_id == user_id, Change.actor_id.in_(tokens))

    async def _of_card(self, principal: Principal, workspace_id: uuid.UUID, ref: str):
        """A card's changes and its comments' (by id or key)."""
        handle = await find_card(self.db, principal.user_id, ref)
        if handle.workspace_id != workspace_id:
            raise NotFound(f"no card {ref!r} in this workspace")
        comments = select(Comment.id).where(Comment.card_id == handle.id).scalar_subquery()
        return or_(Change.entity_id == handle.id,
                   (Change.entity_type == "comment") & Change.entity_id.in_(comments))

