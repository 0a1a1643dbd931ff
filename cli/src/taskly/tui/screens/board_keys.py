"""What the board's keys do: focus and cursor, moves, forms, delete, filter (`BoardKeys`).

`BoardScreen` (board.py) lays the board out and repaints it; this mixin holds its `action_*`
methods, which change the `BoardModel` at once and ask the app for the write (`WriteRequested`).
It relies on what the screen provides (`model`, `context`, `active`, `card_lists`, `current_card`,
`activate`, `_refresh`); Textual message handlers (`@on`) stay on the screen, where Textual finds
them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..messages import (
    BellRequested,
    BurndownRequested,
    CardEditRequested,
    CardOpenRequested,
    CommentRequested,
    InboxRequested,
    StartRequested,
    WriteRequested,
)
from ..model import CardFilter, MovePlan, card_key, sprint_text

if TYPE_CHECKING:
    from textual.app import App
    from textual.message import Message

    from ..context import BoardContext
    from ..model import BoardModel
    from ..views import CardView
    from ..widgets.card_list import CardList


class BoardKeys:
    """The board screen's key actions (mixed into `BoardScreen`)."""

    if TYPE_CHECKING:  # provided by BoardScreen
        model: BoardModel | None
        context: BoardContext
        active: CardList | None
        app: App[Any]

        @property
        def card_lists(self) -> list[CardList]: ...
        @property
        def current_card(self) -> CardView | None: ...
        def activate(self, card_list: CardList) -> None: ...
        def shown_sprint(self) -> dict[str, Any] | None: ...
        def _refresh(self, focus: str | None = None, *, bindings: bool = True) -> None: ...
        async def reload(self) -> None: ...
        def post_message(self, message: Message) -> bool: ...
        def notify(self, message: str, *, title: str = "", severity: Any = "information",
                   timeout: float | None = None, markup: bool = True) -> None: ...

    def key_of(self, card: CardView) -> str:
        """A card's key as the board shows it (`WEB-?3f2a9c1b` for one made offline)."""
        return card_key(card, self.model.board.key if self.model else None)

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

    def show_card(self, card_id: str) -> bool:
        """Put the cursor on a card of this board (the filter is cleared when it hides the card);
        False when the board does not have it."""
        if self.model is None or self.model.locate(card_id) is None:
            return False
        column_id = self.model.locate(card_id)[0]
        if card_id not in {card.id for card in self.model.visible(column_id)}:
            self.model = self.model.with_filter(CardFilter())
        self._refresh(card_id)
        return True

    async def go_to_board(self, board_id: str) -> None:
        """Show another board (going to a card from the inbox), unfiltered."""
        self.context.open_board(board_id)
        if self.model is not None:
            self.model = self.model.with_filter(CardFilter())
        await self.reload()

    # --- the inbox --------------------------------------------------------------------------------

    def action_inbox(self) -> None:
        self.post_message(InboxRequested())

    # --- moves ------------------------------------------------------------------------------------

    def action_move_card(self, step: int) -> None:
        if self.model is not None and self.model.selection():
            planned = self.model.plan_bulk_step(step)
            self.bulk_move(planned, f"move {self._count(len(planned))} {'←' if step < 0 else '→'}")
            return
        card = self.current_card
        if card is not None and self.model is not None:
            self.move(self.model.plan_column_step(str(card.id), step))

    def action_reorder_card(self, step: int) -> None:
        card = self.current_card
        if card is not None and self.model is not None:
            if self.model.filter.sort is not None:
                self.notify(f"Columns are {self.model.filter.sort_text()}: J/K reorder by rank (/ to sort by rank)",
                            severity="warning")
                return
            self.move(self.model.plan_reorder(str(card.id), step))

    def action_done(self) -> None:
        if self.model is not None and self.model.selection():
            done = next((c.id for c in self.model.columns if c.kind == "done"), None)
            if done is None:
                self.notify("this board has no done column", severity="warning")
                return
            cards = self.model.selection()
            self.bulk_move([(card, done) for card in cards], f"done {self._count(len(cards))}")
            return
        card = self.current_card
        if card is None or self.model is None:
            return
        plan = self.model.plan_done(str(card.id))
        if plan is None:
            done = any(c.kind == "done" for c in self.model.columns)
            self.notify(f"{self.key_of(card)} is already done" if done else "this board has no done column",
                        severity="warning")
            return
        self.move(plan, f"done {self.key_of(card)}")

    def move(self, plan: MovePlan | None, description: str | None = None) -> None:
        """Move at once on screen, then write it through the engine in a worker."""
        if plan is None or self.model is None:
            self.post_message(BellRequested())
            return
        card = self.model.card(plan.card_id)
        column = self.model.column(plan.column_id)
        self.model.apply(plan)
        self._refresh(plan.card_id)
        label = description or f"move {self.key_of(card) if card else ''} to {column.name if column else '?'}"
        self.post_message(WriteRequested(label, lambda engine: engine.move_card(
            plan.card_id, plan.column_id, before=plan.before, after=plan.after, position=plan.position)))

    # --- forms ------------------------------------------------------------------------------------

    def action_new_card(self) -> None:
        from .card_form import CardForm

        if self.model is None:
            return
        column_id = self.active.column_id if self.active else self.model.column_ids()[0]
        form = CardForm(self.model, None, column_id, self.context.members(), self.context.sprints(),
                        clock=self.context.clock, zone=self.context.user_zone())
        self.app.push_screen(form, self._created)

    def _created(self, values: dict[str, Any] | None) -> None:
        if not values or self.model is None:
            return
        board, column = self.model.board, values.pop("column")
        title = values.pop("title")
        self.post_message(WriteRequested(f"create {title!r}", lambda engine: engine.create_card(
            str(board.id), title, column=column, workspace_id=str(board.workspace_id), **values),
            focus=True))

    def action_edit_card(self) -> None:
        card = self.current_card
        if card is not None:
            self.post_message(CardEditRequested(card))

    def action_open_card(self) -> None:
        card = self.current_card
        if card is not None:
            self.post_message(CardOpenRequested(str(card.id)))

    def action_comment(self) -> None:
        card = self.current_card
        if card is not None:
            self.post_message(CommentRequested(card))

    def action_start_card(self) -> None:
        card = self.current_card
        if card is not None:
            self.post_message(StartRequested(card))

    def action_delete_card(self) -> None:
        from .confirm import Confirm

        if self.model is not None and self.model.selection():
            self._delete_selection()
            return
        card = self.current_card
        if card is None:
            return
        key = self.key_of(card)

        def answered(yes: bool | None) -> None:
            if yes and self.model is not None:
                self.model.remove(str(card.id))
                self._refresh()
                self.post_message(WriteRequested(f"delete {key}", lambda engine: engine.delete_card(str(card.id))))

        self.app.push_screen(Confirm(f"Delete {key} “{card.title}”?", "It can be restored with `taskly restore`."),
                             answered)

    # --- the selection (`space`) and what acts on all of it in one bulk write -----------------------

    def action_toggle_select(self) -> None:
        card = self.current_card
        if card is None or self.model is None:
            return
        self.model.toggle(str(card.id))
        self._refresh()

    def _count(self, count: int) -> str:
        return f"{count} card{'s' * (count != 1)}"

    def _targets(self) -> list[CardView]:
        """What the bulk keys act on: the selection, else the focused card."""
        if self.model is None:
            return []
        selected = self.model.selection()
        if selected:
            return selected
        card = self.current_card
        return [card] if card is not None else []

    def bulk_write(self, description: str, planned: list[Any]) -> None:
        """The planned changes (`cards.bulk`, as `taskly edit CARD...` plans them) as one bulk write."""
        from ...cards import bulk

        if self.model is None:
            return
        if not planned:
            self.post_message(BellRequested())
            return
        workspace_id = str(self.model.board.workspace_id)
        self.post_message(WriteRequested(description, lambda engine: bulk.write(engine, planned, workspace_id)))

    def bulk_move(self, moves: list[tuple[CardView, str]], description: str) -> None:
        """Cards to the bottom of their target columns: at once on screen, then one bulk write."""
        from ...cards import bulk

        if self.model is None:
            return
        planned = [p for card, column_id in moves for p in bulk.plan([card], {"column": column_id})]
        for p in planned:
            self.model.apply(MovePlan(p.card_id, p.fields["column"], position="bottom"))
        self._refresh()
        self.bulk_write(description, planned)

    def _delete_selection(self) -> None:
        from ...cards import bulk
        from .confirm import Confirm

        assert self.model is not None
        cards = self.model.selection()
        keys = ", ".join(self.key_of(card) for card in cards[:8]) + (" …" if len(cards) > 8 else "")

        def answered(yes: bool | None) -> None:
            if yes and self.model is not None:
                planned = bulk.plan(cards, {"deleted": True})
                for card in cards:
                    self.model.remove(str(card.id))
                self.model.selected.clear()
                self._refresh()
                self.bulk_write(f"delete {self._count(len(cards))}", planned)

        self.app.push_screen(Confirm(f"Delete {self._count(len(cards))}?",
                                     f"{keys}\nThey can be restored with `taskly restore`."), answered)

    def action_label_cards(self) -> None:
        """`t`: labels for the selection (or the focused card): `bug` sets, `+bug` adds, `-bug` removes."""
        from ...cards import bulk
        from .bulk_form import NamesForm

        cards = self._targets()
        if not cards or self.model is None:
            return

        def typed(text: str | None) -> None:
            if not text:
                return
            change = bulk.LabelChange.parse(text.replace(",", " ").split())
            self.bulk_write(f"labels of {self._count(len(cards))}", bulk.plan(cards, {}, labels=change))

        known = ", ".join(self.model.labels()[:6])
        self.app.push_screen(NamesForm(f"Labels of {self._count(len(cards))}",
                                       "Names: bug sets the labels, +bug adds one, -bug removes one",
                                       f"+{known.split(', ')[0] if known else 'bug'}"), typed)

    def action_assign_cards(self) -> None:
        """`a`: assignees for the selection (or the focused card): `maya` sets, `+maya` adds, `-maya` removes."""
        from ...cards import bulk
        from .bulk_form import NamesForm

        cards = self._targets()
        if not cards or self.model is None:
            return
        members = {m.username.lower(): m.username for m in self.context.members()}
        if self.context.me:
            members.setdefault("me", self.context.me)

        def typed(text: str | None) -> None:
            if not text:
                return
            words = text.replace(",", " ").split()
            unknown = [w for w in words if w.lstrip("+-@").lower() not in members]
            if unknown:
                self.notify(f"not a member: {', '.join(unknown)}", severity="error")
                return
            named = [w[0] * (w[0] in "+-") + members[w.lstrip("+-@").lower()] for w in words]
            change = bulk.LabelChange.parse(named)
            self.bulk_write(f"assignees of {self._count(len(cards))}", bulk.plan(cards, {}, people=change))

        self.app.push_screen(NamesForm(f"Assignees of {self._count(len(cards))}",
                                       "Usernames: maya sets, +maya adds, -maya removes",
                                       "+" + (sorted(members.values())[0] if members else "maya")), typed)

    # --- filter -----------------------------------------------------------------------------------

    def action_filter(self) -> None:
        from .filter_form import FilterForm

        if self.model is not None:
            self.app.push_screen(FilterForm(self.model.filter, self.model.labels(),
                                            [m.username for m in self.context.members()]), self.set_filter)

    def set_filter(self, card_filter: CardFilter | None) -> None:
        if card_filter is None or self.model is None:
            return
        if card_filter.terms.sprint:  # `sprint:NAME` typed: as if picked with `S`
            from ...core import sprints

            wanted = card_filter.terms.sprint.lower()
            found = self.context.board_sprints
            sprint = (sprints.current(found, self.context.clock.today()) if wanted == "current" else
                      next((s for s in found if str(s["name"]).lower() == wanted), None))
            if sprint is None:
                self.notify(f"no sprint {card_filter.terms.sprint!r} on this board", severity="error")
                return
            card_filter = replace(card_filter, sprint_id=str(sprint["id"]), sprint_name=str(sprint["name"]),
                                  terms=replace(card_filter.terms, sprint=None))
        self.model = self.model.with_filter(card_filter)
        self._refresh()

    def action_clear_filter(self) -> None:
        """`esc`: the selection first, then the filter (and the sort)."""
        if self.model is not None and self.model.selected:
            self.model.selected.clear()
            self._refresh()
            return
        self.set_filter(CardFilter())

    # --- sprints ----------------------------------------------------------------------------------

    def action_pick_sprint(self) -> None:
        """`S`: filter the board by one of its open sprints (or by none), through the `/` filter."""
        from ...core import sprints
        from .sprint_picker import SprintPicker

        if self.model is None:
            return
        today = self.context.clock.today()
        cards = [{"sprint_id": c.sprint_id, "points": c.points, "column_kind": c.column_kind}
                 for c in self.model.all_cards() if c.sprint_id]
        choices = [sprints.with_stats(s, cards, today) for s in self.context.board_sprints if sprints.is_open(s)]
        names = {str(s["id"]): str(s["name"]) for s in choices}

        def picked(sprint_id: str | None) -> None:
            if sprint_id is None or self.model is None:
                return
            self.set_filter(replace(self.model.filter, sprint_id=sprint_id or None,
                                    sprint_name=names.get(sprint_id, "")))

        self.app.push_screen(SprintPicker(choices, self.model.filter.sprint_id, today), picked)

    def action_burndown(self) -> None:
        """`b`: the burndown of the sprint in the header (the one picked, else the active one)."""
        sprint = self.shown_sprint()
        if sprint is None:
            self.notify("This board has no active sprint: S picks one", severity="warning")
            return
        self.post_message(BurndownRequested(sprint, sprint_text(sprint, self.context.clock.today())))
