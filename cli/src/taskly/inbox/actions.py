"""The inbox: the user's notifications, fetched from the server into the cache, and marked read.

Notifications are the user's own across workspaces; the cache keeps them (`notifications` table)
so `taskly status`, the prompt segment and the TUI read them offline, and its highest seq is the
live socket's `notifications_since`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.errors import NotFound, Offline, UsageError

if TYPE_CHECKING:
    from ..core.context import Factory
    from ..store import Store

REFRESH_TIMEOUT = 3.0


def refresh(f: Factory, *, timeout: float = REFRESH_TIMEOUT) -> str | None:
    """Fetch the notifications into the cache (see `SyncEngine.pull_notifications`). Returns why
    it could not (offline), else None."""
    if f.globals.offline:
        return "--offline"
    try:
        f.engine.pull_notifications(timeout=timeout)
    except Offline as exc:
        return str(exc)
    return None


def listing(store: Store, *, every: bool = False, limit: int | None = None) -> list[dict[str, Any]]:
    """Cached notifications as wire JSON: unread (with `every`, then the read ones), newest first."""
    return store.notifications_json(unread_only=not every, limit=limit)


def resolve_ids(store: Store, refs: list[str]) -> list[str]:
    """Full ids for the refs people type: an id, or its first 8+ hex digits (as `inbox` shows)."""
    from ..store.reads import normal_uuid

    ids: list[str] = []
    for ref in refs:
        text = ref.strip().lower()
        full = normal_uuid(text)
        if full is not None:
            ids.append(full)
            continue
        if len(text) < 4 or any(c not in "0123456789abcdef-" for c in text):
            raise UsageError(f"{ref!r} is not a notification id (see `taskly inbox --all`)")
        found = store.notification_ids(text)
        if not found:
            raise NotFound(f"no notification {ref!r} (see `taskly inbox --all`)", code="not_found")
        if len(found) > 1:
            raise UsageError(f"{ref!r} matches {len(found)} notifications: give more digits")
        ids.append(found[0])
    return ids


def mark_read(f: Factory, refs: list[str], *, every: bool = False) -> dict[str, int]:
    """Mark notifications read on the server, then in the cache: `{"marked": N, "unread": M}`."""
    from taskly_shared.models import NotificationsRead

    if f.globals.offline:
        raise Offline("marking notifications read needs the server (--offline given)")
    if every == bool(refs):
        raise UsageError("give notification IDs or --all (not both)")
    if every:
        body = NotificationsRead(all=True)
        ids = None
    else:
        refresh(f)  # ids shown by another machine's inbox resolve too
        ids = resolve_ids(f.store, refs)
        body = NotificationsRead(ids=ids)
    result = f.api.read_notifications(body)
    with f.store.transaction() as tx:
        tx.mark_notifications_read(ids)
    return result.model_dump(mode="json")


# --- settings ---------------------------------------------------------------------------------

SWITCH = {"on": True, "true": True, "yes": True, "off": False, "false": False, "no": False}


def patch_for(key: str, value: str) -> dict[str, Any]:
    """`timezone ZONE` or `notify.KIND on|off` as a `PATCH /me/settings` body, checked here (a
    usage error, exit 2, names the choices)."""
    from taskly_shared.models import NotificationKind

    name, text = key.strip().lower(), value.strip()
    if name == "timezone":
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError(f"unknown time zone {text!r}: give an IANA name like Europe/Berlin") from None
        return {"timezone": text}
    if name.startswith("notify."):
        kind = name.removeprefix("notify.")
        kinds = [k.value for k in NotificationKind]
        if kind not in kinds:
            raise UsageError(f"unknown notification kind {kind!r} (kinds: {', '.join(kinds)})")
        if text.lower() not in SWITCH:
            raise UsageError(f"notify.{kind} takes on or off, not {text!r}")
        return {"notify": {kind: SWITCH[text.lower()]}}
    raise UsageError(f"unknown setting {key!r} (settings: timezone, notify.KIND)")


def settings(f: Factory):
    if f.globals.offline:
        raise Offline("your settings are on the server (--offline given)")
    result = f.api.settings()
    _remember(f, result.timezone)
    return result


def set_setting(f: Factory, key: str, value: str):
    from taskly_shared.models import UserSettingsPatch

    body = UserSettingsPatch.model_validate(patch_for(key, value))
    if f.globals.offline:
        raise Offline("your settings are on the server (--offline given)")
    result = f.api.update_settings(body)
    _remember(f, result.timezone)
    return result


def _remember(f: Factory, zone: str) -> None:
    """The cache keeps the time zone: `--remind` and `show` use it offline."""
    from ..cards.actions import remember_zone

    remember_zone(f, zone)
