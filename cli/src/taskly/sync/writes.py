"""Building the outbox `Op` of each local write from the cache and a validated wire model.

To add a kind of write: a builder here, an `@applier` in `taskly.store.ops`, and (when its answer
is not a CardOut) its answer model in `ANSWER_MODELS`.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import RootModel
from taskly_shared.models import (
    BulkUpdate,
    CardCreate,
    CardMove,
    CardOut,
    CardPatch,
    CommentCreate,
    CommentOut,
    SprintClose,
    SprintClosed,
    SprintCreate,
    SprintOut,
    SprintPatch,
)

from ..core.errors import NotFound
from ..store import Op, StoreTransaction
from ..store.ops import BULK, CARD_FIELDS, utcnow
from ..store.reads import Reads


class CardList(RootModel[list[CardOut]]):
    """A bulk write's answer: its cards, in the order of the request."""


ANSWER_MODELS: dict[str, Any] = {BULK: CardList, "comment.add": CommentOut, "comment.edit": CommentOut,
                                 "comment.delete": CommentOut, "sprint.create": SprintOut, "sprint.update": SprintOut,
                                 "sprint.close": SprintClosed, "sprint.delete": None}
"""The model of each write's answer (CardOut when not named; None: 204, no body)."""
ANSWER_ENTITIES: dict[str, Any] = {BULK: lambda answer: answer.root}
"""Where the written entity is in an answer that is not the entity itself (a sprint close's
SprintClosed goes whole to `confirm`: the cards it carried over settle the cache's)."""


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
    writable(tx.board_json(card["board_id"]))
    return card


def writable(board: dict[str, Any] | None) -> None:
    """An archived board takes no writes (the server's 409 `board_archived`): refused here too, so
    none is queued offline only to be refused later."""
    from ..core.errors import Conflict

    if board is not None and board.get("archived"):
        key = board.get("key")
        raise Conflict(f"board {key} is archived (read-only); an admin can unarchive it with "
                       f"`taskly board unarchive {key}`", code="board_archived")


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
    writable(board)
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


def card_bulk(tx: StoreTransaction, items: list[tuple[dict[str, Any], dict[str, Any]]]) -> Op:
    """One write of many cards (`POST /cards/bulk-update`, all or none): per cached card, the fields
    it gets (CardPatch's, `column` to its bottom, `deleted` true|false), with the version it has."""
    if not items:
        raise NotFound("no cards to change", code="not_found")
    workspaces = {card["workspace_id"] for card, _ in items}
    if len(workspaces) > 1:
        from ..core.errors import UsageError

        raise UsageError("the cards of one bulk write must be in one workspace")
    bottoms: dict[str, str | None] = {}
    payload, places = [], {}
    for card, fields in items:
        item = {"card": card["id"], **fields, "base_version": card["version"]}
        if fields.get("column") is not None:
            board = tx.board_json(card["board_id"]) or {"id": card["board_id"], "key": "?", "columns": []}
            column = _column(tx, board, fields["column"])
            item["column"] = column["id"]
            if column["id"] != card["column_id"]:  # to the bottom, after the others moved there
                if column["id"] not in bottoms:
                    ranks = [rank for _, rank in tx.column_ranks(column["id"])]
                    bottoms[column["id"]] = ranks[-1] if ranks else None
                rank = bottoms[column["id"]] = _rank_between(bottoms[column["id"]], None)
                places[card["id"]] = {"column_id": column["id"], "rank": rank}
        payload.append(item)
    body = BulkUpdate.model_validate({"cards": payload}).model_dump(mode="json", exclude_unset=True)
    op = Op(BULK, workspaces.pop(), "card", "", "POST", "/cards/bulk-update", body, None,
            {"ids": [card["id"] for card, _ in items], "places": places})
    op.entity_id = op.mutation_id
    return op


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


def find_comment(tx: Reads, ref: str) -> dict[str, Any]:
    """A cached live comment (wire JSON) by id or by a unique prefix of its id (the short id that
    `show` and `comments` print); NotFound, or a UsageError naming the candidates."""
    from ..core.errors import UsageError

    found = tx.comments_by_handle(ref)
    live = [c for c in found if not c.get("deleted")]
    if len(live) == 1:
        card = tx.card_json(str(live[0]["card_id"]))
        writable(tx.board_json(card["board_id"]) if card else None)
        return live[0]
    if live:
        raise UsageError(f"comment id {ref!r} is ambiguous: " + ", ".join(c["id"] for c in live[:5]))
    raise NotFound(f"no comment {ref!r} in the local cache (`taskly comments CARD` lists a card's comments "
                   "with their ids)", code="not_found")


def comment_edit(comment: dict[str, Any], body: str) -> Op:
    """A new body (the server marks the comment edited; only its author may)."""
    return Op("comment.edit", comment["workspace_id"], "comment", comment["id"], "PATCH",
              f"/comments/{comment['id']}", {"body": body}, None)


def comment_delete(comment: dict[str, Any]) -> Op:
    """Delete a comment (its author, or an admin of the workspace)."""
    return Op("comment.delete", comment["workspace_id"], "comment", comment["id"], "DELETE",
              f"/comments/{comment['id']}")


# --- sprints ---------------------------------------------------------------------------------------


def find_sprint(tx: Reads, sprint_id: str) -> dict[str, Any]:
    """A cached live sprint by id; NotFound otherwise."""
    sprint = tx.sprint_json(sprint_id)
    if sprint is None or sprint.get("deleted_at"):
        raise NotFound(f"sprint {sprint_id} is not in the local cache", code="not_found")
    return sprint


def sprint_create(tx: StoreTransaction, board_id: str, data: SprintCreate) -> Op:
    """A new sprint on a board; it has its id at once, so queued card writes can name it."""
    board = tx.board_json(board_id)
    if board is None:
        raise NotFound(f"board {board_id} is not in the local cache", code="not_found")
    sprint_id = str(data.id or uuid.uuid4())
    payload = data.model_dump(mode="json", exclude_unset=True)
    payload["id"] = sprint_id
    now = utcnow()
    sprint = {
        "id": sprint_id, "board_id": board["id"], "name": data.name, "start_date": payload["start_date"],
        "end_date": payload["end_date"], "goal": data.goal, "capacity_points": data.capacity_points,
        "status": "planned", "overdue": False, "closed_at": None, "card_count": 0, "committed_points": 0,
        "completed_points": 0, "remaining_points": 0, "over_capacity": False, "version": 0,
        "created_at": now, "updated_at": now, "deleted_at": None,
    }
    return Op("sprint.create", board["workspace_id"], "sprint", sprint_id, "POST",
              f"/boards/{board['id']}/sprints", payload, None, {"sprint": sprint}, created_at=now)


def sprint_update(sprint: dict[str, Any], patch: SprintPatch) -> Op:
    payload = patch.model_dump(mode="json", exclude_unset=True, exclude={"base_version"})
    base = patch.base_version if patch.base_version is not None else sprint["version"]
    return Op("sprint.update", sprint["workspace_id"], "sprint", sprint["id"], "PATCH",
              f"/sprints/{sprint['id']}", payload, base)


def sprint_close(tx: Reads, sprint: dict[str, Any], data: SprintClose) -> Op:
    """Close a sprint: one write, which also carries its unfinished cards over in the cache at once
    (`local["cards"]`: its live cards outside a done column, as the cache has them now)."""
    cards = [card["id"] for card in tx.cards_json(board_id=sprint["board_id"])
             if str(card.get("sprint_id")) == sprint["id"] and card.get("column_kind") != "done"]
    return Op("sprint.close", sprint["workspace_id"], "sprint", sprint["id"], "POST",
              f"/sprints/{sprint['id']}/close", data.model_dump(mode="json"), local={"cards": cards})


def sprint_delete(sprint: dict[str, Any]) -> Op:
    return Op("sprint.delete", sprint["workspace_id"], "sprint", sprint["id"], "DELETE",
              f"/sprints/{sprint['id']}")
