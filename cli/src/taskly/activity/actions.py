"""Activity: a card's (`taskly log CARD`) and the workspace's audit log (`taskly log --workspace`),
both from the server (the change feed is there; Offline, exit 6, without it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..cards import resolve as card_resolve
from ..core import resolve
from ..core.errors import UsageError

if TYPE_CHECKING:
    from taskly_shared.models import ChangeOut

    from ..core.context import Factory

ENTITIES = ("card", "column", "board", "sprint", "comment", "member", "workspace", "label")
PAGE = 200


@dataclass(frozen=True)
class LogFilter:
    user: str | None = None
    since: str | None = None
    until: str | None = None
    entity: str | None = None
    limit: int = 100


def day(text: str, flag: str, today: date | None = None) -> str:
    """`YYYY-MM-DD`, an ISO date-time, `today`, `yesterday`, or `3d`/`2w` (that long ago) → the
    server's form (a date or an ISO time)."""
    value = text.strip().lower()
    today = today or datetime.now(UTC).date()
    if value in ("today", "yesterday"):
        return str(today - timedelta(days=value == "yesterday"))
    ago = re.fullmatch(r"-?(\d{1,4})([dw])", value)
    if ago:
        return str(today - timedelta(days=int(ago[1]) * (7 if ago[2] == "w" else 1)))
    try:
        return str(date.fromisoformat(value)) if len(value) == 10 else datetime.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise UsageError(f"{flag} {text!r}: give a date (2026-12-01, today, yesterday, 7d, 2w) "
                         "or an ISO date-time") from None


def workspace_log(f: Factory, workspace: str | None, card: str | None, wanted: LogFilter) -> list[ChangeOut]:
    """The workspace's audit log, newest first, at most `wanted.limit` changes (pages followed)."""
    if wanted.entity is not None and wanted.entity not in ENTITIES:
        raise UsageError(f"unknown entity {wanted.entity!r}" + resolve.choices(list(ENTITIES)))
    since = day(wanted.since, "--since") if wanted.since else None
    until = day(wanted.until, "--until") if wanted.until else None
    with resolve.needs_server(f, "show the activity"):
        resolve.fresh(f, note_stale=False)
        found = resolve.workspace(f, workspace)
        user = None
        if wanted.user is not None:
            known = {m.username.lower(): m.username for m in f.store.members(str(found.id))}
            name = wanted.user.lstrip("@")
            user = resolve.me(f) if name.lower() == "me" else known.get(name.lower(), name)
        card_ref = None
        if card is not None:
            cached = card_resolve.card(f, card)
            card_ref = cached.key or str(cached.id)
        changes: list[ChangeOut] = []
        cursor = None
        while len(changes) < wanted.limit:
            params: dict[str, Any] = {"user": user, "card": card_ref, "entity": wanted.entity, "since": since,
                                      "until": until, "cursor": cursor,
                                      "limit": min(PAGE, wanted.limit - len(changes))}
            page = f.api.activity(str(found.id), params=params, timeout=resolve.READ_TIMEOUT * 4)
            changes += page.changes
            cursor = page.next_cursor
            if cursor is None:
                break
        return changes


def names(f: Factory, changes: list[ChangeOut]) -> dict[str, str]:
    """What each changed entity is called, for people: card keys, board keys, column, sprint,
    label and member names, and a comment's card — from the changes themselves and the cache."""
    found: dict[str, str] = {}
    store = f.store
    for change in changes:
        entity_id = str(change.entity_id)
        if entity_id in found:
            continue
        name = None
        if change.entity_type == "card":
            card = store.card_json(entity_id)
            name = card.get("key") if card else None
        elif change.entity_type == "comment":
            comment = store.comment(entity_id)
            card_id = str(comment.card_id) if comment else None
            if card_id is None and change.changes.get("card_id") is not None:
                card_id = str(change.changes["card_id"].new or "") or None
            card = store.card_json(card_id) if card_id else None
            name = f"on {card['key']}" if card and card.get("key") else None
        elif change.entity_type == "board":
            board = store.board_json(entity_id)
            name = board.get("key") if board else None
        elif change.entity_type == "member":
            name = next((m.username for m in store.members(str(change.workspace_id))
                         if str(m.user_id) == entity_id), None)
        if name is None:
            for field in ("name", "key", "username"):
                value = change.changes.get(field)
                if value is not None and (value.new or value.old):
                    name = str(value.new or value.old)
                    break
        found[entity_id] = name or entity_id[:8]
    return found
