"""Choosing cards from the cache: `taskly ls` filters and `taskly search` (cache-side, no server)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from taskly_shared.models import CardOut

C = TypeVar("C")


def _field(card: Any, name: str) -> Any:
    return card[name] if isinstance(card, dict) else getattr(card, name)


def select(cards: Iterable[C], *, column_id: str | None = None, labels: Iterable[str] = (),
           assignees: Iterable[str] = (), priorities: Iterable[str] = (),
           sprint_id: str | None = None) -> list[C]:
    """Cards (CardOut, or its wire JSON) matching every given filter (labels: all of them;
    assignees, priorities: any of them)."""
    wanted_labels = {label.lower() for label in labels}
    wanted_assignees = {name.lower() for name in assignees}
    wanted_priorities = {p.lower() for p in priorities}
    chosen = []
    for card in cards:
        if column_id is not None and str(_field(card, "column_id")) != column_id:
            continue
        if wanted_labels and not wanted_labels <= {label.lower() for label in _field(card, "labels")}:
            continue
        if wanted_assignees and not wanted_assignees & {name.lower() for name in _field(card, "assignees")}:
            continue
        if wanted_priorities and str(_field(card, "priority")) not in wanted_priorities:
            continue
        if sprint_id is not None and str(_field(card, "sprint_id")) != sprint_id:
            continue
        chosen.append(card)
    return chosen


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
