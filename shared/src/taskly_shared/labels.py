"""Pure rules of labels, shared by the server and the clients: the colour a new label gets.

A card may name a label the workspace's catalogue does not have yet; the server then adds it with
the colour `palette_color` picks from its name. The clients pick the same colour for a label they
have not cached yet, so a label looks the same before and after it reaches the catalogue.
"""

from __future__ import annotations

import re
import zlib

PALETTE = (
    "#d73a4a",  # red
    "#e99695",  # rose
    "#f9d0c4",  # peach
    "#fbca04",  # yellow
    "#c2e0c6",  # mint
    "#0e8a16",  # green
    "#006b75",  # teal
    "#1d76db",  # blue
    "#0052cc",  # navy
    "#5319e7",  # violet
    "#d4c5f9",  # lavender
    "#b60205",  # crimson
)
"""The colours a label made from a card's label name gets (GitHub's label colours)."""

HEX_COLOR = re.compile(r"^#[0-9a-f]{6}$")
"""A label colour as stored: `#rrggbb`, lower case."""


def palette_color(name: str) -> str:
    """The palette colour of a label name: the same on every machine and in every process."""
    return PALETTE[zlib.crc32(name.encode("utf-8")) % len(PALETTE)]


def normal_color(value: str) -> str:
    """`#RRGGBB`, `RRGGBB`, `#rgb` → `#rrggbb`; ValueError for anything else."""
    text = value.strip().lower()
    if not text.startswith("#"):
        text = "#" + text
    if re.fullmatch(r"#[0-9a-f]{3}", text):
        text = "#" + "".join(ch * 2 for ch in text[1:])
    if not HEX_COLOR.match(text):
        raise ValueError(f"not a colour: {value!r} (give #rrggbb, e.g. #d73a4a)")
    return text
