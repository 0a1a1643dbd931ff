"""Building the outbox `Op` of each local write from the cache and a validated wire model.

To add a kind of write: a builder here, an `@applier` in `taskly.store.ops`, and (when its answer
is not a CardOut) its answer model in `ANSWER_MODELS`.
"""

from __future__ import annotations

import uuid
from typing import Any

from taskly_shared.models import CardCreate, CardMove, CardPatch, CommentCreate, CommentOut

from ..errors import NotFound
from ..store import Op, StoreTransaction
from ..store.ops import CARD_FIELDS, utcnow
from ..store.reads import Reads

ANSWER_MODELS: dict[str, Any] = {"comment.add": CommentOut}


def _rank_between(before: str | None, after: str | None) -> str:
    """A rank sorting between two ranks (byte-wise), like the server's fractional indexes."""
    from fractional_indexing import generate_key_between  # ~8 ms; only local writes need it

    try:
        return generate_key_between(before, after)
    except Exception:  # a rank this library did not generate: good enough until the server answers
        return (before or "") + "V" if after is None or (before or "") + "V" < after else before or "a0"


def _bottom(tx: StoreTransaction, column_id: str, exclude: str | None = None) -> str:
    ranks = tx.column_ranks(column_id, exclude)
    return _rank_between(ranks[-1][1] if ranks else None, None)


def find_card(tx: Reads, ref: str, board: str | None = None,
              workspace_id: str | None = None) -> dict[str, Any]:
    """A cached card (wire JSON) by id, key, or number within `board`; NotFound otherwise."""
    board_id = None
    if board is not None:
        board_json = tx.board_json(board, workspace_id)
        board_id = board_json["id"] if board_json else None
    card = tx.card_json(ref, board_id=board_id, workspace_id=workspace_id)
    if card is None:
        raise NotFound(f"card {ref} is not in the local cache", code="not_found")
    return card


def _column(tx: StoreTransaction, board: dict[str, Any], ref: str | None) -> dict[str, Any]:
    if ref is None:
        if not board["columns"]:
            raise NotFound(f"board {board['key']} has no columns", code="not_found")
        return board["columns"][0]
    column = tx.column_json(board["id"], ref)
    if column is None:
        raise NotFound(f"board {board['key']} has no column {ref!r}", code="not_found")
    return column


def card_create(tx: StoreTransaction, board_ref: str, data: CardCreate, user: str | None,
                workspace_id: str | None = None) -> Op:
    board = tx.board_json(board_ref, workspace_id)
    if board is None:
        raise NotFound(f"board {board_ref} is not in the local cache", code="not_found")
    column = _column(tx, board, data.column)
    card_id = str(data.id or uuid.uuid4())
    payload = data.model_dump(mode="json", exclude_unset=True)
    payload.update(id=card_id, column=column["id"])
    now = utcnow()
    card: dict[str, Any] = {
        "id": card_id, "key": "", "number": 0, "board_id": board["id"], "workspace_id": board["workspace_id"],
        "title": data.title, "description": "", "column": column["name"], "column_id": column["id"],
        "column_kind": column["kind"], "rank": _bottom(tx, column["id"]), "labels": [], "priority": "none",
        "points": None, "due": None, "remind_at": None, "recurrence": "none", "recurrence_interval": 1,
        "assignees": [], "sprint_id": None, "branch": None, "created_by": user, "version": 0,
        "created_at": now, "updated_at": now, "deleted_at": None,
    }
    card.update({name: value for name, value in payload.items() if name in CARD_FIELDS})
    return Op("card.create", board["workspace_id"], "card", card_id, "POST", f"/boards/{board['id']}/cards",
              payload, None, {"card": card}, created_at=now)


def card_update(tx: StoreTransaction, card: dict[str, Any], patch: CardPatch) -> Op:
    payload = patch.model_dump(mode="json", exclude_unset=True, exclude={"base_version"})
    local: dict[str, Any] = {}
    if payload.get("column") is not None:
        board = tx.board_json(card["board_id"])
        column = _column(tx, board or {"id": card["board_id"], "key": "?", "columns": []}, payload["column"])
        payload["column"] = column["id"]
        local = {"column_id": column["id"], "rank": _bottom(tx, column["id"], card["id"])}
    base = patch.base_version if patch.base_version is not None else card["version"]
    return Op("card.update", card["workspace_id"], "card", card["id"], "PATCH", f"/cards/{card['id']}",
              payload, base, local)


def card_move(tx: StoreTransaction, card: dict[str, Any], move: CardMove) -> Op:
    board = tx.board_json(card["board_id"]) or {"id": card["board_id"], "key": "?", "columns": []}
    column = _column(tx, board, move.column)
    ranks = tx.column_ranks(column["id"], card["id"])
    ids = [card_id for card_id, _ in ranks]
    payload: dict[str, Any] = {"column": column["id"]}
    neighbour = move.before or move.after
    if neighbour is not None:
        other = find_card(tx, neighbour, card["board_id"], card["workspace_id"])
        payload["before" if move.before else "after"] = other["id"]
        index = ids.index(other["id"]) if other["id"] in ids else len(ids)
        if move.before:
            low, high = (ranks[index - 1][1] if index > 0 else None), other["rank"]
        else:
            low, high = other["rank"], (ranks[index + 1][1] if index + 1 < len(ranks) else None)
    elif move.position == "top":
        payload["position"] = "top"
        low, high = None, (ranks[0][1] if ranks else None)
    else:
        if move.position:
            payload["position"] = move.position
        low, high = (ranks[-1][1] if ranks else None), None
    base = move.base_version if move.base_version is not None else card["version"]
    return Op("card.move", card["workspace_id"], "card", card["id"], "POST", f"/cards/{card['id']}/move",
              payload, base, {"column_id": column["id"], "rank": _rank_between(low, high)})


def card_delete(card: dict[str, Any]) -> Op:
    return Op("card.delete", card["workspace_id"], "card", card["id"], "DELETE", f"/cards/{card['id']}")


def card_restore(card: dict[str, Any]) -> Op:
    return Op("card.restore", card["workspace_id"], "card", card["id"], "POST",
              f"/cards/{card['id']}/restore")


def comment_add(card: dict[str, Any], data: CommentCreate, user: str | None) -> Op:
    comment_id = str(data.id or uuid.uuid4())
    now = utcnow()
    comment = {"id": comment_id, "card_id": card["id"], "author_id": None, "author": user,
               "body": data.body, "edited": False, "deleted": False, "version": 0,
               "created_at": now, "updated_at": now}
    return Op("comment.add", card["workspace_id"], "comment", comment_id, "POST",
              f"/cards/{card['id']}/comments", {"id": comment_id, "body": data.body}, None,
              {"comment": comment}, created_at=now)
