"""`i`: the inbox — the user's notifications from the cache, unread first, newest first.

`enter` dismisses with the highlighted notification (the app shows its card and marks it read),
`r` / `R` ask the app to mark it / all of them read (`NotificationsReadRequested`: the same action
as `taskly inbox read`), esc closes. The list follows `NotificationsChanged` while it is open.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ...core.output import printable
from ..bindings import INBOX, keys_of
from ..messages import NotificationsChanged, NotificationsReadRequested
from ..model import ago

if TYPE_CHECKING:
    from ..context import BoardContext

UNREAD = "●"


def notification_line(notification: dict[str, Any], now: datetime) -> str:
    """`● 5 min ago  assigned  WEB-1  maya assigned you to WEB-1 · Fix login` (stored text escaped)."""
    mark = UNREAD if notification.get("read_at") is None else " "
    created = datetime.fromisoformat(str(notification["created_at"]).replace("Z", "+00:00"))
    title = notification.get("card_title") or ""
    message = str(notification.get("message") or "")
    text = f"{message} · {title}" if title and title not in message else message
    key = notification.get("card_key") or ""
    return printable(f"{mark} {ago(created, now):>11}  {str(notification['kind']).replace('_', ' '):<19} "
                     f"{key:<9} {text}")


def keep_order(shown: list[dict[str, Any]], fresh: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`fresh` (the cache's order) with the ones already `shown` in their shown order, after the new."""
    by_id = {str(n["id"]): n for n in fresh}
    known = [by_id.pop(str(n["id"])) for n in shown if str(n["id"]) in by_id]
    return [n for n in fresh if str(n["id"]) in by_id] + known


class InboxScreen(ModalScreen[dict[str, Any] | None]):
    """Dismisses with the notification to go to (`enter`), or None (esc)."""

    BINDINGS = INBOX

    def __init__(self, context: BoardContext) -> None:
        super().__init__(classes="form-screen")
        self.context = context
        self.notifications: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        self.notifications = self.context.notifications()
        with Vertical(id="inbox", classes="dialog"):
            yield Static(self._title(), id="inbox-title", classes="dialog-title", markup=False)
            yield OptionList(*self._options(), id="inbox-options")
            yield Static("No notifications yet." if not self.notifications else "", id="inbox-empty",
                         classes="muted", markup=False)
            yield Static(self._keys(), classes="muted", markup=False)

    def on_mount(self) -> None:
        self.query_one("#inbox-empty").display = not self.notifications
        self.query_one(OptionList).focus()

    def _title(self) -> str:
        unread = sum(1 for n in self.notifications if n.get("read_at") is None)
        return f"Inbox · {unread} unread" if unread else "Inbox"

    def _options(self) -> list[Option]:
        now = self.context.clock.now()
        # messages and titles are stored text: plain Content (escaped, never markup)
        return [Option(Content.styled(notification_line(n, now), "" if n.get("read_at") is None else "dim"),
                       id=str(n["id"])) for n in self.notifications]

    def _keys(self) -> str:
        """`enter go to card · r mark read · R mark all read · esc back`, with the keys in force."""
        parts = []
        for binding in INBOX:
            keys = keys_of(binding, self.context.keymap)
            if keys:
                shown = self.app.get_key_display(binding.with_key(keys[0], key_display=None))
                parts.append(f"{shown} {binding.description.lower()}")
        return " · ".join(parts)

    @property
    def highlighted(self) -> dict[str, Any] | None:
        index = self.query_one(OptionList).highlighted
        return self.notifications[index] if index is not None and index < len(self.notifications) else None

    # --- keys -------------------------------------------------------------------------------------

    def action_jump(self) -> None:
        notification = self.highlighted
        if notification is not None:
            self.dismiss(notification)

    def action_mark_read(self) -> None:
        notification = self.highlighted
        if notification is not None and notification.get("read_at") is None:
            self.post_message(NotificationsReadRequested([str(notification["id"])]))

    def action_mark_all_read(self) -> None:
        if any(n.get("read_at") is None for n in self.notifications):
            self.post_message(NotificationsReadRequested(None))

    def action_close(self) -> None:
        self.dismiss(None)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_jump()

    # --- what the app reports ---------------------------------------------------------------------

    @on(NotificationsChanged)
    def _changed(self) -> None:
        """Read the list again: new ones on top, the others where they were (a notification marked
        read keeps its place while the inbox is open), the cursor on its notification."""
        options = self.query_one(OptionList)
        current = self.highlighted
        self.notifications = keep_order(self.notifications, self.context.notifications())
        options.clear_options()
        options.add_options(self._options())
        ids = [str(n["id"]) for n in self.notifications]
        if ids:
            options.highlighted = ids.index(str(current["id"])) if current and str(current["id"]) in ids else 0
        self.query_one("#inbox-title", Static).update(self._title())
        self.query_one("#inbox-empty").display = not self.notifications
