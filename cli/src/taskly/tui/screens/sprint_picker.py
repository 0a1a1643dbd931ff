"""Which sprint to filter the board by (`S`): the board's open sprints, or no sprint filter."""

from __future__ import annotations

from datetime import date
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ...core import sprints
from ...core.output import printable
from ..model import sprint_text

NO_SPRINT = "no-sprint"
"""The option id of "No sprint filter" (sprint ids are UUIDs)."""


class SprintPicker(ModalScreen[str | None]):
    """Dismisses with the chosen sprint's id, `""` for no sprint filter, or None (esc)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", show=False)]

    def __init__(self, sprints: list[dict[str, Any]], current: str | None, today: date) -> None:
        """`sprints`: the open sprints with their stats (`core.sprints.with_stats`); `current`: the
        sprint the board is filtered by now (None: none)."""
        super().__init__(classes="form-screen")
        self.sprints = sprints
        self.current = current
        self.today = today

    def compose(self) -> ComposeResult:
        options = [Option("No sprint filter", id=NO_SPRINT)]
        # names are stored text: plain Content (escaped, never markup)
        options += [Option(Content(printable(f"{sprint_text(s, self.today)}  ({_day(s['start_date'])} → "
                                             f"{_day(s['end_date'])})")), id=str(s["id"])) for s in self.sprints]
        with Vertical(id="sprint-picker", classes="dialog"):
            yield Static("Show the cards of which sprint?", classes="dialog-title", markup=False)
            yield OptionList(*options, id="sprint-options")
            if not self.sprints:
                yield Static("This board has no open sprint (`taskly sprint create` makes one).",
                             classes="muted", markup=False)
            yield Static("↑↓ choose · enter show · esc cancel", classes="muted", markup=False)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        ids = [str(s["id"]) for s in self.sprints]
        options.highlighted = ids.index(self.current) + 1 if self.current in ids else 0
        options.focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss("" if event.option.id == NO_SPRINT else event.option.id)


def _day(value: Any) -> str:
    """`Mar 10`."""
    return sprints.day(value).strftime("%b %d")
