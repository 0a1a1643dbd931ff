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
             enabled: Callable[[Binding], bool]) -> str:
    """`[b]n[/] New  [b]e[/] Edit …` (markup) for the shown bindings; unavailable ones dimmed."""
    parts = []
    for binding in bindings:
        if not binding.show:
            continue
        keys = keys_of(binding, keymap)
        if not keys:
            continue
        key = display(binding.with_key(keys[0], key_display=None if binding.id in keymap else
                                       binding.key_display))
        text = f"[b]{escape(key)}[/b] {escape(binding.description)}"
        parts.append(text if enabled(binding) else f"[dim]{text}[/dim]")
    return "  ".join(parts)


class KeyBar(Static):
    """One line of keys; `show()` repaints it only when the text changes."""

    def show(self, text: str) -> None:
        if text != getattr(self, "_text", None):
            self._text = text
            self.update(text, layout=False)
