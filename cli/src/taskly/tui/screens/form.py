"""What the board's modal forms share: save/cancel keys and buttons, and the error line."""

from __future__ import annotations

from typing import Generic, TypeVar

from textual import on
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ..bindings import FORM

ResultT = TypeVar("ResultT")


class FormScreen(ModalScreen[ResultT], Generic[ResultT]):
    """A form: ctrl+s or Save calls `action_save`, esc or Cancel dismisses it with None.

    Subclasses compose a `Static(id="form-error")` and implement `action_save`."""

    BINDINGS = FORM

    def show_error(self, message: str) -> None:
        error = self.query_one("#form-error", Static)
        error.update(message)
        error.add_class("-shown")

    def action_save(self) -> None:
        raise NotImplementedError

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()
