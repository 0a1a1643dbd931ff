"""The row of board columns: they share the width, or scroll by whole columns when they do not fit.

The active column is always brought into view (`show_column`), on a key, after a move and on a
resize (`relayout`, called by the screen with the terminal's width); `HiddenChanged` tells how many columns are off screen on each side.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import HorizontalScroll
from textual.message import Message

from ..layout import ColumnLayout, column_layout
from .column import BoardColumn


class Columns(HorizontalScroll, can_focus=False):
    """The board's columns, laid out by `layout.column_layout` for the width they have."""

    class HiddenChanged(Message):
        """`left` / `right` columns are (even partly) off screen."""

        def __init__(self, left: int, right: int) -> None:
            super().__init__()
            self.left = left
            self.right = right

    def __init__(self, board_columns: list[BoardColumn], width: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.board_columns = board_columns
        self.arrangement = column_layout(len(board_columns), width)
        self.first = 0
        """The first column on screen (when they scroll)."""
        self.active_index = 0
        self._hidden: tuple[int, int] | None = None
        self._apply(self.arrangement)

    def compose(self) -> ComposeResult:
        yield from self.board_columns

    def _apply(self, layout: ColumnLayout) -> None:
        """Column widths; when they scroll, the view is as wide as the whole columns that fit (no
        column is cut at the right edge, nor at the left once scrolled to the end)."""
        self.styles.width = layout.fits * layout.step if layout.scrolls else "1fr"
        for column in self.board_columns:
            column.styles.width = layout.width if layout.width is not None else "1fr"

    def on_resize(self) -> None:
        """Laid out (first, or anew after the board was recomposed): bring the active column in."""
        self.call_after_refresh(self.show_column, self.active_index)

    def relayout(self, width: int) -> None:
        """Lay the columns out for `width` cells (the terminal's), keeping the active one in view."""
        layout = column_layout(len(self.board_columns), width)
        if layout != self.arrangement:
            self.arrangement = layout
            self._apply(layout)
        self.call_after_refresh(self.show_column, self.active_index)

    def show_column(self, index: int) -> None:
        """Scroll (by whole columns, as little as can be) so that column `index` is on screen."""
        self.active_index = index
        self.first = self.arrangement.first_shown(self.first, index)
        x = self.first * self.arrangement.step if self.arrangement.scrolls else 0
        if self.is_mounted and x != self.scroll_x:
            self.scroll_to(x=x, animate=False, immediate=True, force=True)
        self._report()

    def watch_scroll_x(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_x(old_value, new_value)
        self._report()

    def _report(self) -> None:
        hidden = self.arrangement.hidden(self.scroll_x, self.size.width or self.arrangement.fits * self.arrangement.step)
        if hidden != self._hidden:
            self._hidden = hidden
            self.post_message(self.HiddenChanged(*hidden))
