"""A yes/no question (`x` asks before deleting)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ...core.output import printable
from ..bindings import CONFIRM


class Confirm(ModalScreen[bool]):
    """Dismisses with True (y) or False (n, esc)."""

    BINDINGS = CONFIRM

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__(classes="form-screen")
        self.question = printable(question)
        self.detail = printable(detail, multiline=True)

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm", classes="dialog"):
            yield Static(self.question, classes="dialog-title", markup=False)
            if self.detail:
                yield Static(self.detail, classes="muted", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Yes (y)", variant="error", id="yes")
                yield Button("No (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
