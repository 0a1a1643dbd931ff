"""One board column's cards, drawn with Textual's line API: only the cards on screen are rendered.

A board of 1,000 cards is a handful of these widgets, not 1,000 widgets, so it paints at once.
The widget keeps a cursor, shown when the column is the board's active one (`active`: the board
screen keeps the keyboard focus itself, so that moving between columns repaints two columns, not
the screen); it reports the cursor (`Highlighted`), clicks (`Clicked`), drags onto another column
(`Dropped`) and double clicks (`Opened`), and never writes anything itself.
"""

from __future__ import annotations

import textwrap
from bisect import bisect_right
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

from ...core.output import printable
from ..model import Clock, card_key, due_text, initials, is_overdue

if TYPE_CHECKING:
    from ..views import CardView, PullView

CARD_HEIGHT = 6
"""Lines per card: a border above and below, key and priority, two lines of title, labels/due/people;
one more for the pull request badges of a card that has pull requests."""
COMPACT_HEIGHT = 2
"""Lines per compact card (`compact`): key, priority and title; then the badges that fit."""
MAX_PULLS = 2
"""Pull requests with badges on a card (the rest are counted: `+2`)."""
CI_MARKS = {"success": ("CI✓", "ci-success"), "failure": ("CI✗", "ci-failure"),
            "pending": ("CI…", "ci-pending")}
ROUND = ("╭", "─", "╮", "│", "╰", "╯")
HEAVY = ("┏", "━", "┓", "┃", "┗", "┛")
SELECTED_MARK = "✔"
"""Before the key of a selected card (`space`); its border is drawn in the selection's colour too."""
PENDING_MARK = "⇡"
"""Shown on a card whose last write waits in the outbox."""
REMINDER_MARK = "⏰"
"""Shown on a card with a reminder (`remind_at`)."""
RECURRING_MARK = "↻"
"""Shown on a recurring card (daily, weekly, monthly)."""

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


class CardList(ScrollView, can_focus=False):
    """The cards of one column, a cursor among them, and mouse picking and dropping."""

    COMPONENT_CLASSES = {
        "card-list--card", "card-list--cursor", "card-list--key",
        "card-list--title", "card-list--label", "card-list--assignee", "card-list--points",
        "card-list--due", "card-list--overdue", "card-list--pending", "card-list--empty",
        "card-list--priority-urgent", "card-list--priority-high", "card-list--priority-medium",
        "card-list--priority-low", "card-list--priority-none", "card-list--pr", "card-list--pr-merged",
        "card-list--pr-closed", "card-list--ci-success", "card-list--ci-failure", "card-list--ci-pending",
        "card-list--approved", "card-list--changes-requested", "card-list--sprint", "card-list--selected",
        "card-list--reminder", "card-list--recurring",
    }

    cursor: reactive[int] = reactive(0, always_update=True, init=False)
    active: reactive[bool] = reactive(False, init=False)
    """Whether this is the board's active column (its cursor shows, keys act on it)."""

    class Highlighted(Message):
        """The cursor moved to `card` (None in an empty column)."""

        def __init__(self, card_list: CardList, card: CardView | None) -> None:
            super().__init__()
            self.card_list = card_list
            self.card = card

        @property
        def control(self) -> CardList:
            return self.card_list

    class Clicked(Message):
        """A card (`index`), or the empty part of the column (None), was clicked."""

        def __init__(self, card_list: CardList, index: int | None) -> None:
            super().__init__()
            self.card_list = card_list
            self.index = index

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

        def __init__(self, card: CardView) -> None:
            super().__init__()
            self.card = card

    def __init__(self, column_id: str, *, clock: Clock | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.column_id = column_id
        self.clock = clock or Clock()
        self.cards: list[CardView] = []
        self.tops: list[int] = []
        """The first line of each card."""
        self.pending: set[str] = set()
        self.selected: set[str] = set()
        """The selected cards of this column (`space`), marked with SELECTED_MARK."""
        self.compact = False
        """Two-line cards (`z`, and the default on small terminals)."""
        self.board_key: str | None = None
        """The board's key: a card made offline shows as `WEB-?3f2a9c1b` until it is numbered."""
        self.sprint_names: dict[str, str] = {}
        """Sprint id → name: a card's sprint is named on its bottom border (full density)."""
        self.label_colors: dict[str, str] = {}
        """Label name → #rrggbb (the catalogue); a label not in it shows in its palette colour."""
        self._cache: dict[tuple[str, str, int, int, bool, bool, int, str, bool], list[Strip]] = {}
        self._styles: dict[str, Style] | None = None
        self._drag_from: int | None = None

    # --- content ----------------------------------------------------------------------------------

    @property
    def current(self) -> CardView | None:
        return self.cards[self.cursor] if 0 <= self.cursor < len(self.cards) else None

    def set_cards(self, cards: list[CardView], pending: set[str] | None = None,
                  keep: str | None = None) -> None:
        """Show `cards`; the cursor stays on `keep` (else the same card, else the same place)."""
        previous = self.current.id if self.current else None
        keep = keep or previous
        self.cards = cards
        self.pending = pending if pending is not None else self.pending
        self.tops, line = [], 0
        for card in cards:
            self.tops.append(line)
            line += card_height(card, self.compact)
        self._cache.clear()
        self._set_virtual_height(line)
        ids = [card.id for card in cards]
        index = next((ids.index(c) for c in (keep, previous) if c in ids), min(self.cursor, max(0, len(cards) - 1)))
        self.set_reactive(CardList.cursor, index)
        self._show_cursor()
        self.refresh()

    def _set_virtual_height(self, height: int) -> None:
        """The scrollable height; no layout pass (this widget's own size does not depend on it)."""
        if self.virtual_size.height != height or self.virtual_size.width != self.size.width:
            self.set_reactive(CardList.virtual_size, Size(self.size.width, height))
            if self.is_mounted:
                self._refresh_scrollbars()

    def select(self, card_id: str) -> bool:
        """Put the cursor on a card of this column."""
        ids = [card.id for card in self.cards]
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
            top, height = self.tops[self.cursor], card_height(self.cards[self.cursor], self.compact)
            scroll_y, visible = int(self.scroll_offset.y), self.scrollable_content_region.height
            if top < scroll_y or top + height > scroll_y + visible:
                self.scroll_to_region(Region(0, top, 1, height), animate=False, immediate=True, force=True)

    def page(self, direction: int) -> None:
        """A page of cards up (-1) or down (+1)."""
        unit = COMPACT_HEIGHT if self.compact else CARD_HEIGHT
        self.cursor += direction * max(1, self.scrollable_content_region.height // unit)

    def set_sprint_names(self, names: dict[str, str]) -> None:
        """The board's sprints by id (renamed or new ones repaint the cards)."""
        if names != self.sprint_names:
            self.sprint_names = names
            self._cache.clear()
            self.refresh()

    def set_label_colors(self, colors: dict[str, str]) -> None:
        """The workspace's label colours (a recoloured or renamed label repaints the cards)."""
        if colors != self.label_colors:
            self.label_colors = dict(colors)
            self._cache.clear()
            self.refresh()

    def _label_style(self, name: str, base: Style) -> Style:
        """A label as a chip in its colour (textual drops colours under NO_COLOR)."""
        from ...core.labels import chip_style, color_of

        return base + self._style("label") + Style.parse(chip_style(color_of(name, self.label_colors)))

    def set_compact(self, compact: bool) -> None:
        """Switch the card density; the cursor stays on its card."""
        if compact != self.compact:
            self.compact = compact
            self.set_cards(self.cards)

    def watch_active(self, active: bool) -> None:
        self.refresh()
        if active:
            self._show_cursor()
            self.post_message(self.Highlighted(self, self.current))

    def on_resize(self) -> None:
        self._cache.clear()
        self._set_virtual_height(self.virtual_size.height)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._cache.clear()

    # --- mouse: click focuses, drag to another column moves -------------------------------------------

    def index_at(self, y: int) -> int | None:
        """The card at line `y` of this widget (None below the last one)."""
        line = y + int(self.scroll_offset.y)
        if y < 0 or not self.cards or line >= self.virtual_size.height:
            return None
        return bisect_right(self.tops, line) - 1

    def on_mouse_down(self, event: events.MouseDown) -> None:
        index = self.index_at(event.y)
        self.post_message(self.Clicked(self, index))
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
        self.post_message(self.Dropped(self.cards[start].id, target.column_id,
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
            partial = name not in ("card", "cursor")
            style = self.get_component_rich_style(f"card-list--{name}", partial=partial)
            self._styles[name] = style
        return style

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = y + int(self.scroll_offset.y)
        if not self.cards:
            if y == 1:
                fill = self._style("card")
                return Strip(_row([("  no cards", fill + self._style("empty"))], [], width, fill), width)
            return Strip.blank(width, self.rich_style)
        index = self.index_at(y)
        if index is None or width < 8:
            return Strip.blank(width, self.rich_style)
        return self._card_strips(index, width)[line - self.tops[index]]

    def _card_strips(self, index: int, width: int) -> list[Strip]:
        card = self.cards[index]
        cursor = index == self.cursor and self.active
        pending = card.id in self.pending
        selected = card.id in self.selected
        sprint = self.sprint_names.get(card.sprint_id or "", "") if not self.compact else ""
        key = (card.id, card.key, card.version, width, cursor, pending, len(card.pull_requests), sprint, selected)
        strips = self._cache.get(key)
        if strips is None:
            draw = self._draw_compact if self.compact else self._draw
            strips = [Strip(segments, width) for segments in draw(card, width, cursor, pending, selected)]
            self._cache[key] = strips
        return strips

    def _draw(self, card: CardView, width: int, cursor: bool, pending: bool,
              selected: bool = False) -> list[list[Segment]]:
        """A card's lines; the cursor (in the active column only) has a heavy border, a selected
        card a mark before its key and a border in the selection's colour."""
        s = self._style
        base = s("cursor") if cursor else s("card")
        border = base + s("selected" if selected else f"priority-{card.priority}")
        top_left, across, top_right, side, bottom_left, bottom_right = HEAVY if cursor else ROUND
        inner = width - 4

        def framed(segments: list[Segment]) -> list[Segment]:
            return [Segment(side, border), Segment(" ", base), *segments, Segment(" ", base),
                    Segment(side, border)]

        # stored text is data: escaped, so it can neither drive the terminal nor break the borders
        head_left: list[Part] = [(printable(card_key(card, self.board_key)), base + s("key"))]
        if selected:
            head_left = [(SELECTED_MARK + " ", base + s("selected")), *head_left]
        if card.priority != "none":
            head_left += [("  ", base), (f"● {card.priority}", base + s(f"priority-{card.priority}"))]
        head_right: list[Part] = [(f"{card.points} pt", base + s("points"))] if card.points is not None else []
        title = textwrap.wrap(printable(card.title), max(1, inner)) or [""]
        if len(title) > 2:
            title = [title[0], set_cell_size(" ".join(title[1:]), max(0, inner - 1)) + "…"]
        title += [""] * (2 - len(title))
        labels: list[Part] = []
        for label in card.labels:
            labels += [(printable(label), self._label_style(label, base)), (" ", base)]
        tail = self._tail(card, base, pending)
        lines = [
            [Segment(top_left + across * (width - 2) + top_right, border)],
            framed(_row(head_left, head_right, inner, base)),
            framed(_row([(title[0], base + s("title"))], [], inner, base)),
            framed(_row([(title[1], base + s("title"))], [], inner, base)),
            framed(_row(labels[:-1], tail, inner, base)),
        ]
        if card.pull_requests:
            badges: list[Part] = []
            for pull in card.pull_requests[:MAX_PULLS]:
                badges += [(part, base + s(name)) for part, name in pull_badges(pull)] + [("  ", base)]
            more = len(card.pull_requests) - MAX_PULLS
            badges = badges[:-1] + ([("  ", base), (f"+{more}", base + s("pr"))] if more > 0 else [])
            lines.append(framed(_row(badges, [], inner, base)))
        lines.append(self._bottom(card, width, border, base, (bottom_left, across, bottom_right)))
        return lines

    def _bottom(self, card: CardView, width: int, border: Style, base: Style,
                corners: tuple[str, str, str]) -> list[Segment]:
        """The bottom border; a card in a sprint has the sprint's name on it: `╰─ Sprint 12 ──╯`."""
        left, across, right = corners
        name = self.sprint_names.get(card.sprint_id or "", "")
        room = width - 6  # the corners, a line on each side, a space on each side
        if not name or room < 3:
            return [Segment(left + across * (width - 2) + right, border)]
        text = printable(name)
        if cell_len(text) > room:
            text = set_cell_size(text, room - 1) + "…"
        rest = width - 4 - cell_len(text) - 1
        return [Segment(left + across + " ", border), Segment(text, base + self._style("sprint")),
                Segment(" " + across * rest + right, border)]

    def _tail(self, card: CardView, base: Style, pending: bool) -> list[Part]:
        """The right end of the badges: pending mark, reminder and recurrence marks, due date,
        assignees' initials."""
        s, today = self._style, self.clock.today()
        tail: list[Part] = []
        if pending:
            tail += [(PENDING_MARK, base + s("pending")), (" ", base)]
        if card.remind_at:
            tail += [(REMINDER_MARK, base + s("reminder")), (" ", base)]
        if card.recurrence != "none":
            tail += [(RECURRING_MARK, base + s("recurring")), (" ", base)]
        if card.due is not None:
            style = s("overdue") if is_overdue(card, today) else s("due")
            tail += [(due_text(card.due, today), base + style), (" ", base)]
        tail += [(" ".join(printable(initials(name)) for name in card.assignees), base + s("assignee"))]
        tail = tail[:-1] if tail[-1][0] == "" else tail
        return tail[:-1] if tail and tail[-1][0] == " " else tail

    def _draw_compact(self, card: CardView, width: int, cursor: bool, pending: bool,
                      selected: bool = False) -> list[list[Segment]]:
        """Two lines: a priority bar, key and title; then the first pull request, the labels and, at
        the end, the points, the due date and the people. What does not fit is cut."""
        s = self._style
        base = s("cursor") if cursor else s("card")
        bar = (HEAVY if cursor else ROUND)[3]
        edge = [Segment(bar, base + s("selected" if selected else f"priority-{card.priority}")), Segment(" ", base)]
        inner = width - 3
        head: list[Part] = [(printable(card_key(card, self.board_key)), base + s("key")), (" ", base),
                            (printable(card.title), base + s("title"))]
        if selected:
            head = [(SELECTED_MARK + " ", base + s("selected")), *head]
        points: list[Part] = [(f"{card.points}pt", base + s("points"))] if card.points is not None else []
        badges: list[Part] = []
        for pull in card.pull_requests[:1]:
            badges += [(part, base + s(name)) for part, name in pull_badges(pull)] + [(" ", base)]
        for label in card.labels:
            badges += [(printable(label), self._label_style(label, base)), (" ", base)]
        tail = self._tail(card, base, pending)
        right = [*points, (" ", base), *tail] if points and tail else points or tail
        end = [Segment(" ", base)]
        return [[*edge, *_row(head, [], inner, base), *end], [*edge, *_row(badges[:-1], right, inner, base), *end]]


def card_height(card: CardView, compact: bool = False) -> int:
    if compact:
        return COMPACT_HEIGHT
    return CARD_HEIGHT + (1 if card.pull_requests else 0)


def pull_badges(pull: PullView) -> list[tuple[str, str]]:
    """`#12 open CI✓ ✔2 ±1`: number and state, CI, approvals and requested changes (text, style)."""
    state = pull.state
    parts = [(f"#{pull.number} {printable(state)}", {"merged": "pr-merged", "closed": "pr-closed"}.get(state, "pr"))]
    if pull.ci in CI_MARKS:
        mark, style = CI_MARKS[pull.ci]
        parts += [(" ", "pr"), (mark, style)]
    if pull.approvals:
        parts += [(" ", "pr"), (f"✔{pull.approvals}", "approved")]
    if pull.changes_requested:
        parts += [(" ", "pr"), (f"±{pull.changes_requested}", "changes-requested")]
    return parts
