"""The board's key line: the bindings shown in the footer, with the keys in force.

Textual's Footer rebuilds a widget per key whenever the focus moves, which is most of the cost of a
move between columns on a large board; this is one line of text, redrawn only when what can be
done changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from rich.markup import escape
from textual.binding import Binding
from textual.widgets import Static

from ..bindings import keys_of


def key_line(bindings: Iterable[Binding], keymap: Mapping[str, str], display: Callable[[Binding], str],
             enabled: Callable[[Binding], bool | None]) -> str:
    """`n New  e Edit …` (markup) for the shown bindings: `enabled` False hides one, None dims it."""
    parts = []
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
            parts.append(f"[b $accent]{escape(key)}[/] {escape(binding.description)}")
        else:
            parts.append(f"[dim]{escape(key)} {escape(binding.description)}[/dim]")
    return "  ".join(parts)


class KeyBar(Static):
    """One line of keys; `show()` repaints it only when the text changes."""

    def show(self, text: str) -> None:
        if text != getattr(self, "_text", None):
            self._text = text
            self.update(text, layout=False)
