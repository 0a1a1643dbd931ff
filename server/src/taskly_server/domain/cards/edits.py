"""The editable fields of a card: from request values to stored values, checked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import CardFields, Priority, Recurrence

from ...db.models import Card, Member, Sprint, User
from ...errors import Invalid

EDITABLE = ("title", "description", "labels", "priority", "points", "due", "remind_at",
            "recurrence", "recurrence_interval", "assignees", "sprint_id", "branch")
"""CardFields in the order they are applied; `assignees` is stored as `assignee_ids`. `branch`
is CardPatch's only (a branch the client created itself, e.g. `taskly start` offline)."""

PLACEMENT = ("column", "column_id", "rank")
TRACKED = ("title", "description", *PLACEMENT, "labels", "priority", "points", "due", "remind_at",
           "recurrence", "recurrence_interval", "assignees", "sprint_id", "branch", "deleted_at")
"""Wire fields whose old and new values a Change records."""
TRACKED_FIELDS = list(TRACKED)
"""The same, as the text[] argument of the SQL statements that write Changes (moves, starts)."""


def checked_text(value: str, field: str) -> str:
    """Postgres text holds neither NUL nor lone surrogates: refuse them instead of failing."""
    if "\x00" in value:
        raise Invalid(f"{field} must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(f"{field} is not valid Unicode text") from None
    return value


def utc(value: datetime | None, field: str) -> datetime | None:
    """Aware and in UTC; a naive time is taken as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise Invalid(f"{field} is out of range") from None


OWN_FIELDS = frozenset({"title", "description", "priority", "points", "due", "remind_at",
                        "recurrence", "recurrence_interval", "branch"})
"""The fields whose stored value comes from the request alone and lands in the card's row; of
the others, `labels` also names labels in the catalogue, `assignees` and `sprint_id` are checked
against other rows."""


def stored_value(name: str, value: Any) -> Any:
    """The stored value of a field but `assignees` and `sprint_id`; null resets a field to its
    empty value."""
    match name:
        case "title":
            if value is None:
                raise Invalid("title cannot be null")
            return checked_text(value, "title")
        case "description":
            return checked_text(value or "", "description")
        case "labels":
            return list(dict.fromkeys(checked_text(label, "labels") for label in value or []))
        case "priority":
            return (value or Priority.NONE).value
        case "recurrence":
            return (value or Recurrence.NONE).value
        case "recurrence_interval":
            return value or 1
        case "remind_at":
            return utc(value, "remind_at")
        case "branch":
            return checked_text(value, "branch") if value else None
    return value


class FieldEditor:
    """Turns the named fields of a CardFields body into a card's stored values."""

    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def apply(self, card: Card, data: CardFields, names: set[str]) -> None:
        """Set every named field on `card`; an attribute is touched only when its value differs."""
        for name in EDITABLE:
            if name not in names or name not in type(data).model_fields:
                continue
            value = await self.value(card, name, getattr(data, name))
            attribute = "assignee_ids" if name == "assignees" else name
            if getattr(card, attribute) != value:
                setattr(card, attribute, value)
                if name == "remind_at":
                    card.reminded_at = None  # a new reminder time fires again

    async def value(self, card: Card, name: str, value: Any) -> Any:
        """The stored value of field `name`; null resets a field to its empty value."""
        match name:
            case "assignees":
                return await self.assignee_ids(card.workspace_id, value or [])
            case "sprint_id":
                return await self.sprint_id(card, value)
        return stored_value(name, value)

    async def assignee_ids(self, workspace_id: uuid.UUID, usernames: list[str]) -> list[uuid.UUID]:
        """Usernames (case-insensitive) of workspace members, in the given order, once each."""
        wanted = list(dict.fromkeys(name.lower() for name in usernames))
        if not wanted:
            return []
        rows = await self.db.execute(
            select(func.lower(User.username), User.id)
            .join(Member, Member.user_id == User.id)
            .where(Member.workspace_id == workspace_id, func.lower(User.username).in_(wanted))
        )
        ids = dict(rows.all())
        missing = [name for name in wanted if name not in ids]
        if missing:
            raise Invalid(f"not members of this workspace: {', '.join(missing)}", usernames=missing)
        return [ids[name] for name in wanted]

    async def sprint_id(self, card: Card, sprint_id: uuid.UUID | None) -> uuid.UUID | None:
        """An open sprint of the card's board (or the card's sprint as it is). The sprint row is
        locked FOR SHARE: closing or deleting it waits for this write, and this one sees it."""
        if sprint_id is None or sprint_id == card.sprint_id:
            return sprint_id
        found = await self.db.scalar(
            select(Sprint.id).where(Sprint.id == sprint_id, Sprint.board_id == card.board_id,
                                    Sprint.deleted_at.is_(None), Sprint.closed_at.is_(None))
            .with_for_update(read=True)
        )
        if found is None:
            raise Invalid(f"no open sprint {sprint_id} on this card's board")
        return sprint_id
