"""The footer's unread notifications: `✉ 3 unread`, hidden when there are none; a click opens the inbox."""

from __future__ import annotations

from textual.message import Message
from textual.widgets import Static

UNREAD_MARK = "✉"


def unread_text(unread: int) -> str:
    return f"{UNREAD_MARK} {unread} unread" if unread > 0 else ""


class UnreadIndicator(Static):
    """Shows the unread count (from the cache, told by the app); `-unread` colours it in the .tcss."""

    class Clicked(Message):
        """The count was clicked: the board opens the inbox."""

    def __init__(self, unread: int, *, id: str | None = None) -> None:
        self.unread = unread
        super().__init__(unread_text(unread), id=id, markup=False)
        self.display = unread > 0

    def show(self, unread: int) -> None:
        if unread == self.unread:
            return
        self.unread = unread
        self.update(unread_text(unread))
        self.display = unread > 0
        self.set_class(unread > 0, "-unread")

    def on_mount(self) -> None:
        self.set_class(self.unread > 0, "-unread")

    def on_click(self) -> None:
        self.post_message(self.Clicked())
