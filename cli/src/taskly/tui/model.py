"""The board as the TUI shows it: columns of cards in rank order, the active filter, the clock.

Plain Python (no Textual, no pydantic): the board screen keeps one `BoardModel` of views (see
`views`), changes it at once on a key press (the write follows in a worker) and corrects it from
the cache when the write returns or a change arrives. `MovePlan` is both the optimistic change and
the arguments of `engine.move_card`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from ..cards import filters
from ..cards.filters import Where
from ..core import render

if TYPE_CHECKING:
    from taskly_shared.models import CardOut

    from .views import BoardView, CardView, ColumnView

PRIORITIES = ("urgent", "high", "medium", "low", "none")
PRIORITY_GLYPHS = {"urgent": "‼", "high": "▲", "medium": "■", "low": "▼", "none": ""}


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Clock:
    """What "today" and "now" are: injectable, so overdue marks and "5 min ago" are testable."""

    today: Callable[[], date] = date.today
    now: Callable[[], datetime] = _utcnow


# --- filters --------------------------------------------------------------------------------------


SORT_NAMES = {"key": "key", "priority": "priority", "due": "due date", "points": "points", "updated": "last change",
              "created": "creation", "title": "title"}


@dataclass(frozen=True)
class CardFilter:
    """The `/` filter: text (every word, in key/title/description/labels), labels (all of them),
    assignees (any of them), only mine, priorities (any of them); and the sprint picked with `S`
    (its id, and its name for the filter bar). `terms`: the rest of the filter grammar typed in
    the text (`overdue`, `due-before:…`, `column:…` …, see `cards.filters`); `sort` orders each
    column (None: by rank), `desc` reverses it."""

    text: str = ""
    labels: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    mine: bool = False
    priorities: tuple[str, ...] = ()
    sprint_id: str | None = None
    sprint_name: str = ""
    terms: Where = field(default_factory=Where)
    sort: str | None = None
    desc: bool = False

    @property
    def active(self) -> bool:
        return bool(self.text.strip() or self.labels or self.assignees or self.mine or self.priorities
                    or self.sprint_id or self.terms.active)

    @property
    def shown(self) -> bool:
        """Whether the filter bar has anything to say (a filter, or a sort)."""
        return self.active or self.sort is not None

    def describe(self) -> str:
        """One line for the filter bar, e.g. `"login" · label bug · mine · priority high · overdue`."""
        parts = [f"sprint {self.sprint_name or self.sprint_id}"] if self.sprint_id else []
        parts += [f'"{self.text.strip()}"'] if self.text.strip() else []
        parts += [f"label {label}" for label in self.labels]
        parts += [f"@{name}" for name in self.assignees]
        parts += ["mine"] if self.mine else []
        parts += [f"priority {', '.join(self.priorities)}"] if self.priorities else []
        parts += [self.terms.describe()] if self.terms.active else []
        return " · ".join(parts)

    def sort_text(self) -> str:
        """`sorted by due date ↓`, or `by rank` when no sort is chosen."""
        if self.sort is None:
            return "by rank"
        return f"sorted by {SORT_NAMES.get(self.sort, self.sort)} {'↓' if self.desc else '↑'}"

    def matches(self, card: CardView, me: str | None, today: date | None = None) -> bool:
        if self.sprint_id and card.sprint_id != self.sprint_id:
            return False
        if self.text.strip():
            haystack = "\n".join([card.key, card.title, card.description, *card.labels]).lower()
            if not all(word in haystack for word in self.text.lower().split()):
                return False
        if self.labels and not {x.lower() for x in self.labels} <= {x.lower() for x in card.labels}:
            return False
        wanted = {x.lower() for x in self.assignees} | ({me.lower()} if self.mine and me else set())
        if (self.assignees or self.mine) and not wanted & {x.lower() for x in card.assignees}:
            return False
        if self.priorities and card.priority not in self.priorities:
            return False
        return not self.terms.active or filters.matches(card, self.terms, me=me, today=today)


def split_list(text: str) -> tuple[str, ...]:
    """`"bug, auth  ui"` → ("bug", "auth", "ui"); `@` before names is dropped; duplicates removed."""
    items = (item.strip().lstrip("@") for item in re.split(r"[,\s]+", text))
    return tuple(dict.fromkeys(item for item in items if item))


# --- moves ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MovePlan:
    """Where a card goes: a column, then before/after a card or to the top/bottom."""

    card_id: str
    column_id: str
    before: str | None = None
    after: str | None = None
    position: str | None = None


@dataclass
class BoardModel:
    """A board's columns and cards (deleted ones left out), kept in the cache's order."""

    board: BoardView
    columns: list[ColumnView]
    me: str | None = None
    filter: CardFilter = field(default_factory=CardFilter)
    _by_column: dict[str, list[CardView]] = field(default_factory=dict)
    _where: dict[str, str] = field(default_factory=dict)
    """Card id → its column id."""
    selected: set[str] = field(default_factory=set)
    """The selected cards' ids (`space`); kept across reloads and live changes."""
    today: Callable[[], date] | None = None
    """The board's clock (overdue and due-date terms of the filter)."""

    @classmethod
    def build(cls, board: BoardView, cards: Iterable[CardView], me: str | None = None,
              card_filter: CardFilter | None = None) -> BoardModel:
        model = cls(board, list(board.columns), me, card_filter or CardFilter())
        model._by_column = {column.id: [] for column in model.columns}
        for card in cards:
            if not card.deleted and card.column_id in model._by_column:
                model._by_column[card.column_id].append(card)
                model._where[card.id] = card.column_id
        return model

    # --- reading ----------------------------------------------------------------------------------

    def column_ids(self) -> list[str]:
        return [column.id for column in self.columns]

    def column(self, column_id: str) -> ColumnView | None:
        return next((c for c in self.columns if c.id == column_id), None)

    def cards(self, column_id: str) -> list[CardView]:
        """Every card of a column (what WIP limits count)."""
        return self._by_column.get(column_id, [])

    def visible(self, column_id: str) -> list[CardView]:
        """The cards of a column that pass the filter, by rank or in the filter's sort order."""
        cards = self.cards(column_id)
        if self.filter.active:
            today = self.today() if self.today is not None else None
            cards = [card for card in cards if self.filter.matches(card, self.me, today)]
        if self.filter.sort is not None:
            return filters.order(cards, self.filter.sort, self.filter.desc)
        return list(cards)

    # --- selection (`space`): what the bulk keys act on ---------------------------------------------

    def toggle(self, card_id: str) -> bool:
        """Select or unselect a card; True when it is now selected."""
        if card_id in self.selected:
            self.selected.discard(card_id)
            return False
        if self.locate(card_id) is not None:
            self.selected.add(card_id)
            return True
        return False

    def selection(self) -> list[CardView]:
        """The selected cards still on the board, in board order (deleted or gone ones drop out)."""
        self.selected &= set(self._where)
        return [card for card in self.all_cards() if card.id in self.selected]

    def all_cards(self) -> list[CardView]:
        return [card for column_id in self.column_ids() for card in self.cards(column_id)]

    def locate(self, card_id: str) -> tuple[str, int] | None:
        """(column id, index among all its cards) of a card."""
        column_id = self._where.get(card_id)
        if column_id is None:
            return None
        index = next((i for i, card in enumerate(self._by_column[column_id]) if card.id == card_id), None)
        return None if index is None else (column_id, index)

    def card(self, card_id: str) -> CardView | None:
        found = self.locate(card_id)
        return self._by_column[found[0]][found[1]] if found else None

    def labels(self) -> list[str]:
        """Every label once, sorted without regard to case, then by the exact string (`Bug` before
        `bug`): the same order whatever the cards' order or the interpreter's hash seed."""
        return sorted({label for card in self.all_cards() for label in card.labels},
                      key=lambda label: (label.lower(), label))

    # --- changing ---------------------------------------------------------------------------------

    def remove(self, card_id: str) -> CardView | None:
        found = self.locate(card_id)
        if found is None:
            return None
        del self._where[card_id]
        return self._by_column[found[0]].pop(found[1])

    def upsert(self, card: CardView) -> None:
        """Put a card (new or changed) where its column and rank say; deleted cards leave."""
        self.remove(card.id)
        cards = self._by_column.get(card.column_id)
        if card.deleted or cards is None:
            return
        key = (card.rank, card.id)
        index = next((i for i, other in enumerate(cards) if (other.rank, other.id) > key), len(cards))
        cards.insert(index, card)
        self._where[card.id] = card.column_id

    def apply(self, plan: MovePlan) -> None:
        """The optimistic effect of a move (the cache's rank comes with the write's answer)."""
        card = self.remove(plan.card_id)
        cards = self._by_column.get(plan.column_id)
        if card is None or cards is None:
            return
        column = self.column(plan.column_id)
        if column is not None and card.column_id != plan.column_id:
            card = card.moved(column)
        ids = [other.id for other in cards]
        if plan.before in ids:
            index = ids.index(plan.before)
        elif plan.after in ids:
            index = ids.index(plan.after) + 1
        else:
            index = 0 if plan.position == "top" else len(cards)
        cards.insert(index, card)
        self._where[plan.card_id] = plan.column_id

    # --- planning moves ---------------------------------------------------------------------------

    def plan_column_step(self, card_id: str, step: int) -> MovePlan | None:
        """To the bottom of the previous (-1) or next (+1) column, where `taskly mv CARD COLUMN` puts a
        card; None at the board's edge."""
        found = self.locate(card_id)
        if found is None:
            return None
        ids = self.column_ids()
        target = ids.index(found[0]) + step
        if not 0 <= target < len(ids):
            return None
        return MovePlan(card_id, ids[target], position="bottom")

    def plan_reorder(self, card_id: str, step: int) -> MovePlan | None:
        """One place up (-1) or down (+1) among the visible cards of its column."""
        found = self.locate(card_id)
        if found is None:
            return None
        visible = [card.id for card in self.visible(found[0])]
        if card_id not in visible:
            return None
        target = visible.index(card_id) + step
        if not 0 <= target < len(visible):
            return None
        if step < 0:
            return MovePlan(card_id, found[0], before=visible[target])
        return MovePlan(card_id, found[0], after=visible[target])

    def plan_done(self, card_id: str) -> MovePlan | None:
        """To the top of the board's first done column; None without one or when already there."""
        found = self.locate(card_id)
        done = next((c.id for c in self.columns if c.kind == "done"), None)
        if found is None or done is None or found[0] == done:
            return None
        return MovePlan(card_id, done, position="top")

    def plan_drop(self, card_id: str, column_id: str, visible_index: int) -> MovePlan | None:
        """Dropped at `visible_index` of a column's visible cards (mouse drag)."""
        if self.locate(card_id) is None or column_id not in self._by_column:
            return None
        others = [card.id for card in self.visible(column_id) if card.id != card_id]
        if not others:
            return MovePlan(card_id, column_id, position="bottom")
        if visible_index >= len(others):
            return MovePlan(card_id, column_id, after=others[-1])
        return MovePlan(card_id, column_id, before=others[max(0, visible_index)])

    def with_filter(self, card_filter: CardFilter) -> BoardModel:
        return replace(self, filter=card_filter)

    def plan_bulk_step(self, step: int) -> list[tuple[CardView, str]]:
        """Each selected card to the previous (-1) or next (+1) column of its own: (card, column id);
        cards at the board's edge stay."""
        ids = self.column_ids()
        planned = []
        for card in self.selection():
            target = ids.index(card.column_id) + step
            if 0 <= target < len(ids):
                planned.append((card, ids[target]))
        return planned


# --- text for people ------------------------------------------------------------------------------


def initials(username: str) -> str:
    """`maya` → MA, `lee.chen` → LC."""
    parts = [part for part in re.split(r"[._\-\s]+", username) if part]
    if len(parts) >= 2:
        return (parts[0][0] + parts[1][0]).upper()
    return username[:2].upper()


def due_text(due: date, today: date) -> str:
    """`today`, `tomorrow`, `Nov 25` this year, else the ISO date."""
    days = (due - today).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if due.year == today.year:
        return due.strftime("%b %d").replace(" 0", " ")
    return due.isoformat()


def is_overdue(card: CardView, today: date) -> bool:
    return card.due is not None and card.due < today and card.column_kind != "done"


def ago(moment: datetime, now: datetime) -> str:
    """`just now`, `5 min ago`, `3 h ago`, `2 d ago`, else the date."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = int((now - moment).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    if seconds < 86400 * 30:
        return f"{seconds // 86400} d ago"
    return moment.date().isoformat()


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def sprint_text(sprint: dict[str, Any], today: date) -> str:
    """The header's sprint line, from a sprint with its stats (`core.sprints.with_stats`):
    `Sprint 12 · 21/34 pts of 40 · 3 days left` (points done/committed of the capacity), then
    `last day`, `2 days overdue`, `starts in 4 days` or `closed`."""
    from ..core import sprints

    points = f"{sprint['completed_points']}/{sprint['committed_points']} pts of {sprint['capacity_points']}"
    end, start = sprints.day(sprint["end_date"]), sprints.day(sprint["start_date"])
    if sprint.get("closed_at"):
        when = "closed"
    elif today < start:
        when = f"starts in {_plural((start - today).days, 'day')}"
    elif today > end:
        when = f"{_plural((today - end).days, 'day')} overdue"
    elif today == end:
        when = "last day"
    else:
        when = f"{_plural(sprints.days_left(sprint, today), 'day')} left"
    return f"{sprint['name']} · {points} · {when}"


def card_key(card: CardView | CardOut, board_key: str | None = None) -> str:
    """The key; for a card created offline and not numbered yet, its handle as `taskly ls` shows it
    (`WEB-?3f2a9c1b` with the board's key, else `3f2a9c1b`), which every command accepts."""
    return render.key(card, board_key)  # a CardView has the `key` and `id` it reads
