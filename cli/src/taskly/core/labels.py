"""Labels in their colours: the cached catalogue of a workspace, and label names painted for
tables, `show` and the board (a colour terminal only; NO_COLOR and pipes get the names alone)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from taskly_shared.labels import palette_color

from .output import Painted

if TYPE_CHECKING:
    from ..store import Store


def catalogue(store: Store, workspace_id: str | None) -> list[dict]:
    """The workspace's cached labels (LabelOut JSON) by name, any case."""
    found = store.entities("label", workspace_id) if workspace_id else store.entities("label")
    return sorted(found, key=lambda label: (str(label["name"]).lower(), str(label["name"])))


def colors(store: Store, workspace_id: str | None) -> dict[str, str]:
    """Label name → `#rrggbb` of the cached catalogue."""
    return {str(label["name"]): str(label["color"]) for label in catalogue(store, workspace_id)}


def color_of(name: str, known: dict[str, str]) -> str:
    """A label's colour: the catalogue's, else the one the server will give it (its palette colour)."""
    return known.get(name) or palette_color(name)


def chip_style(color: str) -> str:
    """The label's colour as a background, with black or white text, whichever reads better."""
    red, green, blue = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    light = (0.299 * red + 0.587 * green + 0.114 * blue) > 150
    return f"{'black' if light else 'white'} on {color}"


def painted(names: Iterable[str], known: dict[str, str], separator: str = ", ") -> Painted:
    """`bug, ui` with each name in its colour."""
    text, spans = "", []
    for name in names:
        if text:
            text += separator
        spans.append((len(text), len(text) + len(name), chip_style(color_of(name, known))))
        text += name
    return Painted(text, tuple(spans))
