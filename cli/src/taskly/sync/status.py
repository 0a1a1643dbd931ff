"""What `taskly status` and `taskly sync` report: who, where, online, queued, failed, conflicts.

Both return plain dataclasses with a stable `as_dict()` (their `--json` output); the commands in
`taskly.sync.commands` only render them.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.errors import ApiError, NotLoggedIn, Offline

if TYPE_CHECKING:
    from ..core.context import Factory
    from ..store import ConflictRecord, OutboxEntry, Store

ONLINE_CHECK_TIMEOUT = 1.0
"""`status` asks the server who we are; past this it reports offline."""
SYNC_TIMEOUT = 10.0
"""`sync` pushes and pulls within this bound."""
SOURCES = {"flag": "flag", "env": "env", "project": ".taskly.toml", "user": "user config"}


def write_dict(entry: OutboxEntry, store: Store) -> dict[str, Any]:
    """A queued or refused write, for people and scripts (a bulk write: its cards' keys, `keys`)."""
    if entry.local.get("ids"):
        cards = [store.card_json(card_id) or {} for card_id in entry.entity_ids()]
        items = (entry.payload or {}).get("cards", [])
        fields = {name for item in items for name in item if name not in ("card", "base_version")}
        keys = [card.get("key") or card_id[:8] for card, card_id in zip(cards, entry.entity_ids(), strict=True)]
        return {
            "mutation_id": entry.mutation_id, "operation": entry.operation, "entity_type": entry.entity_type,
            "entity_id": entry.entity_id, "key": ", ".join(keys[:5]) + (f" (+{len(keys) - 5})" if len(keys) > 5 else ""),
            "keys": keys, "title": f"{len(keys)} cards", "fields": sorted(fields), "attempts": entry.attempts,
            "error": entry.last_error, "code": entry.error_code, "created_at": entry.created_at,
        }
    card_id = entry.entity_id if entry.entity_type == "card" else _card_in_path(entry.path)
    card = store.card_json(card_id) if card_id else None
    return {
        "mutation_id": entry.mutation_id, "operation": entry.operation,
        "entity_type": entry.entity_type, "entity_id": entry.entity_id,
        "key": (card or {}).get("key") or None, "title": (card or {}).get("title"),
        "fields": sorted(entry.fields()), "attempts": entry.attempts, "error": entry.last_error,
        "code": entry.error_code, "created_at": entry.created_at,
    }


def _card_in_path(path: str) -> str | None:
    """The card id of a card's sub-resource path (`/cards/{id}/comments`)."""
    if path.startswith("/cards/"):
        return path.removeprefix("/cards/").split("/", 1)[0]
    return None


def conflict_dict(conflict: ConflictRecord, me: str | None) -> dict[str, Any]:
    """`old` was overwritten by `new`; `by` wrote `new` (ourselves for conflicts of our pushes)."""
    return {
        "id": conflict.id, "workspace_id": conflict.workspace_id,
        "entity_type": conflict.entity_type, "entity_id": conflict.entity_id,
        "key": conflict.entity_key, "field": conflict.field,
        "old": conflict.overwritten, "new": conflict.value,
        "by": conflict.actor if conflict.source == "feed" else me,
        "mine": conflict.source == "push", "created_at": conflict.created_at,
    }


@dataclass
class Status:
    server: dict[str, Any] | None = None
    user: dict[str, Any] | None = None
    workspace: dict[str, Any] | None = None
    board: dict[str, Any] | None = None
    online: bool | None = None
    """None: not checked (`--offline`, or no server configured)."""
    online_error: str | None = None
    latency_ms: int | None = None
    pending: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    last_sync: str | None = None
    unread: int | None = None
    """Unread notifications: the server's count when online, else the cache's."""
    cache: dict[str, Any] | None = None
    """The cache file and, when it was found damaged and rebuilt now, the line that says so."""

    @property
    def logged_in(self) -> bool:
        return self.user is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server, "user": self.user, "workspace": self.workspace,
            "board": self.board, "online": self.online, "online_error": self.online_error, "latency_ms": self.latency_ms,
            "unread": self.unread, "queued": len(self.pending), "pending": self.pending, "failed": self.failed,
            "conflicts": self.conflicts, "last_sync": self.last_sync, "cache": self.cache,
        }


def gather_status(f: Factory) -> Status:
    """Everything `taskly status` shows; the network only for a ~1 s check (not with --offline)."""
    config = f.config
    status = Status()
    for name in ("workspace", "board"):
        value = getattr(config, name)
        if value:
            setattr(status, name, {"name": value, "source": SOURCES[config.sources[name]]})
    if not config.server:
        return status
    status.server = {"url": config.server, "source": SOURCES[config.sources["server"]]}
    if f.credentials.env_token():
        status.user = {"username": None, "source": "TASKLY_TOKEN"}
    elif (login := f.credentials.load(config.server)) is not None:
        status.user = {"username": login.username, "source": "login"}
    if status.user is None:
        if not f.globals.offline:
            _check_health(status, config.server)
        return status
    store = f.store
    store.check()  # a damaged file is rebuilt now, its queued writes kept: never a silent "0 queued"
    _check_named(f)
    status.cache = {"path": str(store.path) if store.path else None, "recovery": store.recovery}
    status.pending = [write_dict(entry, store) for entry in store.outbox.pending()]
    status.failed = [write_dict(entry, store) for entry in store.outbox.failed()]
    status.conflicts = [conflict_dict(c, status.user["username"]) for c in store.conflicts()]
    status.last_sync = store.last_synced()
    if not f.globals.offline:
        _check_me(status, f)
        if status.online and not status.online_error:
            with contextlib.suppress(ApiError, Offline):  # the cache's count then
                f.engine.pull_notifications(timeout=ONLINE_CHECK_TIMEOUT)
    status.unread = store.unread_count()
    return status


def _check_named(f: Factory) -> None:
    """A workspace or board named by `--workspace`/`--board` (or TASKLY_*) that does not exist is
    NotFound (exit 3), as for every other command, not a status that looks fine."""
    from ..core import resolve

    sources = f.config.sources
    if sources.get("workspace") in ("flag", "env") and f.store.workspace_id(f.config.workspace) is None:
        resolve.workspace(f)  # NotFound, unless a discovery pull finds it
    if sources.get("board") in ("flag", "env"):
        resolve.board_json(f)  # the cache's JSON when it knows the board (no pydantic), else board()'s error


def _check_me(status: Status, f: Factory) -> None:
    api = f.api  # built (httpx imported) before the clock starts
    started = time.monotonic()
    try:
        me = api.me(timeout=ONLINE_CHECK_TIMEOUT)
    except Offline as exc:
        status.online, status.online_error = False, _not_reachable(exc)
        return
    except NotLoggedIn as exc:
        status.online = True
        status.online_error = f"the server refused the credentials: {exc.detail}"
    except ApiError as exc:
        status.online, status.online_error = True, f"{exc.code}: {exc.detail}"
    else:
        status.online = True
        status.user["username"] = me.username
        status.user["github_sign_in_required"] = me.github_sign_in_required
        for conflict in status.conflicts:
            if conflict["mine"]:
                conflict["by"] = me.username
    status.latency_ms = round((time.monotonic() - started) * 1000)


def _check_health(status: Status, server: str) -> None:
    """Reachability without credentials (urllib: nothing to import)."""
    import urllib.error
    import urllib.request

    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"{server}/health/live", timeout=ONLINE_CHECK_TIMEOUT):
            status.online = True
    except urllib.error.HTTPError:
        status.online = True
    except (OSError, ValueError) as exc:
        status.online, status.online_error = False, _not_reachable(exc)
        return
    status.latency_ms = round((time.monotonic() - started) * 1000)


def _not_reachable(exc: BaseException) -> str:
    """Why the server could not be reached, in words (never `ConnectError: [Errno 111] …`)."""
    text = str(getattr(exc, "reason", None) or exc)
    lowered = text.lower()
    if "refused" in lowered:
        return "server not reachable (connection refused)"
    if "timed out" in lowered or "timeout" in lowered:
        return "server not reachable (no answer in time)"
    if any(word in lowered for word in ("name or service not known", "nodename nor servname",
                                        "name resolution", "getaddrinfo")):
        return "server not reachable (unknown host)"
    return f"server not reachable ({text.split(': ', 1)[-1] if text.startswith('cannot reach') else text})"


@dataclass
class SyncReport:
    server: str
    pushed: list[dict[str, Any]] = field(default_factory=list)
    pulled: int = 0
    resynced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    queued: int = 0
    offline: str | None = None
    """Why the sync could not finish (server unreachable or too slow); None when it did."""
    discarded: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server, "pushed": self.pushed, "pulled": self.pulled,
            "resynced": self.resynced, "removed": self.removed, "failed": self.failed, "conflicts": self.conflicts,
            "queued": self.queued, "offline": self.offline, "discarded": self.discarded,
        }


def run_sync(f: Factory, *, timeout: float = SYNC_TIMEOUT,
             discard_failed: bool = False) -> SyncReport:
    """Push the outbox, pull every workspace (discovering new ones); conflicts shown become seen."""
    server = f.server
    if f.globals.offline:
        queued = f.store.outbox.count()
        raise Offline(f"sync needs the server (--offline given); {queued} writes queued")
    engine, store = f.engine, f.store
    store.check()
    before = {entry.mutation_id: write_dict(entry, store) for entry in store.outbox.pending()}
    result = engine.sync(timeout=timeout, discover=True)
    if result.push.offline is None and not result.pull.stale:
        with contextlib.suppress(ApiError, Offline):  # the inbox, for `status --prompt` and the TUI
            engine.pull_notifications(timeout=timeout)
    names = {str(w.id): w.name for w in store.workspaces()}
    report = SyncReport(server, pulled=len(result.pull.changes), queued=store.outbox.count(),
                        resynced=[names.get(w, w) for w in result.pull.resynced],
                        removed=result.pull.removed)
    for mutation_id in result.push.pushed:
        pushed = before.get(mutation_id, {"mutation_id": mutation_id})
        card = (store.card_json(pushed.get("entity_id") or "")
                if pushed.get("entity_type") == "card" and not pushed.get("keys") else None)
        key = (card or {}).get("key") or pushed.get("key")  # a card created offline has one now
        report.pushed.append({**pushed, "key": key, "error": None})
    report.failed = [write_dict(entry, store) for entry in store.outbox.failed()]
    me = store.user if not f.credentials.env_token() else None
    conflicts = store.conflicts()
    report.conflicts = [conflict_dict(c, me) for c in conflicts]
    if conflicts:
        engine.mark_conflicts_seen([c.id for c in conflicts])
    if discard_failed and report.failed:
        report.discarded = engine.discard_failed()
    if result.push.offline is not None:
        report.offline = result.push.offline
    elif result.pull.stale:
        report.offline = result.pull.error or "the pull did not finish"
    return report
