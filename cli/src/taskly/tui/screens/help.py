"""`?`: every binding, by where it works, with the keys in force after the user's `[keys]` table."""

from __future__ import annotations

from collections.abc import Mapping

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..bindings import GROUPS, HELP, keys_of


class HelpScreen(ModalScreen[None]):
    """The list of bindings; esc or ? closes it."""

    BINDINGS = HELP

    def __init__(self, keymap: Mapping[str, str]) -> None:
        super().__init__(classes="form-screen")
        self.keymap = keymap
        """The user's remapped keys (`[keys]`), by binding id."""

    def compose(self) -> ComposeResult:
        with Vertical(id="help", classes="dialog"):
            yield Static("Keys", classes="dialog-title")
            with VerticalScroll(id="help-body"), Horizontal(id="help-columns"):
                yield Static(self.table(GROUPS[:1] + GROUPS[-1:]), classes="help-column")
                yield Static(self.table(GROUPS[1:-1]), classes="help-column")
            yield Static("Remap any of them by id in the [keys] table of your config.toml, e.g. "
                         'card.move_right = "L"', classes="muted", markup=False)

    def table(self, groups: list[tuple[str, list]]) -> Table:
        table = Table(box=None, expand=True, show_header=False, padding=(0, 1))
        table.add_column("keys", style="bold", no_wrap=True, min_width=16)
        table.add_column("what", no_wrap=True, ratio=1)
        table.add_column("id", style="dim", no_wrap=True)
        for title, bindings in groups:
            table.add_row(Text(title, style="bold underline"), "", "")
            seen: set[str] = set()
            for binding in bindings:
                if binding.id in seen:
                    continue
                seen.add(binding.id or "")
                keys = keys_of(binding, self.keymap)
                shown = ", ".join(self.app.get_key_display(binding.with_key(key, key_display=None))
                                  for key in keys)
                table.add_row(shown, binding.description, binding.id or "")
            table.add_row("", "", "")
        return table

    def action_close(self) -> None:
        self.dismiss(None)
