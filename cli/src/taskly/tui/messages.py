"""What the app's workers tell the screens: the cache changed, a write finished, sync state moved.

Widget messages live in their widget (`CardList.Dropped`); these come from the app's I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from taskly_shared.models import ChangeOut

    from ..sync.results import WriteResult


class CacheChanged(Message):
    """The cache has new data: `changes` arrived live, or (`full`) reload everything."""

    def __init__(self, changes: list[ChangeOut] | None = None, *, full: bool = False) -> None:
        super().__init__()
        self.changes = changes or []
        self.full = full


class WriteDone(Message):
    """A local write was recorded (and pushed, unless `result.queued`)."""

    def __init__(self, description: str, result: WriteResult[Any], *, focus: bool = False) -> None:
        super().__init__()
        self.description = description
        self.result = result
        self.focus = focus
        """Put the cursor on the written card (a new card)."""


class WriteFailed(Message):
    """A write was refused (the cache undid it); the error itself is notified by the app."""

    def __init__(self, description: str) -> None:
        super().__init__()
        self.description = description


@dataclass
class SyncState:
    """What the footer's indicator shows."""

    live: str = "connecting"
    """connecting | online | offline | offline mode | error"""
    syncing: bool = False
    queued: int = 0
    failed: int = 0
    detail: str | None = None
    retry_in: float | None = None
    seen_failures: set[str] = field(default_factory=set)


class SyncStateChanged(Message):
    """The indicator needs repainting."""

    def __init__(self, state: SyncState) -> None:
        super().__init__()
        self.state = state
