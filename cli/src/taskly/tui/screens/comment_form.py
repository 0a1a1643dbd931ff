"""Writing a comment (`c`): markdown in a text area, ctrl+s sends, esc cancels."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static, TextArea

from ...core.output import printable
from ..model import card_key
from .form import FormScreen

if TYPE_CHECKING:
    from taskly_shared.models import CardOut


class CommentForm(FormScreen[str | None]):
    """Dismisses with the comment's text, or None when cancelled."""


    def __init__(self, card: CardOut, board_key: str | None = None, body: str = "",
                 title: str | None = None) -> None:
        super().__init__(classes="form-screen")
        self.card = card
        self.board_key = board_key
        self.body = body
        """The text the form starts with (an edited comment's)."""
        self.title = title

    def compose(self) -> ComposeResult:
        with Vertical(id="comment-form", classes="dialog"):
            heading = self.title or f"Comment on {card_key(self.card, self.board_key)}"
            yield Static(f"{heading}  {printable(self.card.title)}", classes="dialog-title", markup=False)
            yield TextArea(self.body, id="comment-body", language=None, soft_wrap=True, show_line_numbers=False)
            yield Static("", id="form-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Send (ctrl+s)", variant="primary", id="save")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_save(self) -> None:
        body = self.query_one(TextArea).text.strip()
        if not body:
            self.show_error("The comment is empty.")
            return
        self.dismiss(body)

