"""Choosing cards from the cache: `taskly ls` filters and `taskly search` (cache-side, no server)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from taskly_shared.models import CardOut


def select(cards: Iterable[CardOut], *, column_id: str | None = None, labels: Iterable[str] = (),
           assignees: Iterable[str] = (), priorities: Iterable[str] = (),
           sprint_id: str | None = None) -> list[CardOut]:
    """Cards matching every given filter (labels: all of them; assignees, priorities: any of them)."""
    wanted_labels = {label.lower() for label in labels}
    wanted_assignees = {name.lower() for name in assignees}
    wanted_priorities = {p.lower() for p in priorities}
    chosen = []
    for card in cards:
        if column_id is not None and str(card.column_id) != column_id:
            continue
        if wanted_labels and not wanted_labels <= {label.lower() for label in card.labels}:
            continue
        if wanted_assignees and not wanted_assignees & {name.lower() for name in card.assignees}:
            continue
        if wanted_priorities and card.priority.value not in wanted_priorities:
            continue
        if sprint_id is not None and str(card.sprint_id) != sprint_id:
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
