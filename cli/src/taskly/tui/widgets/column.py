"""A board column: its header (name, card count, WIP limit, filter count) over its `CardList`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ...core.output import printable
from .card_list import CardList

if TYPE_CHECKING:
    from ..model import Clock
    from ..views import CardView, ColumnView


def header_text(column: ColumnView, total: int, shown: int | None, sort: str | None = None) -> str:
    """`In Progress  5/4 over WIP` style: the count, the limit, how many the filter shows, and the
    order when it is not by rank (`sorted by due date ↑`)."""
    count = f"{total}/{column.wip_limit}" if column.wip_limit else str(total)
    text = f"{printable(column.name)}  {count}"
    if column.wip_limit and total > column.wip_limit:
        text += "  over WIP"
    if shown is not None:
        text += f"  ({shown} shown)"
    if sort:
        text += f"  · {sort}"
    return text


class BoardColumn(Vertical):
    """One column of the board."""

    def __init__(self, column: ColumnView, *, clock: Clock, board_key: str | None = None) -> None:
        super().__init__(id=f"column-{column.id}", classes="board-column")
        self.column = column
        self.card_list = CardList(str(column.id), clock=clock, classes="card-list")
        self.card_list.board_key = board_key
        self.header = Static("", classes="column-header", markup=False)
        self._header_text = ""
        self._shown: tuple[list[tuple[str, str, int]], list[str], list[str]] | None = None

    def compose(self) -> ComposeResult:
        yield self.header
        yield self.card_list

    def set_active(self, active: bool) -> None:
        """Mark the header of the active column (only the header is restyled: it is cheap)."""
        self.header.set_class(active, "-active")
        self.card_list.active = active

    def show(self, column: ColumnView, total: int, visible: list[CardView], pending: set[str],
             filtered: bool, keep: str | None = None, *, selected: set[str] | None = None,
             sort: str | None = None) -> None:
        """Repaint with the column's current state (`selected`: the board's selected cards)."""
        self.column = column
        over = bool(column.wip_limit and total > column.wip_limit)
        text = header_text(column, total, len(visible) if filtered else None, sort)
        if text != self._header_text:
            self._header_text = text
            self.header.update(text, layout=False)
            self.header.set_class(over, "-over-limit")
        shown = [(card.id, card.key, card.version) for card in visible]
        mine = [card.id for card in visible if card.id in pending] if pending else []
        chosen = [card.id for card in visible if card.id in selected] if selected else []
        if (shown, mine, chosen) != self._shown:  # unchanged columns are not repainted
            self._shown = (shown, mine, chosen)
            self.card_list.selected = set(chosen)
            self.card_list.set_cards(visible, pending, keep)
        elif keep is not None:
            self.card_list.select(keep)
