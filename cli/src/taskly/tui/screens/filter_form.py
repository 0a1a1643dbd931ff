"""Search, filter and sort (`/`): text (with the filter grammar of `taskly ls --where`), labels,
assignees, only mine, priorities, and the order of the columns (by rank unless a sort is chosen)."""

from __future__ import annotations

from dataclasses import replace

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Label, Select, SelectionList, Static

from ...cards import filters
from ...core.errors import UsageError
from ..model import PRIORITIES, SORT_NAMES, CardFilter, split_list
from .form import FormScreen


class FilterForm(FormScreen[CardFilter | None]):
    """Dismisses with the new filter (empty to clear), or None when cancelled."""


    def __init__(self, current: CardFilter, labels: list[str], usernames: list[str]) -> None:
        super().__init__(classes="form-screen")
        self.current = current
        self.known_labels = labels
        self.usernames = usernames

    def compose(self) -> ComposeResult:
        current = self.current
        with Vertical(id="filter-form", classes="dialog"):
            yield Static("Search and filter", classes="dialog-title")
            yield Label("Text (every word, in key, title, description, labels) and terms: overdue, unassigned, "
                        "no-done, due-before:DATE, due-after:DATE, updated-since:DATE, column:NAME, sort:-due")
            text = " ".join(part for part in (current.text, current.terms.describe()) if part)
            yield Input(text, id="filter-text", placeholder="login overdue due-before:+7d")
            yield Label("Labels (all of them)")
            yield Input(", ".join(current.labels), id="filter-labels",
                        placeholder=", ".join(self.known_labels[:6]) or "bug, backend")
            yield Label("Assignees (any of them)")
            yield Input(", ".join(current.assignees), id="filter-assignees",
                        placeholder=", ".join(self.usernames[:4]) or "maya, lee")
            yield Checkbox("Only mine", current.mine, id="filter-mine")
            yield Label("Priorities (any of them)")
            yield SelectionList[str](*[(p, p, p in current.priorities) for p in PRIORITIES],
                                     id="filter-priorities")
            yield Label("Order of each column")
            with Horizontal(classes="form-row"):
                yield Select([(f"by {name}", key) for key, name in SORT_NAMES.items()], value=current.sort or Select.NULL,
                             prompt="by rank (the board's order)", id="filter-sort")
                yield Checkbox("Descending", current.desc, id="filter-desc")
            yield Static("", id="form-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply (enter)", variant="primary", id="save")
                yield Button("Clear", id="clear")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#filter-text", Input).focus()

    def chosen(self) -> CardFilter:
        """The fields of this form; the sprint picked with `S` stays (esc or Clear drops it too).
        Terms in the text (`label:bug`, `@lee`, `priority:high`) join their fields; `sort:` in the
        text wins over the sort chosen below. A bad term raises UsageError."""
        where = filters.parse(self.query_one("#filter-text", Input).value, flag="filter")
        sort = self.query_one("#filter-sort", Select).value
        sort = None if sort is Select.NULL else str(sort)
        desc = self.query_one("#filter-desc", Checkbox).value
        if where.sort is not None:
            sort, desc = where.sort, where.desc
        terms = replace(where, text="", labels=(), assignees=(), priorities=(), sort=None, desc=False,
                        limit=None)
        return replace(
            self.current,
            text=where.text.strip(),
            labels=tuple(dict.fromkeys((*split_list(self.query_one("#filter-labels", Input).value.replace("#", "")),
                                        *where.labels))),
            assignees=tuple(dict.fromkeys((*split_list(self.query_one("#filter-assignees", Input).value),
                                           *where.assignees))),
            mine=self.query_one("#filter-mine", Checkbox).value or where.mine,
            priorities=tuple(dict.fromkeys((*self.query_one("#filter-priorities", SelectionList).selected,
                                            *where.priorities))),
            terms=replace(terms, mine=False), sort=sort, desc=desc,
        )

    def action_save(self) -> None:
        try:
            chosen = self.chosen()
        except UsageError as exc:
            self.show_error(exc.message)
            return
        self.dismiss(chosen)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#clear")
    def _clear_pressed(self) -> None:
        self.dismiss(CardFilter())

