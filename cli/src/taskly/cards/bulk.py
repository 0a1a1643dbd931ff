"""Changing many cards at once: what each card gets, said per card, written as one bulk write.

The CLI (`taskly mv|edit|assign|rm CARD...` and `--where`) and the board's selection (`space`,
then `H`/`L`, `d`, `x`, labels, assignees) both plan here (`plan`, plain functions over cards as
wire JSON, CardOut or the TUI's CardView) and write through `write` → `SyncEngine.bulk_update`:
one outbox entry, one `POST /cards/bulk-update`, all cards or none. The commands' actions
(`bulk_move` …, which choose the cards by name or `--where`) are at the end.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core import resolve
from ..core.errors import NotFound, UsageError
from . import filters
from . import resolve as card_resolve
from .actions import as_cards, fields, resolved, warn_over_capacity, where_of
from .filters import _field, _text

if TYPE_CHECKING:
    from taskly_shared.models import CardOut

    from ..core.context import Factory
    from ..sync.engine import SyncEngine
    from ..sync.results import WriteResult

MAX_CARDS = 500
"""What one `POST /cards/bulk-update` takes."""


@dataclass(frozen=True)
class LabelChange:
    """`--label x` sets (with every bare name given), `--label +x` adds, `--label -x` removes."""

    set_to: tuple[str, ...] | None = None
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()

    @classmethod
    def parse(cls, values: Iterable[str], add: Iterable[str] = (), remove: Iterable[str] = ()) -> LabelChange:
        bare, plus, minus = [], list(add), list(remove)
        for value in values:
            value = value.strip()
            if value.startswith("+") and len(value) > 1:
                plus.append(value[1:].strip())
            elif value.startswith("-") and len(value) > 1:
                minus.append(value[1:].strip())
            elif value:
                bare.append(value)
        return cls(tuple(dict.fromkeys(bare)) if bare else None, tuple(dict.fromkeys(plus)),
                   tuple(dict.fromkeys(minus)))

    @property
    def empty(self) -> bool:
        return self.set_to is None and not self.add and not self.remove

    def applied(self, labels: Sequence[str]) -> list[str]:
        """A card's labels after this change (any case matches for removal and duplicates)."""
        base = list(self.set_to) if self.set_to is not None else list(labels)
        gone = {label.lower() for label in self.remove}
        result: list[str] = []
        for label in [*base, *self.add]:
            if label.lower() not in gone and label.lower() not in {x.lower() for x in result}:
                result.append(label)
        return result


@dataclass
class Planned:
    """One card of a bulk write: the card as it is and the fields it gets (only those that change)."""

    card: Any
    fields: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    """What changes, for people: `column Todo → Done, priority none → high`."""

    @property
    def card_id(self) -> str:
        return str(_field(self.card, "id"))


def _show(value: Any) -> str:
    if value is None or value == [] or value == "":
        return "none"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return _text(value)


def _norm(name: str, value: Any) -> Any:
    """A field's value as comparable text: enums by value, dates and ids as strings."""
    if value is None:
        return None
    if name in ("priority", "due", "sprint_id", "recurrence"):
        return _text(value) if name in ("priority", "recurrence") else str(value)
    return value


def plan(cards: Iterable[Any], changes: dict[str, Any], *, columns: dict[str, str] | None = None,
         labels: LabelChange | None = None, assignees: tuple[str, list[str]] | None = None,
         people: LabelChange | None = None, sprint_names: dict[str, str] | None = None) -> list[Planned]:
    """Per card, the fields among `changes` (CardPatch's, plus `column` as a column id and
    `deleted`) that differ from what it has, the labels and assignees it ends with (`assignees`:
    (set|add|remove, usernames); `people`: names set, added and removed as `labels` are) and a
    summary. Cards that would not change are left out."""
    if people is not None and not people.empty:
        assignees = ("change", [])
    columns = columns or {}
    sprint_names = sprint_names or {}
    planned = []
    for card in cards:
        fields: dict[str, Any] = {}
        said: list[str] = []
        for name, value in changes.items():
            if name == "column":
                if str(_field(card, "column_id")) != value:
                    fields["column"] = value
                    said.append(f"column {_field(card, 'column') or '?'} → {columns.get(value, value)}")
            elif name == "deleted":
                if bool(_field(card, "deleted_at") or _field(card, "deleted")) != value:
                    fields["deleted"] = value
                    said.append("deleted" if value else "restored")
            else:
                old = _norm(name, _field(card, name))
                if old != _norm(name, value):
                    fields[name] = value
                    if name == "sprint_id":
                        said.append(f"sprint {sprint_names.get(str(old), _show(old))} → "
                                    f"{sprint_names.get(str(value), _show(value))}")
                    else:
                        said.append(f"{name} {_show(old)} → {_show(value)}")
        if labels is not None and not labels.empty:
            old = list(_field(card, "labels") or [])
            new = labels.applied(old)
            if new != old:
                fields["labels"] = new
                said.append(f"labels {_show(old)} → {_show(new)}")
        if assignees is not None:
            mode, names = assignees
            old = list(_field(card, "assignees") or [])
            if mode == "change" and people is not None:
                new = people.applied(old)
            elif mode == "remove":
                gone = {name.lower() for name in names}
                new = [name for name in old if name.lower() not in gone]
            elif mode == "add":
                new = list(dict.fromkeys([*old, *names]))
            else:
                new = list(names)
            if new != old:
                fields["assignees"] = new
                said.append(f"assignees {_show(old)} → {_show(new)}")
        if fields:
            planned.append(Planned(card, fields, ", ".join(said)))
    return planned


def write(engine: SyncEngine, planned: Sequence[Planned], workspace_id: str | None = None
          ) -> WriteResult[list[CardOut]]:
    """The planned changes as one bulk write (one outbox entry, one request: all or none)."""
    if len(planned) > MAX_CARDS:
        raise UsageError(f"{len(planned)} cards: one bulk change takes at most {MAX_CARDS}")
    return engine.bulk_update([(p.card_id, p.fields) for p in planned], workspace_id=workspace_id)


# --- the commands' side: choosing the cards, planning, writing (`taskly mv|edit|assign|rm CARD...`) ---


@dataclass
class BulkOutcome:
    """What a bulk command changed (`result`: the write; None for --dry-run or nothing to change)."""

    planned: list[Planned]
    result: WriteResult[list[CardOut]] | None = None

    def preview(self) -> list[dict[str, Any]]:
        """`--dry-run --json`: per card, its key, id, title and the fields it would get."""
        from ..core.output import to_jsonable
        from ..core.render import key

        return [{"key": key(p.card), "id": str(p.card.id), "title": p.card.title,
                 "changes": to_jsonable(p.fields), "summary": p.summary} for p in self.planned]


def split_cards(args: list[str]) -> tuple[list[str], list[str]]:
    """`assign CARD... USER...`: the leading arguments that name cards (keys, numbers, handles of
    cards made offline), then the users."""
    from taskly_shared.keys import parse_card_key

    cards = []
    for arg in args:
        ref = arg.strip().lstrip("#")
        handle = ref.rsplit("?", 1)[-1]
        if ref.isdigit() or parse_card_key(ref) or (len(handle) == 8 and all(c in "0123456789abcdef" for c in handle)
                                                     and "?" in ref):
            cards.append(arg)
        else:
            break
    return cards, args[len(cards):]


def chosen_cards(f: Factory, refs: list[str], where: str | None) -> list[CardOut]:
    """The cards a bulk command names (each must exist: NotFound, exit 3, before anything is
    written), or those of the current board that `--where` chooses (in its order)."""
    if where and refs:
        raise UsageError("give cards or --where FILTER, not both")
    if not where and not refs:
        raise UsageError("name the cards (or --where FILTER)")
    resolve.fresh(f, note_stale=False)
    if where:
        board = resolve.board_json(f)
        query = resolved(f, board, where_of(where))
        found = filters.choose(f.store.cards_json(board_id=board["id"]), query,
                               me=resolve.me(f) if query.mine else None)
        return as_cards(found)
    cards: dict[str, CardOut] = {}
    for ref in refs:
        card = card_resolve.card(f, ref)
        cards.setdefault(str(card.id), card)
    return list(cards.values())


def _finish(f: Factory, planned: list[Planned], dry_run: bool, chosen: int) -> BulkOutcome:
    """Write the planned changes in one bulk write (unless --dry-run), telling on stderr what matched."""
    unchanged = chosen - len(planned)
    if chosen == 0:
        f.output.note("no cards match")
    elif unchanged:
        f.output.note(f"{unchanged} card{'s' * (unchanged != 1)} already as asked")
    if dry_run or not planned:
        if dry_run and planned:
            f.output.note(f"dry run: {len(planned)} card{'s' * (len(planned) != 1)} would change; nothing written")
        return BulkOutcome(planned)
    return BulkOutcome(planned, write(f.engine, planned))  # cards of two workspaces: a usage error


def _by_board(f: Factory, cards: list[CardOut], build) -> list[Planned]:
    """`build(board_json, cards of that board)` → planned changes, per board, in the cards' order."""
    boards: dict[str, list[CardOut]] = {}
    for card in cards:
        boards.setdefault(str(card.board_id), []).append(card)
    planned: dict[str, Planned] = {}
    for board_id, group in boards.items():
        board = f.store.board_json(board_id)
        if board is None:
            raise NotFound(f"board of card {group[0].key} is not in the local cache")
        planned.update((p.card_id, p) for p in build(board, group))
    return [planned[str(card.id)] for card in cards if str(card.id) in planned]


def bulk_move(f: Factory, refs: list[str], where: str | None, column: str, *, dry_run: bool = False) -> BulkOutcome:
    cards = chosen_cards(f, refs, where)

    def build(board, group):
        target = resolve.column_json(board, column)
        return plan(group, {"column": target["id"]}, columns={target["id"]: target["name"]})

    return _finish(f, _by_board(f, cards, build), dry_run, len(cards))


def bulk_edit(f: Factory, refs: list[str], where: str | None, *, labels: LabelChange,
              priority: str | None = None, points: int | None = None, due: str | None = None,
              sprint: str | None = None, column: str | None = None, dry_run: bool = False) -> BulkOutcome:
    if labels.empty and all(v is None for v in (priority, points, due, sprint, column)):
        raise UsageError("nothing to change: give --label, --priority, --points, --due, --sprint or --column")
    cards = chosen_cards(f, refs, where)

    def build(board, group):
        values = fields(f, board["workspace_id"], priority=priority, points=points, due=due, sprint=sprint,
                        board=board)
        if labels.set_to is not None or labels.add:
            card_resolve.card_fields({"labels": [*(labels.set_to or ()), *labels.add]})
        names: dict[str, str] = {}
        if column is not None:
            target = resolve.column_json(board, column)
            values["column"], names = target["id"], {target["id"]: target["name"]}
        sprint_names = {str(s["id"]): s["name"] for s in f.store.sprints_json(board_id=board["id"])}
        return plan(group, values, columns=names, labels=labels, sprint_names=sprint_names)

    outcome = _finish(f, _by_board(f, cards, build), dry_run, len(cards))
    if outcome.result is not None and (sprint is not None or points is not None):
        warned = set()
        for card in outcome.result.entity:  # a sprint now committed past its capacity: said once
            if card is not None and card.sprint_id is not None and card.sprint_id not in warned:
                warned.add(card.sprint_id)
                warn_over_capacity(f, card)
    return outcome


def bulk_assign(f: Factory, refs: list[str], where: str | None, users: list[str], mode: str = "set", *,
                dry_run: bool = False) -> BulkOutcome:
    cards = chosen_cards(f, refs, where)

    def build(board, group):
        if mode == "remove":
            names = [resolve.me(f) if u.strip().lstrip("@").lower() == "me" else u.strip().lstrip("@")
                     for u in users]
        else:
            names = resolve.usernames(f, board["workspace_id"], users)
        return plan(group, {}, assignees=(mode, names))

    return _finish(f, _by_board(f, cards, build), dry_run, len(cards))


def bulk_delete(f: Factory, refs: list[str], where: str | None, *, dry_run: bool = False) -> BulkOutcome:
    cards = chosen_cards(f, refs, where)
    return _finish(f, plan(cards, {"deleted": True}), dry_run, len(cards))
