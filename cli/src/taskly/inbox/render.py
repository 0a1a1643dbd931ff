"""Notifications for people: the inbox table and one line per live notification."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..core.output import printable


def short_id(notification: dict[str, Any]) -> str:
    return str(notification["id"])[:8]


def when(iso: str) -> str:
    """Local time, `2027-01-04 09:30`."""
    return f"{datetime.fromisoformat(iso.replace('Z', '+00:00')).astimezone():%Y-%m-%d %H:%M}"


def render_inbox(out, notifications: list[dict[str, Any]], unread: int, *, every: bool) -> None:
    if not notifications:
        out.line("no notifications" if every else "no unread notifications (--all shows the read ones)")
        return
    rows = [("●" if n.get("read_at") is None else " ", short_id(n), when(n["created_at"]), n["kind"],
             n.get("card_key") or "", n["message"]) for n in notifications]
    out.table(["", "ID", "WHEN", "KIND", "CARD", "MESSAGE"], rows, shrink=[5])
    out.note(f"{unread} unread" + ("; `taskly inbox read --all` marks them read" if unread else ""))


def notification_line(notification: dict[str, Any]) -> str:
    """One line for `inbox --watch`: time, kind, card and message (user text escaped)."""
    card = f"{notification.get('card_key')}  " if notification.get("card_key") else ""
    return printable(f"{when(notification['created_at'])}  {short_id(notification)}  {notification['kind']}  "
                     f"{card}{notification['message']}")
