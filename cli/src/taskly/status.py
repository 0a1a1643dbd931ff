"""What `taskly status` and `taskly sync` report: who, where, online, queued, failed, conflicts.

Both return plain dataclasses with a stable `as_dict()` (their `--json` output); the commands in
`commands/sync.py` only render them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ApiError, NotLoggedIn, Offline

if TYPE_CHECKING:
    from .context import Factory
    from .store import ConflictRecord, OutboxEntry, Store

ONLINE_CHECK_TIMEOUT = 1.0
"""`status` asks the server who we are; past this it reports offline."""
SYNC_TIMEOUT = 10.0
"""`sync` pushes and pulls within this bound."""
SOURCES = {"flag": "flag", "env": "env", "project": ".taskly.toml", "user": "user config"}


def write_dict(entry: OutboxEntry, store: Store) -> dict[str, Any]:
    """A queued or refused write, for people and scripts."""
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

    @property
    def logged_in(self) -> bool:
        return self.user is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server, "user": self.user, "workspace": self.workspace,
            "board": self.board, "online": self.online, "online_error": self.online_error, "latency_ms": self.latency_ms,
            "queued": len(self.pending), "pending": self.pending, "failed": self.failed,
            "conflicts": self.conflicts, "last_sync": self.last_sync,
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
    status.pending = [write_dict(entry, store) for entry in store.outbox.pending()]
    status.failed = [write_dict(entry, store) for entry in store.outbox.failed()]
    status.conflicts = [conflict_dict(c, status.user["username"]) for c in store.conflicts()]
    status.last_sync = store.last_synced()
    if not f.globals.offline:
        _check_me(status, f)
    return status


def _check_me(status: Status, f: Factory) -> None:
    api = f.api  # built (httpx imported) before the clock starts
    started = time.monotonic()
    try:
        me = api.me(timeout=ONLINE_CHECK_TIMEOUT)
    except Offline as exc:
        status.online, status.online_error = False, str(exc)
        return
    except NotLoggedIn as exc:
        status.online = True
        status.online_error = f"the server refused the credentials: {exc.detail}"
    except ApiError as exc:
        status.online, status.online_error = True, f"{exc.code}: {exc.detail}"
    else:
        status.online = True
        status.user["username"] = me.username
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
        status.online, status.online_error = False, f"cannot reach {server}: {exc}"
        return
    status.latency_ms = round((time.monotonic() - started) * 1000)


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
    before = {entry.mutation_id: write_dict(entry, store) for entry in store.outbox.pending()}
    result = engine.sync(timeout=timeout, discover=True)
    names = {str(w.id): w.name for w in store.workspaces()}
    report = SyncReport(server, pulled=len(result.pull.changes), queued=store.outbox.count(),
                        resynced=[names.get(w, w) for w in result.pull.resynced],
                        removed=result.pull.removed)
    for mutation_id in result.push.pushed:
        pushed = before.get(mutation_id, {"mutation_id": mutation_id})
        card = (store.card_json(pushed.get("entity_id") or "")
                if pushed.get("entity_type") == "card" else None)
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
