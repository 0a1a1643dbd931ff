"""Search and filter (`/`): text, labels, assignees, only mine, priorities."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Label, SelectionList, Static

from ..model import PRIORITIES, CardFilter, split_list
from .form import FormScreen


class FilterForm(FormScreen[CardFilter | None]):
    """Dismisses with the new filter (empty to clear), or None when cancelled."""


    def __init__(self, current: CardFilter, labels: list[str], usernames: list[str]) -> None:
        super().__init__(classes="form-screen")
        self.current = current
        self.known_labels = labels
        self.usernames = usernames

    def compose(self) -> ComposeResult:
        current = self.current
        with Vertical(id="filter-form", classes="dialog"):
            yield Static("Search and filter", classes="dialog-title")
            yield Label("Text (every word, in key, title, description, labels)")
            yield Input(current.text, id="filter-text", placeholder="login redirect")
            yield Label("Labels (all of them)")
            yield Input(", ".join(current.labels), id="filter-labels",
                        placeholder=", ".join(self.known_labels[:6]) or "bug, backend")
            yield Label("Assignees (any of them)")
            yield Input(", ".join(current.assignees), id="filter-assignees",
                        placeholder=", ".join(self.usernames[:4]) or "maya, lee")
            yield Checkbox("Only mine", current.mine, id="filter-mine")
            yield Label("Priorities (any of them)")
            yield SelectionList[str](*[(p, p, p in current.priorities) for p in PRIORITIES],
                                     id="filter-priorities")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply (enter)", variant="primary", id="save")
                yield Button("Clear", id="clear")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#filter-text", Input).focus()

    def chosen(self) -> CardFilter:
        return CardFilter(
            text=self.query_one("#filter-text", Input).value.strip(),
            labels=split_list(self.query_one("#filter-labels", Input).value.replace("#", "")),
            assignees=split_list(self.query_one("#filter-assignees", Input).value),
            mine=self.query_one("#filter-mine", Checkbox).value,
            priorities=tuple(self.query_one("#filter-priorities", SelectionList).selected),
        )

    def action_save(self) -> None:
        self.dismiss(self.chosen())

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#clear")
    def _clear_pressed(self) -> None:
        self.dismiss(CardFilter())

