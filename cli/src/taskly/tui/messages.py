"""The messages between the app and its screens.

Down, what the app's workers tell the screens: the cache changed, a write finished, sync state
moved. Up, what the screens ask the app for (`WriteRequested`, `CardEditRequested` …): they bubble
from the screen to the app, whose handlers do it, so no screen imports the app. Widget messages
live in their widget (`CardList.Dropped`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from taskly_shared.models import CardOut, ChangeOut, CommentOut

    from ..sync.engine import SyncEngine
    from ..sync.results import WriteResult
    from .views import CardView


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


# --- what the screens ask the app for ---------------------------------------------------------------


class WriteRequested(Message):
    """Run `call(engine)` in a worker, after the writes before it; the screens hear `WriteDone`."""

    def __init__(self, description: str, call: Callable[[SyncEngine], WriteResult[Any]], *,
                 focus: bool = False) -> None:
        super().__init__()
        self.description = description
        self.call = call
        self.focus = focus
        """Put the cursor on the written card (a new card)."""


class CardEditRequested(Message):
    """Open the edit form of `card` (`e`); what it saves is written."""

    def __init__(self, card: CardView | CardOut) -> None:
        super().__init__()
        self.card = card


class CardOpenRequested(Message):
    """Show the card's details (`enter`, a double click)."""

    def __init__(self, card_id: str) -> None:
        super().__init__()
        self.card_id = card_id


class CommentRequested(Message):
    """Open the comment form of `card` (`c`); what it saves is written."""

    def __init__(self, card: CardView | CardOut) -> None:
        super().__init__()
        self.card = card


class CommentEditRequested(Message):
    """Edit `comment` (`e` on a comment in the card details): the comment form, then the write."""

    def __init__(self, comment: CommentOut) -> None:
        super().__init__()
        self.comment = comment


class CommentDeleteRequested(Message):
    """Delete `comment` (`x` on a comment in the card details), once the user confirms."""

    def __init__(self, comment: CommentOut) -> None:
        super().__init__()
        self.comment = comment


class StartRequested(Message):
    """Start work on `card` (`s`): the same flow as `taskly start`."""

    def __init__(self, card: CardView) -> None:
        super().__init__()
        self.card = card


class BrowseRequested(Message):
    """Open the card on GitHub (`o` in its details): its pull request, else its branch, else its
    repository, as `taskly open` does."""

    def __init__(self, card: CardOut) -> None:
        super().__init__()
        self.card = card


class BellRequested(Message):
    """Nothing to do for that key (a move off the board's edge): ring the bell."""


class BurndownRequested(Message):
    """Show a sprint's burndown (`b`): the app fetches it from the server for the screen."""

    def __init__(self, sprint: dict[str, Any], summary: str) -> None:
        super().__init__()
        self.sprint = sprint
        """The sprint's wire JSON (with its stats)."""
        self.summary = summary
        """Its line as the board's header shows it."""


# --- the inbox ----------------------------------------------------------------------------------------


class NotificationsChanged(Message):
    """Down: the cached notifications changed (arrived live, fetched, marked read): `unread` is
    the count now; screens showing notifications read them again."""

    def __init__(self, unread: int) -> None:
        super().__init__()
        self.unread = unread


class InboxRequested(Message):
    """Open the inbox (`i`, a click on the footer's unread count)."""


class NotificationsReadRequested(Message):
    """Mark notifications read (`ids`; None: all of them), as `taskly inbox read` does."""

    def __init__(self, ids: list[str] | None) -> None:
        super().__init__()
        self.ids = ids

