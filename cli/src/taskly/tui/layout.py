"""How the board fits the terminal: column widths, which columns show, card density, footer keys.

Pure functions of the terminal's size, so that the responsive rules are tested without a screen.
From 80x24 up: columns keep a useful width and the board scrolls by whole columns (the active one
always in view), short or narrow terminals get compact cards, and the footer drops its least
useful keys first (help and quit stay).
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_COLUMN_WIDTH = 25
"""Cells a column needs to be useful (three fit at 80 wide, with their one-cell gaps)."""
GAP = 1
"""The margin left of each column."""
COMPACT_BELOW = (100, 30)
"""Cards are compact on terminals narrower or shorter than this (width, height)."""

KEY_PRIORITY = ["app.help", "app.quit", "card.new", "card.open", "card.edit", "board.filter",
                "board.clear_filter", "card.done", "card.start", "card.comment", "app.sync",
                "card.delete", "board.sprint", "board.burndown", "board.inbox"]
"""Footer keys, most wanted first: the last ones are dropped first when the footer is short."""
ALWAYS_SHOWN = {"app.help", "app.quit"}


@dataclass(frozen=True)
class ColumnLayout:
    """`count` columns of `width` cells (None: they share the space), `fits` of them on screen."""

    count: int
    width: int | None
    fits: int

    @property
    def scrolls(self) -> bool:
        return self.width is not None

    @property
    def step(self) -> int:
        """Cells from one column's start to the next (None-width columns never scroll)."""
        return (self.width or 0) + GAP

    def first_shown(self, first: int, active: int) -> int:
        """The first column on screen once `active` is brought into view (moving as little as it can)."""
        if not self.scrolls:
            return 0
        first = min(first, active)
        first = max(first, active - self.fits + 1)
        return max(0, min(first, self.count - self.fits))

    def hidden(self, scroll_x: float, view_width: int) -> tuple[int, int]:
        """Columns (even partly) off screen to the left and to the right at this scroll offset."""
        if not self.scrolls or not self.count:
            return 0, 0
        left = sum(1 for i in range(self.count) if i * self.step < scroll_x)
        right = sum(1 for i in range(self.count) if (i + 1) * self.step > scroll_x + view_width)
        return left, right


def column_layout(count: int, width: int) -> ColumnLayout:
    """Columns share `width` when they all fit; else as many as fit share it and the rest scroll."""
    if count * (MIN_COLUMN_WIDTH + GAP) <= width or count == 0:
        return ColumnLayout(count, None, count)
    fits = max(1, width // (MIN_COLUMN_WIDTH + GAP))
    return ColumnLayout(count, max(MIN_COLUMN_WIDTH, width // fits - GAP), fits)


def more_text(left: int, right: int) -> str:
    """`◀ 2 more  3 more ▶`: the columns beyond the screen's edges."""
    parts = ([f"◀ {left} more"] if left else []) + ([f"{right} more ▶"] if right else [])
    return "  ".join(parts)


def compact_by_default(width: int, height: int) -> bool:
    """Whether a terminal of this size gets compact cards unless the user chose (`z`)."""
    return width < COMPACT_BELOW[0] or height < COMPACT_BELOW[1]


def fit_keys(parts: list[tuple[str, int, str]], width: int) -> list[str]:
    """The parts (binding id, cells, markup) that fit in `width`, in their order, separated by two
    cells; help and quit always stay, the others go by `KEY_PRIORITY`, last first."""
    kept = list(parts)

    def cells() -> int:
        return sum(size for _, size, _ in kept) + 2 * max(0, len(kept) - 1)

    rank = {binding_id: i for i, binding_id in enumerate(KEY_PRIORITY)}
    droppable = sorted((p for p in parts if p[0] not in ALWAYS_SHOWN),
                       key=lambda p: rank.get(p[0], len(rank)), reverse=True)
    for part in droppable:
        if cells() <= width:
            break
        kept.remove(part)
    return [markup for _, _, markup in kept]
