"""Which board to open, when `taskly board` has none named nor current, or on `B` (a list; enter
opens)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ...core.output import printable

if TYPE_CHECKING:
    from ..reads import BoardChoice


class BoardPicker(ModalScreen[str | None]):
    """Dismisses with the chosen board's id, or None (esc)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", show=False)]

    def __init__(self, choices: list[BoardChoice], current: str | None = None) -> None:
        super().__init__(classes="form-screen")
        self.choices = choices
        self.current = current
        """The open board's id, highlighted first."""

    def compose(self) -> ComposeResult:
        with Vertical(id="board-picker", classes="dialog"):
            yield Static("Open which board? It becomes the current board (as `taskly board use`).",
                         classes="dialog-title", markup=False)
            # names are stored text: plain Content (escaped, never markup)
            yield OptionList(*(Option(Content(printable(f"{choice.key}  {choice.name}"
                                                        + (f"  —  {choice.workspace}" if choice.workspace else ""))),
                                      id=choice.id) for choice in self.choices), id="board-options")
            yield Static("↑↓ choose · enter open · esc cancel", classes="muted", markup=False)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        ids = [choice.id for choice in self.choices]
        options.highlighted = ids.index(self.current) if self.current in ids else 0
        options.focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
