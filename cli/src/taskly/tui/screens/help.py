"""`?`: every binding, by where it works, with the keys in force after the user's `[keys]` table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..bindings import GROUPS, HELP, keys_of

if TYPE_CHECKING:
    from ..app import TasklyApp


class HelpScreen(ModalScreen[None]):
    """The list of bindings; esc or ? closes it."""

    BINDINGS = HELP
    app: TasklyApp

    def compose(self) -> ComposeResult:
        with Vertical(id="help", classes="dialog"):
            yield Static("Keys", classes="dialog-title")
            with VerticalScroll(id="help-body"):
                yield Static(self.table())
            yield Static("Remap any of them in the [keys] table of your config.toml, by id: "
                         'card.move_right = "L"', classes="muted", markup=False)

    def table(self) -> Table:
        table = Table(box=None, expand=True, show_header=False, padding=(0, 1))
        table.add_column("keys", style="bold", no_wrap=True, width=22)
        table.add_column("what")
        table.add_column("id", style="dim", no_wrap=True)
        for title, bindings in GROUPS:
            table.add_row(Text(title, style="bold underline"), "", "")
            seen: set[str] = set()
            for binding in bindings:
                if binding.id in seen:
                    continue
                seen.add(binding.id or "")
                keys = keys_of(binding, self.app.keymap)
                shown = ", ".join(self.app.get_key_display(binding.with_key(key, key_display=None))
                                  for key in keys)
                table.add_row(shown, binding.description, binding.id or "")
            table.add_row("", "", "")
        return table

    def action_close(self) -> None:
        self.dismiss(None)
