"""One board column's cards, drawn with Textual's line API: only the cards on screen are rendered.

A board of 1,000 cards is a handful of these widgets, not 1,000 widgets, so it paints at once.
The widget keeps a cursor, reports it (`Highlighted`), and reports mouse drags onto another
column (`Dropped`) and double clicks (`Opened`); it never writes anything itself.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..bindings import CARD_LIST
from ..model import Clock, card_key, due_text, initials, is_overdue

if TYPE_CHECKING:
    from taskly_shared.models import CardOut

CARD_HEIGHT = 6
"""Lines per card: a border above and below, key and priority, two lines of title, labels/due/people."""
ROUND = ("╭", "─", "╮", "│", "╰", "╯")
HEAVY = ("┏", "━", "┓", "┃", "┗", "┛")
PENDING_MARK = "⇡"
"""Shown on a card whose last write waits in the outbox."""

Part = tuple[str, Style]


def _row(left: list[Part], right: list[Part], width: int, fill: Style) -> list[Segment]:
    """`left` then `right` aligned to the end, in exactly `width` cells (left is cut first)."""
    right_width = sum(cell_len(text) for text, _ in right)
    if right_width > width:
        right, right_width = [], 0
    room = width - right_width - (1 if right else 0)
    segments: list[Segment] = []
    used = 0
    for text, style in left:
        if used >= room:
            break
        if used + cell_len(text) > room:
            text = set_cell_size(text, max(0, room - used - 1)) + "…"
        segments.append(Segment(text, style))
        used += cell_len(text)
    segments.append(Segment(" " * (width - used - right_width), fill))
    segments += [Segment(text, style) for text, style in right]
    return segments


class CardList(ScrollView, can_focus=True):
    """The cards of one column, a cursor among them, and mouse picking and dropping."""

    BINDINGS = CARD_LIST
    COMPONENT_CLASSES = {
        "card-list--card", "card-list--cursor", "card-list--cursor-blur", "card-list--key",
        "card-list--title", "card-list--label", "card-list--assignee", "card-list--points",
        "card-list--due", "card-list--overdue", "card-list--pending", "card-list--empty",
        "card-list--priority-urgent", "card-list--priority-high", "card-list--priority-medium",
        "card-list--priority-low", "card-list--priority-none",
    }

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    class Highlighted(Message):
        """The cursor moved to `card` (None in an empty column)."""

        def __init__(self, card_list: CardList, card: CardOut | None) -> None:
            super().__init__()
            self.card_list = card_list
            self.card = card

        @property
        def control(self) -> CardList:
            return self.card_list

    class Dropped(Message):
        """A card was dragged from this column and dropped at `index` of `column_id`'s cards."""

        def __init__(self, card_id: str, column_id: str, index: int) -> None:
            super().__init__()
            self.card_id = card_id
            self.column_id = column_id
            self.index = index

    class Opened(Message):
        """A card was double-clicked."""

        def __init__(self, card: CardOut) -> None:
            super().__init__()
            self.card = card

    def __init__(self, column_id: str, *, clock: Clock | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.column_id = column_id
        self.clock = clock or Clock()
        self.cards: list[CardOut] = []
        self.pending: set[str] = set()
        self._cache: dict[tuple[str, int, int, bool, bool, bool], list[Strip]] = {}
        self._styles: dict[str, Style] | None = None
        self._drag_from: int | None = None

    # --- content ----------------------------------------------------------------------------------

    @property
    def current(self) -> CardOut | None:
        return self.cards[self.cursor] if 0 <= self.cursor < len(self.cards) else None

    def set_cards(self, cards: list[CardOut], pending: set[str] | None = None,
                  keep: str | None = None) -> None:
        """Show `cards`; the cursor stays on `keep` (else the same card, else the same place)."""
        keep = keep or (str(self.current.id) if self.current else None)
        self.cards = cards
        self.pending = pending if pending is not None else self.pending
        self._cache.clear()
        self.virtual_size = Size(self.size.width, len(cards) * CARD_HEIGHT)
        ids = [str(card.id) for card in cards]
        index = ids.index(keep) if keep in ids else min(self.cursor, max(0, len(cards) - 1))
        self.set_reactive(CardList.cursor, index)
        self._show_cursor()
        self.refresh()

    def select(self, card_id: str) -> bool:
        """Put the cursor on a card of this column."""
        ids = [str(card.id) for card in self.cards]
        if card_id not in ids:
            return False
        self.cursor = ids.index(card_id)
        return True

    def validate_cursor(self, cursor: int) -> int:
        return max(0, min(cursor, len(self.cards) - 1)) if self.cards else 0

    def watch_cursor(self) -> None:
        self._show_cursor()
        self.refresh()
        self.post_message(self.Highlighted(self, self.current))

    def _show_cursor(self) -> None:
        if self.cards and self.is_mounted:
            self.scroll_to_region(Region(0, self.cursor * CARD_HEIGHT, 1, CARD_HEIGHT), animate=False,
                                  immediate=True, force=True)

    # --- keys ---------------------------------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        self.cursor += step

    def action_cursor_to(self, index: int) -> None:
        self.cursor = index if index >= 0 else len(self.cards) - 1

    def action_page(self, direction: int) -> None:
        self.cursor += direction * max(1, self.scrollable_content_region.height // CARD_HEIGHT)

    def on_focus(self) -> None:
        self.refresh()
        self.post_message(self.Highlighted(self, self.current))

    def on_blur(self) -> None:
        self.refresh()

    def on_resize(self) -> None:
        self._cache.clear()
        self.virtual_size = Size(self.size.width, len(self.cards) * CARD_HEIGHT)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._cache.clear()

    # --- mouse: click focuses, drag to another column moves -------------------------------------------

    def index_at(self, y: int) -> int | None:
        """The card at line `y` of this widget (None below the last one)."""
        index = (y + int(self.scroll_offset.y)) // CARD_HEIGHT
        return index if y >= 0 and index < len(self.cards) else None

    def on_mouse_down(self, event: events.MouseDown) -> None:
        index = self.index_at(event.y)
        self.focus()
        if index is not None:
            self.cursor = index
            self._drag_from = index
            self.capture_mouse()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        start, self._drag_from = self._drag_from, None
        if start is None:
            return
        self.release_mouse()
        target = self._list_at(event.screen_x, event.screen_y)
        if target is None or target is self or start >= len(self.cards):
            return
        index = target.index_at(event.screen_y - target.content_region.y)
        self.post_message(self.Dropped(str(self.cards[start].id), target.column_id,
                                       len(target.cards) if index is None else index))

    def _list_at(self, x: int, y: int) -> CardList | None:
        """The card list under a screen position (its column's header counts as the list)."""
        try:
            widget, _ = self.screen.get_widget_at(x, y)
        except Exception:  # outside every widget
            return None
        for node in (widget, *widget.ancestors):
            if isinstance(node, CardList):
                return node
            found = getattr(node, "card_list", None)
            if isinstance(found, CardList):
                return found
        return None

    def on_click(self, event: events.Click) -> None:
        if event.chain == 2 and self.current is not None and self.index_at(event.y) == self.cursor:
            self.post_message(self.Opened(self.current))

    # --- drawing ------------------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        if self._styles is None:
            self._styles = {}
        style = self._styles.get(name)
        if style is None:
            partial = name not in ("card", "cursor", "cursor-blur")
            style = self.get_component_rich_style(f"card-list--{name}", partial=partial)
            self._styles[name] = style
        return style

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = y + int(self.scroll_offset.y)
        if not self.cards:
            if y == 1:
                return Strip(_row([("no cards", self._style("empty"))], [], width, self.rich_style), width)
            return Strip.blank(width, self.rich_style)
        index, offset = divmod(line, CARD_HEIGHT)
        if index >= len(self.cards) or width < 8:
            return Strip.blank(width, self.rich_style)
        return self._card_strips(index, width)[offset]

    def _card_strips(self, index: int, width: int) -> list[Strip]:
        card = self.cards[index]
        cursor, focused = index == self.cursor, self.has_focus
        pending = str(card.id) in self.pending
        key = (str(card.id), card.version, width, cursor, focused and cursor, pending)
        strips = self._cache.get(key)
        if strips is None:
            strips = [Strip(segments, width) for segments in self._draw(card, width, cursor, focused, pending)]
            self._cache[key] = strips
        return strips

    def _draw(self, card: CardOut, width: int, cursor: bool, focused: bool,
              pending: bool) -> list[list[Segment]]:
        s = self._style
        base = s("cursor") if cursor and focused else s("cursor-blur") if cursor else s("card")
        border = base + s(f"priority-{card.priority.value}")
        top_left, across, top_right, side, bottom_left, bottom_right = HEAVY if cursor else ROUND
        inner = width - 4
        today = self.clock.today()

        def framed(segments: list[Segment]) -> list[Segment]:
            return [Segment(side, border), Segment(" ", base), *segments, Segment(" ", base),
                    Segment(side, border)]

        head_left: list[Part] = [(card_key(card), base + s("key"))]
        if card.priority.value != "none":
            head_left += [("  ", base), (f"● {card.priority.value}", base + s(f"priority-{card.priority.value}"))]
        head_right: list[Part] = [(f"{card.points} pt", base + s("points"))] if card.points is not None else []
        title = textwrap.wrap(card.title, max(1, inner)) or [""]
        if len(title) > 2:
            title = [title[0], set_cell_size(" ".join(title[1:]), max(0, inner - 1)) + "…"]
        title += [""] * (2 - len(title))
        labels: list[Part] = []
        for label in card.labels:
            labels += [(label, base + s("label")), (" ", base)]
        tail: list[Part] = []
        if pending:
            tail += [(PENDING_MARK, base + s("pending")), (" ", base)]
        if card.due is not None:
            style = s("overdue") if is_overdue(card, today) else s("due")
            tail += [(due_text(card.due, today), base + style), (" ", base)]
        tail += [(" ".join(initials(name) for name in card.assignees), base + s("assignee"))]
        tail = tail[:-1] if tail[-1][0] == "" else tail
        if tail and tail[-1][0] == " ":
            tail = tail[:-1]
        return [
            [Segment(top_left + across * (width - 2) + top_right, border)],
            framed(_row(head_left, head_right, inner, base)),
            framed(_row([(title[0], base + s("title"))], [], inner, base)),
            framed(_row([(title[1], base + s("title"))], [], inner, base)),
            framed(_row(labels[:-1], tail, inner, base)),
            [Segment(bottom_left + across * (width - 2) + bottom_right, border)],
        ]
