"""Notifications: writing them once each, numbered per user, and what a user reads and marks.

Each user's notifications are numbered (`seq`) under a lock on the user's row, like a workspace's
changes, so seq order is commit order and a WebSocket that caught up to seq N never misses one
committed later with a smaller number. A notification is inserted once per `(user, dedupe_key)`:
the change that caused it (workspace, seq, kind) or the reminder it is (card, time).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import (
    NotificationOut,
    NotificationsPage,
    NotificationsRead,
    NotificationsReadResult,
    UserSettings,
    UserSettingsPatch,
)

from ...db.base import utcnow
from ...db.models import Member, Notification, User
from ...errors import Invalid, NotFound
from ...lib.principal import Principal

MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class Draft:
    """A notification to write, before its user's preferences and membership are checked."""

    user_id: uuid.UUID
    kind: str
    workspace_id: uuid.UUID
    card_id: uuid.UUID | None
    card_key: str | None
    card_title: str | None
    actor: str | None
    message: str
    dedupe_key: str


def notification_out(row: Notification) -> NotificationOut:
    return NotificationOut(
        id=row.id, seq=row.seq, kind=row.kind, workspace_id=row.workspace_id, card_id=row.card_id,
        card_key=row.card_key, card_title=row.card_title, actor=row.actor, message=row.message,
        created_at=row.created_at, read_at=row.read_at)


async def write_notifications(db: AsyncSession, drafts: Iterable[Draft], now: datetime,
                              members_only: bool = True) -> dict[uuid.UUID, int]:
    """Insert the drafts their users want (and, with `members_only`, who are still members of the
    draft's workspace); each user's newest seq, for the realtime notice. Users' rows are locked in
    id order, so two writers never deadlock."""
    drafts = list(drafts)
    if not drafts:
        return {}
    if members_only:
        pairs = {(d.workspace_id, d.user_id) for d in drafts}
        members = {tuple(row) for row in (await db.execute(
            select(Member.workspace_id, Member.user_id).where(
                Member.user_id.in_({user for _, user in pairs}),
                Member.workspace_id.in_({workspace for workspace, _ in pairs})))).all()}
        drafts = [d for d in drafts if (d.workspace_id, d.user_id) in members]
    by_user: dict[uuid.UUID, list[Draft]] = defaultdict(list)
    for draft in drafts:
        by_user[draft.user_id].append(draft)
    if not by_user:
        return {}
    preferences = dict((await db.execute(
        select(User.id, User.notify).where(User.id.in_(by_user)).order_by(User.id).with_for_update()
    )).all())
    newest: dict[uuid.UUID, int] = {}
    for user_id in sorted(by_user):
        wanted = [d for d in by_user[user_id]
                  if user_id in preferences and (preferences[user_id] or {}).get(d.kind, True)]
        wanted = list({d.dedupe_key: d for d in wanted}.values())
        if not wanted:
            continue
        top = await db.scalar(update(User).where(User.id == user_id)
                              .values(notification_seq=User.notification_seq + len(wanted))
                              .returning(User.notification_seq))
        first = top - len(wanted) + 1
        inserted = await db.scalars(pg_insert(Notification).values([
            {"id": uuid.uuid4(), "user_id": user_id, "workspace_id": d.workspace_id, "card_id": d.card_id,
             "kind": d.kind, "message": d.message[:2000], "card_key": d.card_key,
             "card_title": (d.card_title or "")[:255] or None, "actor": (d.actor or "")[:255] or None,
             "dedupe_key": d.dedupe_key[:200], "seq": first + i, "created_at": now, "updated_at": now}
            for i, d in enumerate(wanted)
        ]).on_conflict_do_nothing(index_elements=["user_id", "dedupe_key"]).returning(Notification.seq))
        seqs = list(inserted)
        if seqs:
            newest[user_id] = max(seqs)
    return newest


class NotificationService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def page(self, principal: Principal, unread: bool, limit: int,
                   cursor: str | None) -> NotificationsPage:
        """Newest first; `cursor` is the `next_cursor` of the page before (an older seq)."""
        if not 1 <= limit <= MAX_PAGE:
            raise Invalid(f"limit must be 1 to {MAX_PAGE}")
        query = select(Notification).where(Notification.user_id == principal.user_id)
        if unread:
            query = query.where(Notification.read_at.is_(None))
        if cursor is not None:
            if not cursor.isdigit() or len(cursor) > 18:
                raise Invalid("cursor must be the next_cursor of an earlier page")
            query = query.where(Notification.seq < int(cursor))
        rows = list((await self.db.scalars(query.order_by(Notification.seq.desc()).limit(limit + 1))).all())
        more = len(rows) > limit
        rows = rows[:limit]
        return NotificationsPage(
            notifications=[notification_out(row) for row in rows],
            next_cursor=str(rows[-1].seq) if more and rows else None,
            unread=await self.unread(principal.user_id))

    async def since(self, user_id: uuid.UUID, seq: int, limit: int = 500) -> list[NotificationOut]:
        """The user's notifications after `seq`, oldest first (the WebSocket's catch-up)."""
        rows = await self.db.scalars(
            select(Notification).where(Notification.user_id == user_id, Notification.seq > seq)
            .order_by(Notification.seq).limit(limit))
        return [notification_out(row) for row in rows]

    async def unread(self, user_id: uuid.UUID) -> int:
        return await self.db.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == user_id, Notification.read_at.is_(None))) or 0

    async def mark_read(self, principal: Principal, data: NotificationsRead) -> NotificationsReadResult:
        """Mark some (by id; another user's ids are not found) or all unread notifications read."""
        condition = and_(Notification.user_id == principal.user_id, Notification.read_at.is_(None))
        if not data.all:
            ids = set(data.ids or [])
            found = set((await self.db.scalars(select(Notification.id).where(
                Notification.user_id == principal.user_id, Notification.id.in_(ids)))).all())
            if ids - found:
                raise NotFound(f"notification not found: {sorted(map(str, ids - found))[0]}")
            condition = and_(condition, Notification.id.in_(ids))
        now = utcnow()
        marked = (await self.db.execute(update(Notification).where(condition).values(
            read_at=now, read=True, updated_at=now, version=Notification.version + 1))).rowcount
        return NotificationsReadResult(marked=marked or 0, unread=await self.unread(principal.user_id))


class UserSettingsService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def get(self, principal: Principal) -> UserSettings:
        row = (await self.db.execute(select(User.timezone, User.notify)
                                     .where(User.id == principal.user_id))).one_or_none()
        if row is None:
            raise NotFound("user not found")
        return UserSettings(timezone=row.timezone, notify=row.notify or {})

    async def update(self, principal: Principal, data: UserSettingsPatch) -> UserSettings:
        current = await self.get(principal)
        values: dict[str, object] = {}
        if data.timezone is not None:
            values["timezone"] = data.timezone
        if data.notify is not None:
            merged = {str(k): v for k, v in current.notify.items()}
            merged.update({str(k): v for k, v in data.notify.items()})
            values["notify"] = merged
        if values:
            await self.db.execute(update(User).where(User.id == principal.user_id).values(**values))
        return await self.get(principal)
