"""Local writes: the outbox entry (`Op`) and how each one is applied optimistically to the cache.

An `Op` holds what is sent to the server (method, path, JSON payload, the `base_version` the
client saw, the mutation id used as `Idempotency-Key`) and `local`: what the optimistic apply
needs that the server computes itself (a provisional card, the target column id and rank).
Appliers are pure functions `(state, op) -> state` on wire-JSON dicts, registered per operation
name, so a new kind of write is one `@applier("noun.verb")` function plus its builder in `sync/`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

State = dict[str, Any] | None
Applier = Callable[[State, "Op"], State]
APPLIERS: dict[str, Applier] = {}


def utcnow() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class Op:
    """One local write, as stored in the outbox and sent to the server."""

    operation: str
    workspace_id: str
    entity_type: str
    entity_id: str
    method: str
    path: str
    payload: dict[str, Any] | None = None
    base_version: int | None = None
    local: dict[str, Any] = field(default_factory=dict)
    mutation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: str = field(default_factory=utcnow)

    def body(self) -> dict[str, Any] | None:
        """The JSON body sent: the payload plus `base_version` for writes that carry it."""
        if self.payload is None:
            return None
        if self.base_version is None:
            return dict(self.payload)
        return {**self.payload, "base_version": self.base_version}

    def entity_ids(self) -> list[str]:
        """The entities this write changes: several for a bulk write (`local["ids"]`), else its own."""
        return list(self.local.get("ids") or [self.entity_id])

    def targets(self) -> list[tuple[str, str]]:
        """(entity type, id) of everything this write changes in the cache: `entity_ids()`, then the
        cards it also changes (`local["cards"]`: a sprint close's unfinished cards)."""
        return ([(self.entity_type, entity_id) for entity_id in self.entity_ids()]
                + [("card", card_id) for card_id in self.local.get("cards") or []])

    def fields(self) -> dict[str, Any]:
        """The entity fields this write sets, with their values (to recognise our values in the feed)."""
        return {name: value for name, value in (self.payload or {}).items()
                if name not in ("id", "base_version", "before", "after", "position")}


@dataclass
class OutboxEntry(Op):
    """An `Op` read back from the outbox, with its delivery state."""

    id: int = 0
    state: str = "pending"
    attempts: int = 0
    last_error: str | None = None
    error_code: str | None = None
    updated_at: str | None = None


def applier(operation: str) -> Callable[[Applier], Applier]:
    def register(function: Applier) -> Applier:
        APPLIERS[operation] = function
        return function

    return register


def apply(state: State, op: Op) -> State:
    """The entity after `op`, from its state before (None: unknown or gone)."""
    return APPLIERS[op.operation](state, op)


# --- cards -------------------------------------------------------------------------------------

CARD_FIELDS = ("title", "description", "labels", "priority", "points", "due", "remind_at",
               "recurrence", "recurrence_interval", "assignees", "sprint_id", "branch")


@applier("card.create")
def _card_create(state: State, op: Op) -> State:
    # Once the server has the card (its answer or a pulled change), the server's copy wins.
    return state if state is not None else dict(op.local["card"])


def _place(card: dict[str, Any], op: Op) -> None:
    if op.local.get("column_id"):
        card["column_id"] = op.local["column_id"]
    if op.local.get("rank"):
        card["rank"] = op.local["rank"]


@applier("card.update")
def _card_update(state: State, op: Op) -> State:
    if state is None:
        return None
    card = dict(state)
    for name, value in (op.payload or {}).items():
        if name in CARD_FIELDS:
            card[name] = value
    _place(card, op)
    card["updated_at"] = op.created_at
    return card


@applier("card.move")
def _card_move(state: State, op: Op) -> State:
    if state is None:
        return None
    card = dict(state)
    _place(card, op)
    card["updated_at"] = op.created_at
    return card


BULK = "card.bulk"
"""A bulk write: one outbox entry, one `POST /cards/bulk-update`, many cards (all or none)."""


@applier(BULK)
def _card_bulk(state: State, op: Op) -> State:
    """The item of the bulk write that names this card: its fields, `deleted`, its new place."""
    if state is None:
        return None
    item = next((i for i in (op.payload or {}).get("cards", []) if i.get("card") == state["id"]), None)
    if item is None:
        return state
    card = dict(state)
    for name, value in item.items():
        if name in CARD_FIELDS:
            card[name] = value
    place = (op.local.get("places") or {}).get(state["id"]) or {}
    card.update({name: value for name, value in place.items() if name in ("column_id", "rank") and value})
    if item.get("deleted") is True:
        card["deleted_at"] = state.get("deleted_at") or op.created_at
    elif item.get("deleted") is False:
        card["deleted_at"] = None
    card["updated_at"] = op.created_at
    return card


@applier("card.delete")
def _card_delete(state: State, op: Op) -> State:
    if state is None:
        return None
    return {**state, "deleted_at": state.get("deleted_at") or op.created_at, "updated_at": op.created_at}


@applier("card.restore")
def _card_restore(state: State, op: Op) -> State:
    if state is None:
        return None
    return {**state, "deleted_at": None, "updated_at": op.created_at}


# --- comments ----------------------------------------------------------------------------------


@applier("comment.add")
def _comment_add(state: State, op: Op) -> State:
    return state if state is not None else dict(op.local["comment"])


@applier("comment.edit")
def _comment_edit(state: State, op: Op) -> State:
    if state is None:
        return None
    body = (op.payload or {}).get("body", state.get("body"))
    return {**state, "body": body, "edited": state.get("edited") or body != state.get("body"),
            "updated_at": op.created_at}


@applier("comment.delete")
def _comment_delete(state: State, op: Op) -> State:
    if state is None:
        return None
    return {**state, "deleted": True, "updated_at": op.created_at}


# --- sprints -----------------------------------------------------------------------------------

SPRINT_FIELDS = ("name", "start_date", "end_date", "goal", "capacity_points")


@applier("sprint.create")
def _sprint_create(state: State, op: Op) -> State:
    return state if state is not None else dict(op.local["sprint"])


@applier("sprint.update")
def _sprint_update(state: State, op: Op) -> State:
    if state is None:
        return None
    sprint = dict(state)
    for name, value in (op.payload or {}).items():
        if name in SPRINT_FIELDS:
            sprint[name] = value
    sprint["updated_at"] = op.created_at
    return sprint


@applier("sprint.close")
def _sprint_close(state: State, op: Op) -> State:
    """Closed at once, and its unfinished cards (`local["cards"]`, listed when it was closed) go to the
    carry-over sprint (or none) at once too, as the server will move them; a card the server has
    put elsewhere meanwhile stays there (the server's answer and feed settle the rest)."""
    if state is None:
        return None
    if state.get("id") != op.entity_id:  # one of its cards
        if state.get("sprint_id") != op.entity_id:
            return state
        return {**state, "sprint_id": (op.payload or {}).get("carry_over_to"), "updated_at": op.created_at}
    return {**state, "closed_at": state.get("closed_at") or op.created_at, "status": "completed",
            "updated_at": op.created_at}


@applier("sprint.delete")
def _sprint_delete(state: State, op: Op) -> State:
    if state is None:
        return None
    return {**state, "deleted_at": state.get("deleted_at") or op.created_at, "updated_at": op.created_at}
