"""What the app does for the inbox (`InboxHandlers`, mixed into `TasklyApp`): the unread count in
the footer, toasts for new notifications, the inbox screen (`i`), marking read and going to a card.

Notifications come over the live socket (the listener caches them and hands each new one over),
and from `inbox.actions.refresh` after the app's sync; the footer's count is read from the cache,
also once a second, so `taskly inbox read` in another terminal shows here too. Marking read is
`inbox.actions.mark_read`, the action behind `taskly inbox read`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

from ..core.errors import TasklyError
from .messages import InboxRequested, NotificationsChanged, NotificationsReadRequested

if TYPE_CHECKING:
    from taskly_shared.models import NotificationOut
    from textual.screen import Screen
    from textual.worker import Worker

    from ..core.context import Factory
    from ..store import Store
    from ..sync.engine import SyncEngine
    from .context import BoardContext
    from .screens.board import BoardScreen

TOASTS_AT_ONCE = 3
"""New notifications toasted one by one; more arriving together are counted in one toast."""
BURST = 0.3
"""Seconds notifications arriving together are gathered before they are toasted."""
MOVE_TOASTED = 10.0
"""Seconds a card's move toast stands for its `moved_by_automation` notification, and the other
way round: one toast for one move."""
REFRESH_TIMEOUT = 5.0
"""Seconds the fetch of notifications and settings after the first sync may take."""


def toast_text(notification: dict[str, Any]) -> tuple[str, str]:
    """(title, message) of a notification's toast (the app's `notify` escapes both)."""
    title = notification.get("card_title") or ""
    message = str(notification.get("message") or "")
    if title and title not in message:
        message = f"{message}\n{title}"
    return f"✉ {str(notification.get('kind') or '').replace('_', ' ')}", message


class InboxHandlers:
    """The inbox's side of `TasklyApp`."""

    if TYPE_CHECKING:  # provided by TasklyApp
        factory: Factory
        context: BoardContext
        store: Store
        offline_mode: bool
        screen_stack: list[Screen[Any]]
        board_screen: BoardScreen

        @property
        def engine(self) -> SyncEngine: ...
        def notify(self, message: str, *, title: str = "", severity: Any = "information",
                   timeout: float | None = None, markup: bool = False) -> None: ...
        def run_worker(self, work: Any, name: str | None = "", group: str = "default",
                       exit_on_error: bool = True) -> Worker[Any]: ...
        def set_timer(self, delay: float, callback: Any) -> Any: ...
        def push_screen(self, screen: Any, callback: Any = None) -> Any: ...
        def restart_live(self) -> None: ...

    _unread: int | None = None
    _arrived: list[dict[str, Any]] | None = None
    _moves_toasted: dict[str, tuple[float, str]] | None = None
    """Card id → when a toast last told of its move (the board's or a notification's)."""

    # --- the count --------------------------------------------------------------------------------

    def publish_unread(self, *, changed: bool = False) -> None:
        """Tell the screens the unread count when it changed (`changed`: the list changed anyway)."""
        unread = self.store.unread_count()
        if unread == self._unread and not changed:
            return
        self._unread = unread
        for screen in self.screen_stack:
            screen.post_message(NotificationsChanged(unread))

    async def refresh_inbox(self) -> None:
        """Fetch the notifications (read elsewhere ones become read) and the user's time zone into
        the cache, as `taskly inbox` and `taskly config show` do; quietly nothing when it fails."""
        from ..inbox import actions

        def fetch() -> None:
            _ = self.engine  # built under the context's lock
            actions.refresh(self.factory, timeout=REFRESH_TIMEOUT)
            with contextlib.suppress(TasklyError):  # an older server, or gone: the cached zone stays
                actions.settings(self.factory)

        try:
            await asyncio.to_thread(fetch)
        except TasklyError:
            return
        finally:
            self.publish_unread(changed=True)

    # --- new ones -----------------------------------------------------------------------------------

    async def notification_arrived(self, notification: NotificationOut) -> None:
        """A notification the cache did not have: the count, the open inbox, a toast."""
        self.publish_unread(changed=True)
        if self._arrived is None:
            self._arrived = []
            self.set_timer(BURST, self._toast_arrived)
        self._arrived.append(notification.model_dump(mode="json"))

    def move_toasted(self, card_id: str, by: str) -> bool:
        """Note a toast telling of this card's move, `by` the board ("change") or the inbox
        ("notification"); whether the other one told of it just now (then this one is not shown)."""
        now = time.monotonic()
        told = {card: (at, who) for card, (at, who) in (self._moves_toasted or {}).items()
                if now - at < MOVE_TOASTED}
        other = card_id in told and told[card_id][1] != by
        told[card_id] = (now, by)
        self._moves_toasted = told
        return other

    def _toast_arrived(self) -> None:
        arrived, self._arrived = self._arrived or [], None
        arrived = [n for n in arrived if not (n.get("kind") == "moved_by_automation" and n.get("card_id")
                                              and self.move_toasted(str(n["card_id"]), "notification"))]
        shown = arrived if len(arrived) <= TOASTS_AT_ONCE else arrived[:TOASTS_AT_ONCE - 1]
        for notification in shown:
            title, message = toast_text(notification)
            self.notify(message, title=title, timeout=6)
        if len(arrived) > len(shown):
            self.notify(f"{len(arrived) - len(shown)} more new notifications: i opens the inbox", title="✉",
                        timeout=6)

    # --- the inbox screen ---------------------------------------------------------------------------

    def on_inbox_requested(self, message: InboxRequested) -> None:
        from .screens.inbox import InboxScreen

        if not any(isinstance(screen, InboxScreen) for screen in self.screen_stack):
            self.push_screen(InboxScreen(self.context), self._inbox_closed)

    def _inbox_closed(self, notification: dict[str, Any] | None) -> None:
        """`enter` on a notification: marked read, and its card shown."""
        if notification is None:
            return
        if notification.get("read_at") is None:
            self.mark_read([str(notification["id"])])
        if notification.get("card_id"):
            self.run_worker(self._go_to_card(str(notification["card_id"]), notification.get("card_key"),
                                             str(notification["workspace_id"])),
                            name=f"go to {notification.get('card_key') or 'the card'}", group="jump",
                            exit_on_error=False)

    def on_notifications_read_requested(self, message: NotificationsReadRequested) -> None:
        self.mark_read(message.ids)

    def mark_read(self, ids: list[str] | None) -> None:
        """Mark notifications read (None: all) through `taskly inbox read`'s action, in a worker."""
        if self.offline_mode:
            self.notify("Marking notifications read needs the server: this board is in offline mode (--offline)",
                        severity="warning")
            return
        self.run_worker(self._mark_read(ids), name="mark read", group="inbox", exit_on_error=False)

    async def _mark_read(self, ids: list[str] | None) -> None:
        from ..inbox.actions import mark_read

        def call() -> None:
            _ = self.engine
            mark_read(self.factory, ids or [], every=ids is None)

        try:
            await asyncio.to_thread(call)
        finally:
            self.publish_unread(changed=True)

    # --- going to a card ----------------------------------------------------------------------------

    async def _go_to_card(self, card_id: str, key: str | None, workspace_id: str) -> None:
        """The cursor on the card: on this board, else its board opened (its workspace followed
        live); a card the cache does not have is fetched first."""
        screen = self.board_screen
        if screen.show_card(card_id):
            return
        where = self.context.card_board(card_id)
        if where is None and not self.offline_mode:
            await asyncio.to_thread(lambda: self.engine.pull(REFRESH_TIMEOUT, [workspace_id]))
            where = self.context.card_board(card_id)
        if where is None:
            self.notify(f"{key or 'That card'} is not on any board you can see (deleted, or not synced yet)",
                        severity="warning")
            return
        board_id, card_workspace = where
        followed = self.context.workspace_id
        await screen.go_to_board(board_id)
        if not screen.show_card(card_id):
            self.notify(f"{key or 'That card'} could not be shown", severity="warning")
        if card_workspace != followed:
            self.restart_live()

