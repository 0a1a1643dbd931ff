"""The card form (`n` new, `e` edit): every field of a card, checked before it is written."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Input, Label, Select, SelectionList, Static, TextArea

from ...cards import resolve as card_resolve
from ...core import recurrence
from ...core.errors import TasklyError, UsageError
from ...core.output import printable
from ...core.when import parse_when
from ..model import PRIORITIES, card_key, split_list
from .form import FormScreen

if TYPE_CHECKING:
    from taskly_shared.models import CardOut, MemberOut

    from ..model import BoardModel, Clock

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


REMIND_FORMAT = "%Y-%m-%d %H:%M"
"""How the form shows a card's reminder, in the user's time zone (typing it back keeps it)."""


def remind_text(remind_at: datetime | None, zone: tzinfo) -> str:
    return remind_at.astimezone(zone).strftime(REMIND_FORMAT) if remind_at else ""


def parse_remind(text: str, shown: str, current: datetime | None, now: datetime, zone: tzinfo) -> datetime | None:
    """The Remind field as `--remind` reads it (`core.when`: ISO, `tomorrow 9:00`, `+2h`, `fri 14:00`
    in the user's zone; empty or `none` clears). Left as shown, the card's own moment stays (to the
    second: a minute-rounded copy would re-arm a reminder that has not changed)."""
    if text.strip() == shown.strip():
        return current
    return parse_when(text, now, zone, flag="Remind at")


def parse_recurrence(rule_value: object, every_text: str, current_interval: int) -> tuple[str, int]:
    """Repeats and Every as `--repeat` and `--every` read them; without a rule, the interval the
    card had stays, and a changed one is refused (as `--every` goes only with `--repeat`)."""
    rule_name = recurrence.rule(str(rule_value))
    if rule_name == "none":
        if every_text.strip() not in ("", str(current_interval)):
            raise UsageError("Every goes with Repeats daily, weekly or monthly")
        return rule_name, current_interval
    return rule_name, recurrence.interval(every_text or "1", flag="Every")


class CardForm(FormScreen[dict[str, Any] | None]):
    """New card (`card` None) or edit; dismisses with the fields, or None when cancelled."""

    def __init__(self, model: BoardModel, card: CardOut | None, column_id: str, members: list[MemberOut],
                 sprints: list[dict[str, Any]], *, clock: Clock, zone: tzinfo) -> None:
        super().__init__(classes="form-screen")
        self.clock = clock
        """What "today" and "now" are for relative dates (`+3d`, `+2h`)."""
        self.zone = zone
        """The user's time zone: reminders are typed and shown in it."""
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
            yield Static(f"Edit {card_key(card, self.model.board.key)}" if card else f"New card on {self.model.board.key}",
                         classes="dialog-title", markup=False)
            with VerticalScroll(id="form-fields"):
                yield Label("Title")
                yield Input(values.get("title", ""), id="title", placeholder="What needs doing")
                with Horizontal(classes="form-row"):
                    with Vertical():
                        yield Label("Column")
                        yield Select([(_plain(c.name), str(c.id)) for c in self.model.columns], value=values["column"],
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
                        yield Input(remind_text(values.get("remind_at"), self.zone), id="remind_at",
                                    placeholder="tomorrow 9:00, +2h")
                    with Vertical():
                        yield Label("Sprint")
                        sprint_options = [(_plain(s.get("name")), str(s["id"])) for s in self.sprints]
                        if values.get("sprint_id") and values["sprint_id"] not in [i for _, i in sprint_options]:
                            sprint_options.append((_plain("(a deleted sprint)"), values["sprint_id"]))
                        yield Select(sprint_options,
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
                                    placeholder="1-365")
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
        current = current_fields(self.card) if self.card else BLANK
        rule_name, interval = parse_recurrence(self.query_one("#recurrence", Select).value,
                                               text["recurrence_interval"], current["recurrence_interval"])
        values: dict[str, Any] = {
            "title": text["title"],
            "column": self.query_one("#column", Select).value,
            "description": self.query_one("#description", TextArea).text,
            "labels": list(split_list(text["labels"].replace("#", ""))),
            "priority": self.query_one("#priority", Select).value,
            "points": int(text["points"]) if text["points"] else None,
            "due": card_resolve.due_date(text["due"], self.clock.today()) if text["due"] else None,
            "remind_at": parse_remind(text["remind_at"], remind_text(current["remind_at"], self.zone),
                                      current["remind_at"], self.clock.now(), self.zone),
            "recurrence": rule_name,
            "recurrence_interval": interval,
            "assignees": list(self.query_one("#assignees", SelectionList).selected),
            "sprint_id": sprint if isinstance(sprint, str) else None,
        }
        if not values["title"]:
            raise TasklyError("the title is empty")
        card_resolve.card_fields({k: v for k, v in values.items() if k != "column"})
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


def _plain(name: object) -> Content:
    """A stored name as an option's prompt: plain text (options read strings as markup)."""
    return Content(printable(name))
