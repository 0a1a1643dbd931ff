"""Choosing and ordering cards from the cache: `taskly ls`/`search` flags, `--where` and the TUI's `/`.

The filter grammar (`--where`, the text of the TUI's `/`), words separated by spaces, quotes for
values with spaces; every term must hold (a repeated `label:` too), other words are text that must
appear in the key, title, description or labels:

    label:bug  column:todo  assignee:maya (@maya)  priority:high,urgent  sprint:NAME|current
    mine  overdue  unassigned  no-done  due-before:DATE  due-after:DATE  updated-since:DATE
    sort:key|priority|due|points|updated|created|title (sort:-due: descending)  limit:N

DATE: `YYYY-MM-DD`, today, tomorrow, yesterday, `+3d`, `-2w`, or a weekday (see `core.when`).
Sorting keeps board order (column, then rank) among equals; cards without the value come last.
Pure functions over a card's wire JSON, a CardOut or the TUI's CardView (no pydantic here).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime

from ..core.errors import UsageError

TYPE_CHECKING = False  # no `typing` import: `taskly ls`'s fast read filters with this module

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any, TypeVar

    from taskly_shared.models import CardOut

    C = TypeVar("C")

SORT_KEYS = ("key", "priority", "due", "points", "updated", "created", "title")
PRIORITY_ORDER = {"urgent": 0, "high": 1, "medium": 2, "low": 3, "none": 4}
"""`sort:priority` puts the most pressing first (`--desc`: the least)."""
FLAGS = {"mine": "mine", "overdue": "overdue", "unassigned": "unassigned", "no-done": "no_done"}
TERMS = ("label", "column", "assignee", "priority", "sprint", "due-before", "due-after",
         "updated-since", "sort", "limit")
ALIASES = {"labels": "label", "col": "column", "assignees": "assignee", "priorities": "priority",
           "order": "sort"}
GRAMMAR = ("label:NAME column:NAME assignee:USER priority:P[,P] sprint:NAME mine overdue unassigned "
           "no-done due-before:DATE due-after:DATE updated-since:DATE sort:[-]KEY limit:N")


def _field(card: Any, name: str) -> Any:
    if isinstance(card, dict):
        return card.get(name)
    return getattr(card, name, None)


def _text(value: Any) -> str:
    return str(getattr(value, "value", value)) if value is not None else ""


@dataclass(frozen=True)
class Where:
    """A parsed filter: what a card must have (all of it), and how the chosen cards are ordered."""

    text: str = ""
    labels: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    """Column names (any case) or ids: any of them."""
    assignees: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    sprint: str | None = None
    """A sprint's name, `current` or id as typed; the caller resolves it to `sprint_id`."""
    sprint_id: str | None = None
    mine: bool = False
    overdue: bool = False
    unassigned: bool = False
    no_done: bool = False
    due_before: date | None = None
    due_after: date | None = None
    updated_since: datetime | None = None
    sort: str | None = None
    desc: bool = False
    limit: int | None = None

    @property
    def active(self) -> bool:
        """Whether it leaves any card out (sorting and limits aside)."""
        return any(getattr(self, f.name) for f in fields(self) if f.name not in ("sort", "desc", "limit"))

    def merged(self, other: Where) -> Where:
        """This filter with `other`'s terms added (lists joined, flags or-ed, other's values win)."""
        values: dict[str, Any] = {}
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, tuple):
                values[f.name] = tuple(dict.fromkeys((*mine, *theirs)))
            elif f.name == "text":
                values[f.name] = " ".join(t for t in (mine, theirs) if t)
            elif isinstance(mine, bool):
                values[f.name] = mine or theirs
            else:
                values[f.name] = theirs if theirs is not None else mine
        return Where(**values)

    def describe(self) -> str:
        """The filter in its own grammar (what `/` shows and `--dry-run` names)."""
        words = [shlex.quote(w) for w in self.text.split()]
        words += [f"label:{shlex.quote(x)}" for x in self.labels]
        words += [f"column:{shlex.quote(x)}" for x in self.columns]
        words += [f"@{x}" for x in self.assignees]
        words += [f"priority:{','.join(self.priorities)}"] if self.priorities else []
        words += [f"sprint:{shlex.quote(self.sprint)}"] if self.sprint else []
        words += [word for word, name in FLAGS.items() if getattr(self, name)]
        words += [f"due-before:{self.due_before}"] if self.due_before else []
        words += [f"due-after:{self.due_after}"] if self.due_after else []
        words += [f"updated-since:{self.updated_since:%Y-%m-%d}"] if self.updated_since else []
        words += [f"sort:{'-' if self.desc else ''}{self.sort}"] if self.sort else []
        words += [f"limit:{self.limit}"] if self.limit is not None else []
        return " ".join(words)


def sort_key(text: str, flag: str = "--sort") -> str:
    value = text.strip().lower()
    if value not in SORT_KEYS:
        raise UsageError(f"{flag} {text!r}: sort by {', '.join(SORT_KEYS)}")
    return value


def parse(text: str, today: date | None = None, flag: str = "--where") -> Where:
    """The filter `text` says (see the module's grammar); a bad term is a UsageError naming it."""
    from ..core.when import parse_day

    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"{flag} {text!r}: {exc}") from None
    today = today or date.today()
    found: dict[str, Any] = {"labels": [], "columns": [], "assignees": [], "priorities": []}
    plain = []
    for word in words:
        lowered = word.lower()
        if lowered in FLAGS:
            found[FLAGS[lowered]] = True
            continue
        if word.startswith("@") and len(word) > 1:
            found["assignees"].append(word[1:])
            continue
        name, colon, value = word.partition(":")
        name = ALIASES.get(name.lower(), name.lower())
        if not colon or not name.replace("-", "").isalpha():
            plain.append(word)
            continue
        if name not in TERMS:
            import difflib

            close = difflib.get_close_matches(name, [*TERMS, *FLAGS], n=1, cutoff=0.75)
            if not close:  # `fix:` or a URL: words to search for
                plain.append(word)
                continue
            raise UsageError(f"{flag}: unknown term {word!r}, did you mean {close[0]}? (terms: {GRAMMAR})")
        if not value.strip():
            raise UsageError(f"{flag}: {name}: needs a value, e.g. {name}:{_EXAMPLES[name]}")
        value = value.strip()
        match name:
            case "label" | "column" | "assignee":
                found[f"{name}s"].append(value.lstrip("@#"))
            case "priority":
                for item in value.lower().split(","):
                    if item not in PRIORITY_ORDER:
                        raise UsageError(f"{flag}: unknown priority {item!r} (valid: {', '.join(PRIORITY_ORDER)})")
                    found["priorities"].append(item)
            case "sprint":
                found["sprint"] = value
            case "due-before" | "due-after":
                found[name.replace("-", "_")] = parse_day(value, today, f"{name}:")
            case "updated-since":
                found["updated_since"] = since(value, today, f"{name}:")
            case "sort":
                found["desc"] = value.startswith("-")
                found["sort"] = sort_key(value.lstrip("-+"), f"{flag} sort:")
            case "limit":
                found["limit"] = limit(value, f"{flag} limit:")
    for name in ("labels", "columns", "assignees", "priorities"):
        found[name] = tuple(dict.fromkeys(found[name]))
    return Where(text=" ".join(plain), **found)


_EXAMPLES = {"label": "bug", "column": "todo", "assignee": "maya", "priority": "high", "sprint": "current",
             "due-before": "+7d", "due-after": "today", "updated-since": "-3d", "sort": "due", "limit": "10"}


def limit(text: str | int, flag: str = "--limit") -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise UsageError(f"{flag} {text!r}: a number of cards, 1 or more")
    return value


def since(text: str, today: date | None = None, flag: str = "--updated-since") -> datetime:
    """The start (UTC midnight) of the day `text` names."""
    from ..core.when import parse_day

    return datetime.combine(parse_day(text, today or date.today(), flag), datetime.min.time(), tzinfo=UTC)


def _moment(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _day(value: Any) -> date | None:
    if value is None or value == "":
        return None
    return date.fromisoformat(value) if isinstance(value, str) else value


def _done(card: Any) -> bool:
    return _text(_field(card, "column_kind")) == "done"


def matches(card: Any, where: Where, *, me: str | None = None, today: date | None = None) -> bool:
    """Whether a card has everything `where` asks for (`me`: whose cards `mine` means)."""
    today = today or date.today()
    if where.text.strip():
        haystack = "\n".join([_field(card, "key") or "", _field(card, "title") or "",
                              _field(card, "description") or "", *(_field(card, "labels") or [])]).lower()
        if not all(word in haystack for word in where.text.lower().split()):
            return False
    if where.labels and not {x.lower() for x in where.labels} <= {x.lower() for x in _field(card, "labels") or []}:
        return False
    if where.columns:
        names = {str(_field(card, "column_id")).lower(), (_field(card, "column") or "").lower()}
        if not names & {x.lower() for x in where.columns}:
            return False
    assignees = {x.lower() for x in _field(card, "assignees") or []}
    wanted = {x.lower() for x in where.assignees} | ({me.lower()} if where.mine and me else set())
    if (where.assignees or where.mine) and not wanted & assignees:
        return False
    if where.unassigned and assignees:
        return False
    if where.priorities and _text(_field(card, "priority")) not in where.priorities:
        return False
    if where.sprint_id is not None and str(_field(card, "sprint_id")) != where.sprint_id:
        return False
    if where.no_done and _done(card):
        return False
    due = _day(_field(card, "due"))
    if where.overdue and not (due is not None and due < today and not _done(card)):
        return False
    if where.due_before is not None and not (due is not None and due < where.due_before):
        return False
    if where.due_after is not None and not (due is not None and due > where.due_after):
        return False
    if where.updated_since is not None:
        updated = _moment(_field(card, "updated_at"))
        if updated is None or updated < where.updated_since:
            return False
    return True


def _sort_value(name: str) -> Callable[[Any], Any]:
    match name:
        case "key":
            return lambda c: (_field(c, "number") or 0) or None
        case "priority":
            return lambda c: PRIORITY_ORDER.get(_text(_field(c, "priority")), 4)
        case "due":
            return lambda c: _day(_field(c, "due"))
        case "points":
            return lambda c: _field(c, "points")
        case "updated":
            return lambda c: _moment(_field(c, "updated_at"))
        case "created":
            return lambda c: _moment(_field(c, "created_at"))
        case _:
            return lambda c: (_field(c, "title") or "").lower()


def order(cards: Iterable[C], sort: str | None, desc: bool = False) -> list[C]:
    """Cards by `sort` (None: as given, i.e. board order; `desc` reverses that too); equal values
    keep their order, cards without a value (no due date, no points) come last either way."""
    cards = list(cards)
    if sort is None:
        return cards[::-1] if desc else cards
    value = _sort_value(sort)
    present = [c for c in cards if value(c) is not None]
    missing = [c for c in cards if value(c) is None]
    return sorted(present, key=value, reverse=desc) + missing


def choose(cards: Iterable[C], where: Where, *, me: str | None = None, today: date | None = None) -> list[C]:
    """`matches`, then `order`, then `limit`: what `ls`, `search`, `--where` and the TUI show."""
    chosen = [card for card in cards if matches(card, where, me=me, today=today)]
    chosen = order(chosen, where.sort, where.desc)
    return chosen[:where.limit] if where.limit is not None else chosen


def select(cards: Iterable[C], *, column_id: str | None = None, labels: Iterable[str] = (),
           assignees: Iterable[str] = (), priorities: Iterable[str] = (),
           sprint_id: str | None = None) -> list[C]:
    """Cards (CardOut, or its wire JSON) matching every given filter (labels: all of them;
    assignees, priorities: any of them)."""
    where = Where(labels=tuple(labels), columns=(column_id,) if column_id is not None else (),
                  assignees=tuple(assignees), priorities=tuple(p.lower() for p in priorities),
                  sprint_id=sprint_id)
    if column_id is not None:  # by id only: a column named like another's id never matches
        return [c for c in cards if str(_field(c, "column_id")) == column_id
                and matches(c, replace(where, columns=()))]
    return [c for c in cards if matches(c, where)]


def search(cards: Iterable[CardOut], query: str) -> list[CardOut]:
    """Cards whose key, title, description or labels contain every word of `query` (any case)."""
    words = query.lower().split()
    if not words:
        return []
    found = []
    for card in cards:
        text = "\n".join([card.key, card.title, card.description, *card.labels]).lower()
        if all(word in text for word in words):
            found.append(card)
    return found
