"""The reminders cron job (every minute): reminders that came due, cards due tomorrow, overdue cards.

- A card whose `remind_at` has passed gives each assignee (its creator when it has none) one
  `reminder`: the cards are taken `FOR UPDATE SKIP LOCKED` and `reminded_at` is set in the same
  transaction as the notifications, so several workers running the job never send one twice.
  Changing `remind_at` clears `reminded_at` (cards/edits.py): the reminder fires again.
- From 09:00 in a user's time zone (`users.timezone`), a card due tomorrow gives them one
  `due_soon`, and a card whose due date has passed (in the last week) one `overdue`: once per card
  and due date (`dedupe_key`), so a later run or another worker adds nothing; a new due date
  notifies again. Cards in a done column are left alone.

"Now" is the worker's clock (`lib.clock`: a test may set it).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from sqlalchemy import select, update

from ...db.models import Board, BoardColumn, Card, User
from .services import Draft, write_notifications

log = structlog.get_logger("taskly.reminders")

BATCH = 1000
MORNING = time(9, 0)
OVERDUE_WINDOW = timedelta(days=7)
"""An overdue card is announced on the first morning after its due date, or at the first run
within a week after it when the worker was down that morning."""
ACTOR = "reminders"


@cache
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def due_kind(due: date, now: datetime, timezone: str) -> str | None:
    """`due_soon`, `overdue` or None: what a card due on `due` is to a user of `timezone` now."""
    local = now.astimezone(zone(timezone))
    if local.time() < MORNING:
        return None
    today = local.date()
    if due == today + timedelta(days=1):
        return "due_soon"
    if today - OVERDUE_WINDOW <= due < today:
        return "overdue"
    return None


def _recipients(assignee_ids: list[uuid.UUID] | None, created_by: uuid.UUID | None) -> list[uuid.UUID]:
    return list(assignee_ids or []) or ([created_by] if created_by else [])


async def reminders_due(db: Any, now: datetime) -> list[Draft]:
    """Mark the reminders that came due as sent; their notifications."""
    rows = (await db.execute(
        select(Card.id, Card.workspace_id, Card.number, Card.title, Card.assignee_ids, Card.created_by,
               Card.remind_at, Board.key)
        .join(Board, Board.id == Card.board_id)
        .where(Card.remind_at <= now, Card.reminded_at.is_(None), Card.deleted_at.is_(None))
        .order_by(Card.id).limit(BATCH).with_for_update(of=Card, skip_locked=True))).all()
    if not rows:
        return []
    await db.execute(update(Card).where(Card.id.in_([row.id for row in rows])).values(reminded_at=now))
    drafts = []
    for row in rows:
        key = f"{row.key}-{row.number}"
        for user_id in _recipients(row.assignee_ids, row.created_by):
            drafts.append(Draft(user_id=user_id, kind="reminder", workspace_id=row.workspace_id,
                                card_id=row.id, card_key=key, card_title=row.title, actor=ACTOR,
                                message=f"reminder: {key} {row.title}",
                                dedupe_key=f"reminder:{row.id}:{row.remind_at.isoformat()}"))
    return drafts


async def due_dates(db: Any, now: datetime) -> list[Draft]:
    """due_soon and overdue notifications for the users whose morning it is."""
    today = now.date()
    rows = (await db.execute(
        select(Card.id, Card.workspace_id, Card.number, Card.title, Card.assignee_ids, Card.created_by,
               Card.due, Board.key)
        .join(Board, Board.id == Card.board_id).join(BoardColumn, BoardColumn.id == Card.column_id)
        .where(Card.due.between(today - OVERDUE_WINDOW - timedelta(days=1), today + timedelta(days=2)),
               Card.deleted_at.is_(None), BoardColumn.kind != "done"))).all()
    users = {user_id for row in rows for user_id in _recipients(row.assignee_ids, row.created_by)}
    zones = dict((await db.execute(select(User.id, User.timezone).where(User.id.in_(users)))).all()) if users else {}
    drafts = []
    for row in rows:
        key = f"{row.key}-{row.number}"
        for user_id in _recipients(row.assignee_ids, row.created_by):
            kind = due_kind(row.due, now, zones.get(user_id, "UTC"))
            if kind is None:
                continue
            message = (f"{key} is due tomorrow ({row.due.isoformat()})" if kind == "due_soon"
                       else f"{key} was due {row.due.isoformat()}")
            drafts.append(Draft(user_id=user_id, kind=kind, workspace_id=row.workspace_id,
                                card_id=row.id, card_key=key, card_title=row.title, actor=ACTOR,
                                message=message, dedupe_key=f"{kind}:{row.id}:{row.due.isoformat()}"))
    return drafts


async def send_reminders(ctx: dict[str, Any]) -> dict[str, Any]:
    """The cron job: one transaction for the reminders and due-date notifications of this minute."""
    now = ctx["clock"].now()
    announcer = ctx["announcer"]
    async with ctx["sessionmaker"]() as db:
        async with db.begin():
            drafts = await reminders_due(db, now) + await due_dates(db, now)
            newest = await write_notifications(db, drafts, now)
            await announcer.users_before_commit(db, newest)
        await announcer.users_after_commit(newest)
    counts: dict[str, int] = {}
    for draft in drafts:
        counts[draft.kind] = counts.get(draft.kind, 0) + 1
    return {"now": now.isoformat(), "drafts": counts, "users": len(newest)}

