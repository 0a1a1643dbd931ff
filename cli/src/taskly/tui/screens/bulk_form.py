"""One line of names for the selected cards (`t` labels, `a` assignees): `bug +triage -ui`."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from ...core.output import printable
from .form import FormScreen


class NamesForm(FormScreen[str | None]):
    """Dismisses with the line typed (names; `+name` adds, `-name` removes, bare names set), or None."""

    def __init__(self, title: str, hint: str, placeholder: str) -> None:
        super().__init__(classes="form-screen")
        self.heading = printable(title)
        self.hint = printable(hint)
        self.placeholder = printable(placeholder)

    def compose(self) -> ComposeResult:
        with Vertical(id="names-form", classes="dialog"):
            yield Static(self.heading, classes="dialog-title", markup=False)
            yield Label(self.hint)
            yield Input("", id="names", placeholder=self.placeholder)
            yield Static("", id="form-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply (enter)", variant="primary", id="save")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def action_save(self) -> None:
        text = self.query_one(Input).value.strip()
        if not text:
            self.show_error("Type names: `bug` sets, `+bug` adds, `-bug` removes.")
            return
        self.dismiss(text)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()
