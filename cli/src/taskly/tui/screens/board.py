"""The board: one column per board column, keyboard first, changed at once and written in workers.

A key press changes the `BoardModel` and repaints; the write goes to the app (`app.write`), which
runs it in a worker through the sync engine. When the write returns (`WriteDone`) or changes
arrive (`CacheChanged`), the model is corrected from the cache. The screen keeps the keyboard
focus and one column is `active` (Textual repaints the whole screen on a focus change).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, HorizontalScroll
from textual.screen import Screen
from textual.widgets import Static

from ...errors import TasklyError
from ..bindings import APP, BOARD, CARD_LIST
from ..messages import CacheChanged, SyncStateChanged, WriteDone, WriteFailed
from ..model import BoardModel, CardFilter, MovePlan, card_key
from ..reads import read_card
from ..widgets.card_list import CardList
from ..widgets.column import BoardColumn
from ..widgets.key_bar import KeyBar, key_line
from ..widgets.sync_indicator import SyncIndicator, indicator_text

if TYPE_CHECKING:
    from ..app import TasklyApp
    from ..views import CardView


class BoardScreen(Screen[None]):
    """The kanban board of one Taskly board."""

    BINDINGS = [*BOARD, *CARD_LIST]
    AUTO_FOCUS = None
    app: TasklyApp

    def __init__(self, model: BoardModel | None, placeholder: str = "Loading the board…") -> None:
        super().__init__(id="board-screen")
        self.model = model
        self.placeholder = placeholder
        self.columns: dict[str, BoardColumn] = {}
        self._filter_text = ""
        self._binding_state: tuple[bool, bool, bool] | None = None
        self.active: CardList | None = None
        """The column the keys act on."""

    # --- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Everything filled in before it mounts: the first frame is the board (no repaint after)."""
        yield Static(self._title(), id="board-title", markup=False)
        self._filter_text = self._filter_line()
        yield Static(self._filter_text, id="filter-bar", markup=False,
                     classes="-active" if self._filter_text else "")
        yield Static("", id="progress-bar", markup=False)
        self.columns, self.active = {}, None
        self._binding_state = None
        if self.model is None:
            yield Static(self.placeholder, id="placeholder", markup=False)
        else:
            with HorizontalScroll(id="columns", can_focus=False):
                for column in self.model.columns:
                    widget = BoardColumn(column, clock=self.app.clock)
                    self.columns[str(column.id)] = widget
                    yield widget
            self._refresh(bindings=False)
            lists = self.card_lists
            first = next((card_list for card_list in lists if card_list.cards), lists[0] if lists else None)
            if first is not None:
                self.active = first
                self._column_of(first).set_active(True)
        with Horizontal(id="footer-bar"):
            yield KeyBar(self._key_line(), id="key-bar")
            yield SyncIndicator(indicator_text(self.app.sync_state), id="sync-indicator")

    def _filter_line(self) -> str:
        if self.model is None or not self.model.filter.active:
            return ""
        return f"Filter: {self.model.filter.describe()}    (esc clears, / changes)"

    def _title(self) -> str:
        if self.model is None:
            return "Taskly"
        board = self.model.board
        workspace = self.app.workspace_name(str(board.workspace_id))
        return f"{board.key} · {board.name}" + (f"  —  {workspace}" if workspace else "")

    def on_mount(self) -> None:
        self.query_one(SyncIndicator).show(self.app.sync_state)

    def activate(self, card_list: CardList) -> None:
        """Make a column the active one (its cursor shows and the keys act on it)."""
        if card_list is self.active:
            return
        if self.active is not None:
            self._column_of(self.active).set_active(False)
        self.active = card_list
        self._column_of(card_list).set_active(True)
        if self.is_mounted:
            self._refresh_bindings()

    def _column_of(self, card_list: CardList) -> BoardColumn:
        return self.columns[card_list.column_id]

    def _refresh(self, focus: str | None = None, *, bindings: bool = True) -> None:
        """Repaint every column from the model; `focus` puts the cursor (and focus) on that card."""
        if self.model is None:
            return
        model, pending = self.model, self.app.pending_card_ids()
        for column in model.columns:
            widget = self.columns.get(str(column.id))
            if widget is not None:
                widget.show(column, len(model.cards(str(column.id))), model.visible(str(column.id)),
                            pending, model.filter.active, focus)
        if focus is not None:
            found = model.locate(focus)
            widget = self.columns.get(found[0]) if found else None
            if widget is not None:
                widget.card_list.select(focus)
                self.activate(widget.card_list)
        text = self._filter_line()
        if text != self._filter_text:
            self._filter_text = text
            bar = self.query_one("#filter-bar", Static)
            bar.update(text, layout=False)
            bar.set_class(model.filter.active, "-active")
        if bindings:
            self._refresh_bindings()

    def _refresh_bindings(self) -> None:
        """Refresh the footer only when what can be done changes (it rebuilds its keys: ~10 ms)."""
        state = (self.model is not None, self.current_card is not None,
                 self.model is not None and self.model.filter.active)
        if state != self._binding_state:
            self._binding_state = state
            self.refresh_bindings()
            self.query_one(KeyBar).show(self._key_line())

    def _key_line(self) -> str:
        app = self.app
        return key_line([*BOARD, *APP], app.keymap, app.get_key_display,
                        lambda b: self.check_action(b.action.split("(")[0], ()))

    async def reload(self) -> None:
        """Read the board again from the cache (new columns are laid out anew)."""
        try:
            model = self.app.read_board(self.model.filter if self.model else None)
        except TasklyError as exc:
            if self.model is None:
                self.placeholder = exc.message
                await self.recompose()
            return
        relayout = self.model is None or [(c.id, c.name) for c in self.model.columns] != \
            [(c.id, c.name) for c in model.columns]
        keep = self.current_card
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
            return self.model is not None and self.model.filter.active
        if action in ("focus_column", "new_card", "filter", "cursor", "cursor_to", "page"):
            return self.model is not None
        if action in ("move_card", "reorder_card", "edit_card", "open_card", "comment", "done", "delete_card",
                      "start_card"):
            return self.current_card is not None or None  # None: shown greyed out
        return True

    @on(CardList.Highlighted)
    def _highlighted(self) -> None:
        self._refresh_bindings()

    @on(CardList.Clicked)
    def _clicked(self, message: CardList.Clicked) -> None:
        self.activate(message.card_list)

    # --- navigation -------------------------------------------------------------------------------

    def action_focus_column(self, step: int) -> None:
        lists = self.card_lists
        if not lists:
            return
        current = self.active
        index = lists.index(current) if current in lists else 0
        target = lists[max(0, min(len(lists) - 1, index + step))]
        if current is not None and target is not current:
            target.cursor = current.cursor
        self.activate(target)

    def action_cursor(self, step: int) -> None:
        if self.active is not None:
            self.active.cursor += step

    def action_cursor_to(self, index: int) -> None:
        if self.active is not None:
            self.active.cursor = index if index >= 0 else len(self.active.cards) - 1

    def action_page(self, direction: int) -> None:
        if self.active is not None:
            self.active.page(direction)

    # --- moves ------------------------------------------------------------------------------------

    def action_move_card(self, step: int) -> None:
        card = self.current_card
        if card is not None and self.model is not None:
            self.move(self.model.plan_column_step(str(card.id), step))

    def action_reorder_card(self, step: int) -> None:
        card = self.current_card
        if card is not None and self.model is not None:
            self.move(self.model.plan_reorder(str(card.id), step))

    def action_done(self) -> None:
        card = self.current_card
        if card is None or self.model is None:
            return
        plan = self.model.plan_done(str(card.id))
        if plan is None:
            done = any(c.kind == "done" for c in self.model.columns)
            self.notify(f"{card_key(card)} is already done" if done else "this board has no done column",
                        severity="warning")
            return
        self.move(plan, f"done {card_key(card)}")

    @on(CardList.Dropped)
    def _dropped(self, message: CardList.Dropped) -> None:
        if self.model is not None:
            self.move(self.model.plan_drop(message.card_id, message.column_id, message.index))

    def move(self, plan: MovePlan | None, description: str | None = None) -> None:
        """Move at once on screen, then write it through the engine in a worker."""
        if plan is None or self.model is None:
            self.app.bell()
            return
        card = self.model.card(plan.card_id)
        column = self.model.column(plan.column_id)
        self.model.apply(plan)
        self._refresh(plan.card_id)
        label = description or f"move {card_key(card) if card else ''} to {column.name if column else '?'}"
        self.app.write(label, lambda engine: engine.move_card(
            plan.card_id, plan.column_id, before=plan.before, after=plan.after, position=plan.position))

    # --- forms ------------------------------------------------------------------------------------

    def action_new_card(self) -> None:
        from .card_form import CardForm

        if self.model is None:
            return
        column_id = self.active.column_id if self.active else self.model.column_ids()[0]
        self.app.push_screen(CardForm(self.model, None, column_id, self.app.members(), self.app.sprints()),
                             self._created)

    def _created(self, values: dict[str, Any] | None) -> None:
        if not values or self.model is None:
            return
        board, column = self.model.board, values.pop("column")
        title = values.pop("title")
        self.app.write(f"create {title!r}", lambda engine: engine.create_card(
            str(board.id), title, column=column, workspace_id=str(board.workspace_id), **values),
            focus=True)

    def action_edit_card(self) -> None:
        card = self.current_card
        if card is not None:
            self.app.edit_card(card)

    def action_open_card(self) -> None:
        card = self.current_card
        if card is not None:
            self.app.open_card(str(card.id))

    @on(CardList.Opened)
    def _opened(self, message: CardList.Opened) -> None:
        self.app.open_card(str(message.card.id))

    def action_comment(self) -> None:
        card = self.current_card
        if card is not None:
            self.app.comment_on(card)

    def action_start_card(self) -> None:
        card = self.current_card
        if card is not None:
            self.app.start_card(card)

    def show_progress(self, text: str | None) -> None:
        """The line under the title that follows a long operation (`s`); None hides it."""
        bar = self.query_one("#progress-bar", Static)
        bar.update(text or "")
        bar.set_class(bool(text), "-active")

    def action_delete_card(self) -> None:
        from .confirm import Confirm

        card = self.current_card
        if card is None:
            return

        def answered(yes: bool | None) -> None:
            if yes and self.model is not None:
                self.model.remove(str(card.id))
                self._refresh()
                self.app.write(f"delete {card_key(card)}", lambda engine: engine.delete_card(str(card.id)))

        self.app.push_screen(Confirm(f"Delete {card_key(card)} “{card.title}”?",
                                     "It can be restored with `taskly restore`."), answered)

    # --- filter -----------------------------------------------------------------------------------

    def action_filter(self) -> None:
        from .filter_form import FilterForm

        if self.model is not None:
            self.app.push_screen(FilterForm(self.model.filter, self.model.labels(),
                                            [m.username for m in self.app.members()]), self.set_filter)

    def set_filter(self, card_filter: CardFilter | None) -> None:
        if card_filter is None or self.model is None:
            return
        self.model = self.model.with_filter(card_filter)
        self._refresh()

    def action_clear_filter(self) -> None:
        self.set_filter(CardFilter())

    # --- what the app reports -----------------------------------------------------------------------

    @on(WriteDone)
    def _write_done(self, message: WriteDone) -> None:
        entity = message.result.entity
        if self.model is None or entity is None or not hasattr(entity, "board_id"):
            return  # not a card (a comment)
        self._take(str(entity.id))
        self._refresh(str(entity.id) if message.focus else None)

    def _take(self, card_id: str) -> None:
        """The card as the cache has it now, in (or out of) the model."""
        assert self.model is not None
        card = read_card(self.app.factory, card_id)
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
            elif change.entity_type in ("board", "column", "workspace"):
                relayout = True
        if relayout:
            await self.reload()
        else:
            self._refresh()

    @on(SyncStateChanged)
    def _sync_state(self, message: SyncStateChanged) -> None:
        self.query_one(SyncIndicator).show(message.state)
        if self.model is not None:
            pending = self.app.pending_card_ids()
            for widget in self.card_lists:
                if widget.pending != pending:
                    widget.set_cards(widget.cards, pending)
