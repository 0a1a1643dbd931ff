"""The card form (`n` new, `e` edit): every field of a card, checked before it is written."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Select, SelectionList, Static, TextArea

from ... import resolve
from ...errors import TasklyError
from ..model import PRIORITIES, card_key, split_list
from .form import FormScreen

if TYPE_CHECKING:
    from taskly_shared.models import CardOut, MemberOut

    from ..model import BoardModel

RECURRENCES = ("none", "daily", "weekly", "monthly")
BLANK: dict[str, Any] = {"description": "", "labels": [], "priority": "none", "points": None, "due": None,
                         "remind_at": None, "recurrence": "none", "recurrence_interval": 1, "assignees": [],
                         "sprint_id": None}
"""A new card's fields before anyone sets them."""


def current_fields(card: CardOut) -> dict[str, Any]:
    """A card's editable fields as the form returns them."""
    return {
        "title": card.title, "column": str(card.column_id), "description": card.description,
        "labels": list(card.labels), "priority": card.priority.value, "points": card.points, "due": card.due,
        "remind_at": card.remind_at, "recurrence": card.recurrence.value,
        "recurrence_interval": card.recurrence_interval, "assignees": list(card.assignees),
        "sprint_id": str(card.sprint_id) if card.sprint_id else None,
    }


def changed_fields(card: CardOut, values: dict[str, Any]) -> dict[str, Any]:
    """Only what the form changed (a PATCH names only those: others' edits to other fields stay)."""
    current = current_fields(card)
    return {name: value for name, value in values.items() if name in current and value != current[name]}


def parse_remind_at(text: str) -> datetime | None:
    """`YYYY-MM-DD HH:MM` in local time (or ISO with an offset); empty clears."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise TasklyError(f"remind at {text!r}: use YYYY-MM-DD HH:MM") from None
    return moment if moment.tzinfo else moment.astimezone()


class CardForm(FormScreen[dict[str, Any] | None]):
    """New card (`card` None) or edit; dismisses with the fields, or None when cancelled."""


    def __init__(self, model: BoardModel, card: CardOut | None, column_id: str, members: list[MemberOut],
                 sprints: list[dict[str, Any]]) -> None:
        super().__init__(classes="form-screen")
        self.model = model
        self.card = card
        self.column_id = column_id
        self.members = members
        self.sprints = sprints

    def compose(self) -> ComposeResult:
        card = self.card
        values = current_fields(card) if card else {"column": self.column_id, "priority": "none",
                                                    "recurrence": "none", "recurrence_interval": 1}
        with Vertical(id="form", classes="dialog"):
            yield Static(f"Edit {card_key(card)}" if card else f"New card on {self.model.board.key}",
                         classes="dialog-title", markup=False)
            with VerticalScroll(id="form-fields"):
                yield Label("Title")
                yield Input(values.get("title", ""), id="title", placeholder="What needs doing")
                with Horizontal(classes="form-row"):
                    with Vertical():
                        yield Label("Column")
                        yield Select([(c.name, str(c.id)) for c in self.model.columns], value=values["column"],
                                     allow_blank=False, id="column")
                    with Vertical():
                        yield Label("Priority")
                        yield Select([(p, p) for p in reversed(PRIORITIES)], value=values["priority"],
                                     allow_blank=False, id="priority")
                    with Vertical():
                        yield Label("Points")
                        yield Input(_text(values.get("points")), id="points", type="integer",
                                    placeholder="0-99")
                with Horizontal(classes="form-row"):
                    with Vertical():
                        yield Label("Due")
                        yield Input(_text(values.get("due")), id="due", placeholder="YYYY-MM-DD, +3d, +2w")
                    with Vertical():
                        yield Label("Remind at")
                        remind = values.get("remind_at")
                        yield Input(remind.astimezone().strftime("%Y-%m-%d %H:%M") if remind else "",
                                    id="remind_at", placeholder="YYYY-MM-DD HH:MM")
                    with Vertical():
                        yield Label("Sprint")
                        yield Select([(str(s.get("name")), str(s["id"])) for s in self.sprints],
                                     value=values.get("sprint_id") or Select.NULL, id="sprint_id",
                                     prompt="no sprint")
                with Horizontal(classes="form-row"):
                    with Vertical():
                        yield Label("Repeats")
                        yield Select([(r, r) for r in RECURRENCES], value=values["recurrence"],
                                     allow_blank=False, id="recurrence")
                    with Vertical():
                        yield Label("Every (days/weeks/months)")
                        yield Input(_text(values.get("recurrence_interval")), id="recurrence_interval",
                                    type="integer")
                    with Vertical():
                        yield Label("Labels")
                        yield Input(", ".join(values.get("labels", [])), id="labels",
                                    placeholder="bug, backend")
                yield Label("Assignees")
                assigned = set(values.get("assignees", []))
                yield SelectionList[str](*[(m.username, m.username, m.username in assigned)
                                           for m in self.members], id="assignees")
                yield Label("Description (markdown)")
                yield TextArea(values.get("description", ""), id="description", language=None,
                               soft_wrap=True, show_line_numbers=False)
            yield Static("", id="form-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (ctrl+s)", variant="primary", id="save")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#title", Input).focus()

    def values(self) -> dict[str, Any]:
        """The form's fields, parsed and checked (TasklyError says what is wrong)."""
        text = {name: self.query_one(f"#{name}", Input).value.strip()
                for name in ("title", "points", "due", "remind_at", "recurrence_interval", "labels")}
        sprint = self.query_one("#sprint_id", Select).value
        values: dict[str, Any] = {
            "title": text["title"],
            "column": self.query_one("#column", Select).value,
            "description": self.query_one("#description", TextArea).text,
            "labels": list(split_list(text["labels"].replace("#", ""))),
            "priority": self.query_one("#priority", Select).value,
            "points": int(text["points"]) if text["points"] else None,
            "due": resolve.due_date(text["due"], self.app.clock.today()) if text["due"] else None,
            "remind_at": parse_remind_at(text["remind_at"]),
            "recurrence": self.query_one("#recurrence", Select).value,
            "recurrence_interval": int(text["recurrence_interval"] or 1),
            "assignees": list(self.query_one("#assignees", SelectionList).selected),
            "sprint_id": sprint if isinstance(sprint, str) else None,
        }
        if not values["title"]:
            raise TasklyError("the title is empty")
        resolve.card_fields({k: v for k, v in values.items() if k != "column"})
        return values

    def action_save(self) -> None:
        try:
            values = self.values()
        except (TasklyError, ValueError) as exc:
            self.show_error(getattr(exc, "message", str(exc)))
            return
        if self.card is None:  # a new card: only what differs from a blank card
            values = {k: v for k, v in values.items() if k in ("title", "column") or v != BLANK.get(k)}
        self.dismiss(values)


def _text(value: Any) -> str:
    return "" if value is None else str(value)
