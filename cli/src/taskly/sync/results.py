"""What the sync engine reports back: results of writes, pushes and pulls, and its status."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..core.errors import ApiError

if TYPE_CHECKING:
    from taskly_shared.models import ChangeOut, FieldConflict

    from ..store import ConflictRecord, OutboxEntry

T = TypeVar("T")


@dataclass
class WriteResult(Generic[T]):
    """A local write: the entity as the cache now shows it, and whether the server has it yet."""

    entity: T
    """The CardOut / CommentOut after the write (the server's answer once pushed)."""
    mutation_id: str
    queued: bool
    """True while the write waits in the outbox (server unreachable, not logged in, offline mode)."""
    reason: str | None = None
    """Why it is queued, e.g. "offline: cannot reach http://…"."""
    conflicts: list[FieldConflict] = field(default_factory=list)
    """Same-field conflicts the server reported: this write overwrote values it had not seen."""
    numbered: list[tuple[str, str]] = field(default_factory=list)
    """(card id, key) of cards created offline that the push with this write numbered."""


@dataclass
class PushResult:
    pushed: list[str] = field(default_factory=list)
    """Mutation ids the server accepted, in order."""
    failed: list[tuple[OutboxEntry, ApiError]] = field(default_factory=list)
    """Writes the server refused (kept in the outbox as failed, their optimistic effect undone)."""
    conflicts: dict[str, list[FieldConflict]] = field(default_factory=dict)
    """Per mutation id, the same-field conflicts in the server's answer."""
    offline: str | None = None
    """Set when pushing stopped because the server could not be reached (entries stay queued)."""
    remaining: int = 0
    numbered: list[tuple[str, str]] = field(default_factory=list)
    """(card id, key) of the cards created offline that the server numbered in this push."""

    def failure(self, mutation_id: str) -> ApiError | None:
        return next((error for entry, error in self.failed if entry.mutation_id == mutation_id), None)


@dataclass
class PullResult:
    changes: list[ChangeOut] = field(default_factory=list)
    """Changes applied to the cache, in seq order per workspace."""
    resynced: list[str] = field(default_factory=list)
    """Workspaces reloaded from a snapshot (first sync, pruned cursor, broken cache)."""
    removed: list[str] = field(default_factory=list)
    """Workspaces dropped from the cache (no longer a member)."""
    stale: bool = False
    """True when the pull did not finish (offline or `timeout`): reads may show old data."""
    error: str | None = None


@dataclass
class SyncResult:
    push: PushResult
    pull: PullResult

    @property
    def stale(self) -> bool:
        return self.pull.stale or self.push.offline is not None


@dataclass
class SyncStatus:
    """For `taskly status` and the TUI's indicator."""

    queued: int
    """Writes waiting to be pushed."""
    failed: list[OutboxEntry]
    """Writes the server refused, kept until discarded (`engine.discard_failed()`)."""
    conflicts: list[ConflictRecord]
    """Unseen conflicts (`engine.mark_conflicts_seen()`)."""
    last_sync: str | None
    """ISO time of the last successful pull."""
    online: bool | None
    """Outcome of the last network attempt of this engine (None: none yet)."""
    last_error: str | None = None
    cursors: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "queued": self.queued, "online": self.online, "last_sync": self.last_sync,
            "last_error": self.last_error, "cursors": self.cursors,
            "failed": [{"mutation_id": e.mutation_id, "operation": e.operation, "entity_id": e.entity_id,
                        "error": e.last_error, "code": e.error_code} for e in self.failed],
            "conflicts": [{"id": c.id, "entity_key": c.entity_key, "entity_id": c.entity_id,
                           "field": c.field, "overwritten": c.overwritten, "value": c.value,
                           "source": c.source, "actor": c.actor} for c in self.conflicts],
        }
