"""Routes: the signed-in user's notifications (`/api/v1/notifications`) and settings
(`/api/v1/me/settings`: time zone, notification preferences)."""

from __future__ import annotations

from litestar import get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import (
    NotificationsPage,
    NotificationsRead,
    NotificationsReadResult,
    UserSettings,
    UserSettingsPatch,
)

from ...lib.principal import Principal
from .services import MAX_PAGE, NotificationService, UserSettingsService


@get("/api/v1/notifications", tags=["notifications"])
async def list_notifications(
    principal: Principal, db: AsyncSession,
    unread: bool = Parameter(default=False, description="Only those not read yet."),
    limit: int = Parameter(default=50, ge=1, le=MAX_PAGE),
    cursor: str | None = Parameter(default=None, max_length=18,
                                   description="`next_cursor` of the previous page."),
) -> NotificationsPage:
    """Your notifications, newest first, with your unread count."""
    return await NotificationService(db).page(principal, unread, limit, cursor)


@post("/api/v1/notifications/read", status_code=200, tags=["notifications"])
async def mark_read(principal: Principal, db: AsyncSession,
                    data: NotificationsRead) -> NotificationsReadResult:
    """Mark notifications read: `{"ids": [...]}` or `{"all": true}`; marking one twice is fine."""
    async with db.begin():
        return await NotificationService(db).mark_read(principal, data)


@get("/api/v1/me/settings", tags=["auth"])
async def read_settings(principal: Principal, db: AsyncSession) -> UserSettings:
    """Your time zone (due-date notifications come at 09:00 in it) and notification preferences."""
    return await UserSettingsService(db).get(principal)


@patch("/api/v1/me/settings", tags=["auth"])
async def update_settings(principal: Principal, db: AsyncSession, data: UserSettingsPatch) -> UserSettings:
    """Change your time zone (IANA name) or turn notification kinds off (`{"notify": {"reminder": false}}`)."""
    async with db.begin():
        return await UserSettingsService(db).update(principal, data)


ROUTES = [list_notifications, mark_read, read_settings, update_settings]
