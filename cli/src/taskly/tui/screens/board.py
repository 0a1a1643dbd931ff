"""The board: one column per board column, keyboard first, changed at once and written in workers.

A key press changes the `BoardModel` and repaints; the write goes to the app (`WriteRequested`),
which runs it in a worker through the sync engine. When the write returns (`WriteDone`) or changes
arrive (`CacheChanged`), the model is corrected from the cache. The screen keeps the keyboard
focus and one column is `active` (Textual repaints the whole screen on a focus change).

This module lays the board out and repaints it; what the keys do is `BoardKeys` (board_keys.py).
With no current board, the screen picks one (`BoardPicker`, board_picker.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Static

from ...core import sprints
from ...core.errors import TasklyError
from ...core.output import printable
from ..bindings import APP, BOARD, CARD_LIST
from ..layout import compact_by_default, more_text
from ..messages import (
    CacheChanged,
    CardOpenRequested,
    InboxRequested,
    NotificationsChanged,
    SyncStateChanged,
    WriteDone,
    WriteFailed,
)
from ..model import CardFilter, sprint_text
from ..widgets.card_list import CardList
from ..widgets.column import BoardColumn
from ..widgets.columns import Columns
from ..widgets.key_bar import KeyBar, KeyParts, key_line
from ..widgets.sync_indicator import SyncIndicator, indicator_text
from ..widgets.unread_indicator import UnreadIndicator
from .board_keys import BoardKeys

if TYPE_CHECKING:
    from ..context import BoardContext
    from ..model import BoardModel
    from ..views import CardView


class BoardScreen(BoardKeys, Screen[None]):
    """The kanban board of one Taskly board."""

    BINDINGS = [*BOARD, *CARD_LIST]
    AUTO_FOCUS = None

    def __init__(self, context: BoardContext, model: BoardModel | None,
                 placeholder: str = "Loading the board…") -> None:
        super().__init__(id="board-screen")
        self.context = context
        self.model = model
        self.placeholder = placeholder
        self.columns: dict[str, BoardColumn] = {}
        self._filter_text = ""
        self._sprint_text = ""
        self._sprint_names: dict[str, str] = {}
        self._binding_state: tuple[bool, bool, bool] | None = None
        self.active: CardList | None = None
        """The column the keys act on."""
        self.density: bool | None = None
        """Compact cards as chosen with `z` (None: chosen by the terminal's size)."""
        self._choosing = False
        self._declined = False
        """The user closed the board list without choosing: it is not offered again by itself."""

    # --- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Everything filled in before it mounts: the first frame is the board (no repaint after)."""
        with Horizontal(id="title-bar"):
            yield Static(self._title(), id="board-title", markup=False)
            self._sprint_text, overdue = self._sprint_line()
            yield Static(self._sprint_text, id="board-sprint", markup=False,
                         classes=" ".join(["-active"] * bool(self._sprint_text) + ["-overdue"] * overdue))
            yield Static("", id="board-more", markup=False)
        self._filter_text = self._filter_line()
        yield Static(self._filter_text, id="filter-bar", markup=False,
                     classes="-active" if self._filter_text else "")
        yield Static("", id="progress-bar", markup=False)
        self.columns, self.active = {}, None
        self._sprint_names = {}  # new card lists: they are told the names again
        self._binding_state = None
        if self.model is None:
            yield Static(printable(self.placeholder, multiline=True), id="placeholder", markup=False)
        else:
            for column in self.model.columns:
                widget = BoardColumn(column, clock=self.context.clock, board_key=self.model.board.key)
                widget.card_list.compact = self.compact
                self.columns[str(column.id)] = widget
            columns = Columns(list(self.columns.values()), self.app.size.width, id="columns")
            yield columns
            self._refresh(bindings=False)
            lists = self.card_lists
            first = next((card_list for card_list in lists if card_list.cards), lists[0] if lists else None)
            if first is not None:
                self.active = first
                self._column_of(first).set_active(True)
                columns.show_column(lists.index(first))
        with Horizontal(id="footer-bar"):
            yield KeyBar(self._key_line(), id="key-bar")
            yield UnreadIndicator(self.context.unread_count(), id="unread-indicator")
            yield SyncIndicator(indicator_text(self.context.sync_state), id="sync-indicator")

    def _filter_line(self) -> str:
        """The filter and the sort (`Filter: … · sorted by due date ↓`), and the selection's size."""
        if self.model is None:
            return ""
        parts = []
        card_filter = self.model.filter
        if card_filter.active:
            parts.append(f"Filter: {printable(card_filter.describe())}")
        if card_filter.sort is not None:
            parts.append(f"Columns {card_filter.sort_text()} (not by rank)")
        selected = len(self.model.selection())
        if selected:
            parts.append(f"{selected} selected: H/L d x t a act on them")
        if not parts:
            return ""
        return " · ".join(parts) + "    (esc clears, / changes)"

    def shown_sprint(self) -> dict[str, Any] | None:
        """The sprint the header shows, with its stats from the board's cards: the one the board is
        filtered by (`S`), else the board's active sprint (None: neither)."""
        if self.model is None:
            return None
        today, found = self.context.clock.today(), self.context.board_sprints
        picked = self.model.filter.sprint_id
        sprint = next((s for s in found if str(s["id"]) == picked), None) if picked else \
            sprints.current(found, today)
        if sprint is None:
            return None
        cards = [{"sprint_id": c.sprint_id, "points": c.points, "column_kind": c.column_kind}
                 for c in self.model.all_cards() if c.sprint_id]
        return sprints.with_stats(sprint, cards, today)

    def _sprint_line(self) -> tuple[str, bool]:
        """The header's sprint text (empty: no sprint to show) and whether it is overdue."""
        sprint = self.shown_sprint()
        if sprint is None:
            return "", False
        return printable(sprint_text(sprint, self.context.clock.today())), bool(sprint["overdue"])

    def _title(self) -> str:
        if self.model is None:
            return "Taskly"
        board = self.model.board
        workspace = self.context.workspace_name(str(board.workspace_id))
        return printable(f"{board.key} · {board.name}" + (f"  —  {workspace}" if workspace else ""))

    def on_mount(self) -> None:
        self.query_one(SyncIndicator).show(self.context.sync_state)
        if self.model is None:
            self.call_after_refresh(self.choose_board)

    # --- no current board -----------------------------------------------------------------------

    def choose_board(self) -> bool:
        """With no board named nor current: open the only one there is, else ask which (a list).
        The board opened becomes the current one, as with `taskly board use`. False when there is
        nothing to choose from (yet: with no cached board, `reload` asks again after the sync)."""
        if self.model is not None or not self.context.needs_choice():
            return False
        if self._choosing or self._declined:
            return True
        choices = self.context.board_choices()
        if len(choices) == 1:
            self._choosing = True
            self.run_worker(self._use_board(choices[0].id), group="board", exit_on_error=False)
        elif choices:
            from .board_picker import BoardPicker

            self._choosing = True
            self.app.push_screen(BoardPicker(choices), self._picked)
        return bool(choices)

    def action_pick_board(self) -> None:
        """B: the list of boards again (after esc, or to switch); the one chosen becomes current."""
        from .board_picker import BoardPicker

        choices = self.context.board_choices()
        if not choices:
            self.notify("No board to choose from in the cache (archived ones are not listed)", severity="warning")
            return
        self._choosing, self._declined = True, False
        current = str(self.model.board.id) if self.model is not None else None
        self.app.push_screen(BoardPicker(choices, current), self._picked)

    def _picked(self, board_id: str | None) -> None:
        if board_id is not None:
            self.run_worker(self._use_board(board_id), group="board", exit_on_error=False)
            return
        self._choosing = False
        if self.model is not None:  # esc while a board is open: it stays
            return
        self._declined = True
        self.placeholder = "No board chosen: B lists them again, q quits; `taskly board use KEY` makes one current."
        self.run_worker(self.recompose(), group="board", exit_on_error=False)

    async def _use_board(self, board_id: str) -> None:
        try:
            self.context.use_board(board_id)
        except TasklyError as exc:  # told where the board would be: not offered again
            self._choosing, self._declined = False, True
            self.placeholder = exc.message
            await self.recompose()
            return
        self._choosing = False
        if self.model is not None and str(self.model.board.id) != board_id:
            self.model = self.model.with_filter(CardFilter())  # another board: its own filter
        await self.reload()

    def activate(self, card_list: CardList) -> None:
        """Make a column the active one (its cursor shows and the keys act on it)."""
        if card_list is self.active:
            return
        if self.active is not None:
            self._column_of(self.active).set_active(False)
        self.active = card_list
        self._column_of(card_list).set_active(True)
        self._show_active()
        if self.is_mounted:
            self._refresh_bindings()

    def _show_active(self) -> None:
        """Scroll the columns so that the active one is on screen."""
        if self.active is not None and self.is_mounted:
            for columns in self.query(Columns):
                columns.show_column(self.card_lists.index(self.active))

    # --- fitting the terminal -------------------------------------------------------------------

    @property
    def compact(self) -> bool:
        """Whether cards are compact: the user's choice (`z`), else by the terminal's size."""
        return self.density if self.density is not None else compact_by_default(*self.app.size)

    def on_resize(self, event: events.Resize) -> None:
        for columns in self.query(Columns):
            columns.relayout(event.size.width)
        self._set_density()

    def action_toggle_density(self) -> None:
        self.density = not self.compact
        self._set_density()

    def _set_density(self) -> None:
        compact = self.compact
        for card_list in self.card_lists:
            card_list.set_compact(compact)

    @on(Columns.HiddenChanged)
    def _hidden_changed(self, message: Columns.HiddenChanged) -> None:
        self.query_one("#board-more", Static).update(more_text(message.left, message.right))

    def _column_of(self, card_list: CardList) -> BoardColumn:
        return self.columns[card_list.column_id]

    def _refresh(self, focus: str | None = None, *, bindings: bool = True) -> None:
        """Repaint every column from the model; `focus` puts the cursor (and focus) on that card."""
        if self.model is None:
            return
        model, pending = self.model, self.context.pending_card_ids()
        for column in model.columns:
            widget = self.columns.get(str(column.id))
            if widget is not None:
                widget.show(column, len(model.cards(str(column.id))), model.visible(str(column.id)),
                            pending, model.filter.active, focus, selected=model.selected,
                            sort=model.filter.sort_text() if model.filter.sort else None)
        if focus is not None:
            found = model.locate(focus)
            widget = self.columns.get(found[0]) if found else None
            if widget is not None:
                widget.card_list.select(focus)
                self.activate(widget.card_list)
        self._show_sprint()
        text = self._filter_line()
        if text != self._filter_text:
            self._filter_text = text
            bar = self.query_one("#filter-bar", Static)
            bar.update(text, layout=False)
            bar.set_class(bool(text), "-active")
        if bindings:
            self._refresh_bindings()

    def _show_sprint(self) -> None:
        """The header's sprint, and the sprint names on the cards (full density)."""
        text, overdue = self._sprint_line()
        if text != self._sprint_text:
            self._sprint_text = text
            bar = self.query_one("#board-sprint", Static)
            bar.update(text)
            bar.set_class(bool(text), "-active")
            bar.set_class(overdue, "-overdue")
        names = {str(s["id"]): str(s["name"]) for s in self.context.board_sprints}
        if names != self._sprint_names:
            self._sprint_names = names
            for card_list in self.card_lists:
                card_list.set_sprint_names(names)
        for card_list in self.card_lists:  # the labels' colours (a no-op when they are as they were)
            card_list.set_label_colors(self.context.label_colors)

    def _refresh_bindings(self) -> None:
        """Refresh the footer only when what can be done changes (it rebuilds its keys: ~10 ms)."""
        state = (self.model is not None, self.current_card is not None,
                 self.model is not None and (self.model.filter.shown or bool(self.model.selected)))
        if state != self._binding_state:
            self._binding_state = state
            self.refresh_bindings()
            for bar in self.query(KeyBar):  # none while the screen recomposes: the new one is made current
                bar.show(self._key_line())

    def _key_line(self) -> KeyParts:
        return key_line([*BOARD, *APP], self.context.keymap, self.app.get_key_display,
                        lambda b: self.check_action(b.action.split("(")[0], ()))

    async def reload(self) -> None:
        """Read the board again from the cache (new columns are laid out anew)."""
        try:
            model = self.context.read_board(self.model.filter if self.model else None)
        except TasklyError as exc:
            if self.model is None and not self.choose_board():
                self.placeholder = exc.message
                await self.recompose()
            return
        relayout = self.model is None or [(c.id, c.name) for c in self.model.columns] != \
            [(c.id, c.name) for c in model.columns]
        keep = self.current_card
        if self.model is not None:  # the selection stays (cards gone since drop out)
            model.selected = {card_id for card_id in self.model.selected if model.locate(card_id)}
        self.model = model
        if relayout:
            await self.recompose()
            self._refresh_bindings()
        self._refresh(str(keep.id) if keep and relayout and model.locate(str(keep.id)) else None)

    # --- what is active ---------------------------------------------------------------------------

    @property
    def card_lists(self) -> list[CardList]:
        return [column.card_list for column in self.columns.values()]

    @property
    def current_card(self) -> CardView | None:
        return self.active.current if self.active else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            return self.model is not None and (self.model.filter.shown or bool(self.model.selected))
        if action in ("focus_column", "new_card", "filter", "cursor", "cursor_to", "page", "toggle_density",
                      "pick_sprint", "burndown"):
            return self.model is not None
        if action in ("move_card", "done", "delete_card", "label_cards", "assign_cards"):
            return self.current_card is not None or bool(self.model and self.model.selected) or None
        if action in ("reorder_card", "edit_card", "open_card", "comment", "start_card", "toggle_select"):
            return self.current_card is not None or None  # None: shown greyed out
        return True

    @on(CardList.Highlighted)
    def _highlighted(self) -> None:
        self._refresh_bindings()

    @on(CardList.Clicked)
    def _clicked(self, message: CardList.Clicked) -> None:
        self.activate(message.card_list)

    # --- what widgets report (their actions are in BoardKeys) ----------------------------------------

    @on(CardList.Dropped)
    def _dropped(self, message: CardList.Dropped) -> None:
        if self.model is not None:
            self.move(self.model.plan_drop(message.card_id, message.column_id, message.index))

    @on(CardList.Opened)
    def _opened(self, message: CardList.Opened) -> None:
        self.post_message(CardOpenRequested(str(message.card.id)))

    def show_progress(self, text: str | None) -> None:
        """The line under the title that follows a long operation (`s`); None hides it."""
        bar = self.query_one("#progress-bar", Static)
        bar.update(printable(text or ""))
        bar.set_class(bool(text), "-active")

    # --- what the app reports -----------------------------------------------------------------------

    @on(WriteDone)
    def _write_done(self, message: WriteDone) -> None:
        entity = message.result.entity
        if isinstance(entity, list) and self.model is not None:  # a bulk write: its cards
            for card in entity:
                if card is not None:
                    self._take(str(card.id))
            self._refresh()
            return
        if self.model is None or entity is None or not hasattr(entity, "board_id"):
            return  # not a card (a comment)
        self._take(str(entity.id))
        self._refresh(str(entity.id) if message.focus else None)

    def _take(self, card_id: str) -> None:
        """The card as the cache has it now, in (or out of) the model."""
        assert self.model is not None
        card = self.context.card_view(card_id)
        if card is not None and card.board_id == self.model.board.id:
            self.model.upsert(card)
        else:
            self.model.remove(card_id)

    @on(WriteFailed)
    async def _write_failed(self) -> None:
        await self.reload()

    @on(CacheChanged)
    async def _cache_changed(self, message: CacheChanged) -> None:
        if message.full or self.model is None:
            await self.reload()
            return
        relayout = False
        for change in message.changes:
            if change.entity_type == "card":
                self._take(str(change.entity_id))
            elif change.entity_type in ("board", "column", "workspace", "sprint"):
                relayout = True
        if relayout:
            await self.reload()
        else:
            self._refresh()

    @on(NotificationsChanged)
    def _notifications_changed(self, message: NotificationsChanged) -> None:
        for indicator in self.query(UnreadIndicator):
            indicator.show(message.unread)

    @on(UnreadIndicator.Clicked)
    def _unread_clicked(self) -> None:
        self.post_message(InboxRequested())

    @on(SyncStateChanged)
    def _sync_state(self, message: SyncStateChanged) -> None:
        """The footer's state; the pending marks follow the outbox (a confirmed write loses its `⇡`).
        Through `_refresh`, so each column knows what it shows and repaints only when it changes."""
        try:
            self.query_one(SyncIndicator).show(message.state)
        except NoMatches:  # being laid out anew (`recompose`): the new footer reads the state itself
            return
        self._refresh(bindings=False)
