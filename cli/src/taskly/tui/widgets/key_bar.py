"""The board's key line: the bindings shown in the footer, with the keys in force.

Textual's Footer rebuilds a widget per key whenever the focus moves, which is most of the cost of a
move between columns on a large board; this is one line of text, redrawn only when what can be
done changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from rich.cells import cell_len
from rich.markup import escape
from textual.binding import Binding
from textual.widgets import Static

from ..bindings import keys_of
from ..layout import fit_keys

KeyParts = list[tuple[str, int, str]]
"""(binding id, cells, markup) of each key shown."""


def key_line(bindings: Iterable[Binding], keymap: Mapping[str, str], display: Callable[[Binding], str],
             enabled: Callable[[Binding], bool | None]) -> KeyParts:
    """`n New`, `e Edit` … for the shown bindings: `enabled` False hides one, None dims it."""
    parts: KeyParts = []
    for binding in bindings:
        state = enabled(binding)
        if not binding.show or state is False:
            continue
        keys = keys_of(binding, keymap)
        if not keys:
            continue
        key = display(binding.with_key(keys[0], key_display=None if binding.id in keymap else
                                       binding.key_display))
        if state:
            markup = f"[b $accent]{escape(key)}[/] {escape(binding.description)}"
        else:
            markup = f"[dim]{escape(key)} {escape(binding.description)}[/dim]"
        parts.append((binding.id or "", cell_len(f"{key} {binding.description}"), markup))
    return parts


class KeyBar(Static):
    """One line of keys, as many as fit (help and quit always); repainted only when the text changes."""

    def __init__(self, parts: KeyParts, *, id: str | None = None) -> None:
        self._parts = parts
        self._text = "  ".join(markup for _, _, markup in parts)
        super().__init__(self._text, id=id)

    def show(self, parts: KeyParts | None = None) -> None:
        """Show `parts` (None: the same ones again, fitted to the current width)."""
        self._parts = self._parts if parts is None else parts
        width = self.content_size.width
        text = "  ".join(fit_keys(self._parts, width) if width else [markup for _, _, markup in self._parts])
        if text != self._text:
            self._text = text
            self.update(text, layout=False)

    def on_resize(self) -> None:
        self.show()
