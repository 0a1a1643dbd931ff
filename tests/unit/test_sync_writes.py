"""The op builders of local writes, against a real SQLite cache in a temporary file (no server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fractional_indexing import generate_key_between
from taskly.core.errors import NotFound
from taskly.store import Store
from taskly.sync.writes import (
    _rank_between,
    card_create,
    card_delete,
    card_move,
    card_restore,
    card_update,
    comment_add,
    find_card,
)
from taskly_shared.models import CardCreate, CardMove, CardPatch, CommentCreate

WS, OTHER_WS = str(uuid.uuid4()), str(uuid.uuid4())
BOARD, BARE_BOARD, OTHER_BOARD = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
TODO, DOING, DONE = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
NOW = "2031-03-14T12:00:00+00:00"


def column(column_id: str, name: str, kind: str, rank: str, board_id: str = BOARD) -> dict:
    return {"id": column_id, "board_id": board_id, "name": name, "kind": kind, "rank": rank, "version": 1}


def board(board_id: str, key: str, name: str, columns: list[dict], workspace_id: str = WS) -> dict:
    return {"id": board_id, "workspace_id": workspace_id, "name": name, "key": key, "archived": False,
            "next_card_number": 9, "version": 1, "created_at": NOW, "updated_at": NOW, "columns": columns}


def card(number: int, column_id: str, rank: str, *, key: str = "WEB", board_id: str = BOARD,
         workspace_id: str = WS, **fields) -> dict:
    return {"id": str(uuid.uuid4()), "key": f"{key}-{number}", "number": number, "board_id": board_id,
            "workspace_id": workspace_id, "title": f"card {number}", "column": "?", "column_id": column_id,
            "column_kind": "todo", "rank": rank, "version": 1, "created_at": NOW, "updated_at": NOW,
            "deleted_at": None, **fields}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """WEB: Todo [WEB-1 a1, WEB-2 a2, WEB-3 a3], Doing [], Done [WEB-4 deleted]; BARE has no columns;
    OPS (another workspace) has OPS-1."""
    store = Store(tmp_path / "cache.sqlite3", server_url="http://127.0.0.1:1", user="alice")
    other_column = str(uuid.uuid4())
    with store.transaction() as tx:
        # columns given out of rank order: the first column is the lowest rank, not the first stored
        tx.put_board(board(BOARD, "WEB", "Web", [column(DONE, "Done", "done", "a2"),
                                                 column(DOING, "Doing", "in_progress", "a1"),
                                                 column(TODO, "Todo", "todo", "a0")]))
        tx.put_board(board(BARE_BOARD, "BARE", "Bare", []))
        tx.put_board(board(OTHER_BOARD, "OPS", "Ops", [column(other_column, "Todo", "todo", "a0",
                                                              OTHER_BOARD)], OTHER_WS))
        for data in (card(1, TODO, "a1"), card(2, TODO, "a2"), card(3, TODO, "a3"),
                     card(4, DONE, "a5", deleted_at=NOW)):
            tx.put("card", data, WS)
        tx.put("card", card(1, other_column, "a0", key="OPS", board_id=OTHER_BOARD,
                            workspace_id=OTHER_WS), OTHER_WS)
    yield store
    store.close()


def cached(store: Store, key: str) -> dict:
    found = store.card_json(key)
    assert found is not None
    return found


def keys_in(store: Store, column_id: str) -> list[str]:
    return [c["key"] or c["title"] for c in store.cards_json(column_id=column_id)]


def applied(store: Store, build) -> object:
    """Build an op in a transaction and apply it to the cache, as the sync engine does."""
    with store.transaction() as tx:
        op = build(tx)
        tx.apply(op)
        tx.outbox.add(op)
    return op


# --- find_card --------------------------------------------------------------------------------------


def test_find_card_by_key_id_and_number(store):
    first = cached(store, "WEB-1")
    with store.transaction() as tx:
        assert find_card(tx, "web-1")["id"] == first["id"]
        assert find_card(tx, first["id"])["key"] == "WEB-1"
        assert find_card(tx, first["id"].upper())["key"] == "WEB-1"
        assert find_card(tx, "1", "WEB")["id"] == first["id"]
        assert find_card(tx, "1", "ops")["key"] == "OPS-1"


def test_find_card_reports_what_is_not_cached(store):
    with store.transaction() as tx:
        for ref, board_ref in (("WEB-99", None), ("1", None), ("1", "NOPE"), ("not a key", None)):
            with pytest.raises(NotFound, match=f"card {ref} is not in the local cache") as error:
                find_card(tx, ref, board_ref)
            assert error.value.code == "not_found" and error.value.status == 404


def test_find_card_within_a_workspace(store):
    with store.transaction() as tx:
        assert find_card(tx, "OPS-1", workspace_id=OTHER_WS)["key"] == "OPS-1"
        with pytest.raises(NotFound):
            find_card(tx, "OPS-1", workspace_id=WS)


# --- card_create ------------------------------------------------------------------------------------


def test_create_goes_to_the_bottom_of_the_first_column(store):
    with store.transaction() as tx:
        op = card_create(tx, "web", CardCreate(title="  new card "), "alice")
    local = op.local["card"]
    assert (op.operation, op.entity_type, op.entity_id, op.method, op.path) == (
        "card.create", "card", local["id"], "POST", f"/boards/{BOARD}/cards")
    assert (op.workspace_id, op.base_version) == (WS, None)
    assert op.payload == {"title": "new card", "id": local["id"], "column": TODO}
    assert (local["column"], local["column_id"], local["column_kind"]) == ("Todo", TODO, "todo")
    assert local["rank"] == "a4" and local["rank"] > "a3"
    assert (local["key"], local["number"], local["version"], local["created_by"]) == ("", 0, 0, "alice")
    assert (local["board_id"], local["workspace_id"], local["deleted_at"]) == (BOARD, WS, None)
    assert local["created_at"] == local["updated_at"] == op.created_at
    uuid.UUID(local["id"])


def test_create_in_a_named_column_with_fields(store):
    chosen = uuid.uuid4()
    data = CardCreate(id=chosen, title="t", column="DOING", priority="high", labels=["bug", "ui"], points=3,
                      due=date(2031, 4, 1), assignees=["bob"])
    with store.transaction() as tx:
        op = card_create(tx, "Web", data, None)
    local = op.local["card"]
    assert op.entity_id == local["id"] == str(chosen)
    assert op.payload == {"id": str(chosen), "title": "t", "column": DOING, "priority": "high",
                          "labels": ["bug", "ui"], "points": 3, "due": "2031-04-01", "assignees": ["bob"]}
    assert (local["column"], local["column_kind"], local["rank"]) == ("Doing", "in_progress", "a0")
    assert (local["priority"], local["labels"], local["points"], local["due"], local["assignees"]) == (
        "high", ["bug", "ui"], 3, "2031-04-01", ["bob"])
    assert local["created_by"] is None and local["recurrence"] == "none" and local["description"] == ""


def test_create_in_a_column_by_id_ignores_deleted_cards_for_the_rank(store):
    with store.transaction() as tx:
        op = card_create(tx, BOARD, CardCreate(title="t", column=DONE), "alice")
    assert op.local["card"]["column_id"] == DONE and op.local["card"]["rank"] == "a0"


def test_create_refuses_unknown_boards_and_columns(store):
    with store.transaction() as tx:
        with pytest.raises(NotFound, match="board NOPE is not in the local cache"):
            card_create(tx, "NOPE", CardCreate(title="t"), "alice")
        with pytest.raises(NotFound, match="board WEB has no column 'Nope'"):
            card_create(tx, "WEB", CardCreate(title="t", column="Nope"), "alice")
        with pytest.raises(NotFound, match="board BARE has no columns"):
            card_create(tx, "BARE", CardCreate(title="t"), "alice")
        with pytest.raises(NotFound, match="board OPS is not in the local cache"):
            card_create(tx, "OPS", CardCreate(title="t"), "alice", workspace_id=WS)


def test_a_created_card_is_cached_at_the_bottom_and_queued(store):
    op = applied(store, lambda tx: card_create(tx, "WEB", CardCreate(title="fresh"), "alice"))
    assert keys_in(store, TODO) == ["WEB-1", "WEB-2", "WEB-3", "fresh"]
    assert store.is_pending(op.entity_id)
    [entry] = store.outbox.pending()
    assert (entry.mutation_id, entry.payload, entry.local) == (op.mutation_id, op.payload, op.local)


def test_two_cards_created_offline_keep_their_order(store):
    for title in ("first", "second"):
        applied(store, lambda tx, title=title: card_create(tx, "WEB", CardCreate(title=title,
                                                                                 column="Doing"), None))
    assert keys_in(store, DOING) == ["first", "second"]


# --- card_update ------------------------------------------------------------------------------------


def test_update_sends_the_set_fields_against_the_cached_version(store):
    web1 = cached(store, "WEB-1")
    with store.transaction() as tx:
        op = card_update(tx, web1, CardPatch(title="renamed", points=None))
    assert (op.operation, op.method, op.path, op.entity_id) == (
        "card.update", "PATCH", f"/cards/{web1['id']}", web1["id"])
    assert op.payload == {"title": "renamed", "points": None} and op.base_version == 1 and op.local == {}
    assert op.body() == {"title": "renamed", "points": None, "base_version": 1}


def test_update_with_an_explicit_base_version_zero(store):
    with store.transaction() as tx:
        op = card_update(tx, cached(store, "WEB-1"), CardPatch(title="x", base_version=0))
    assert op.base_version == 0 and "base_version" not in op.payload


def test_update_with_a_column_moves_to_its_bottom(store):
    web1 = cached(store, "WEB-1")
    with store.transaction() as tx:
        to_doing = card_update(tx, web1, CardPatch(column="doing"))
        same_column = card_update(tx, web1, CardPatch(column="Todo"))
    assert to_doing.payload == {"column": DOING} and to_doing.local == {"column_id": DOING, "rank": "a0"}
    # its own rank does not count: the bottom of the others
    assert same_column.local == {"column_id": TODO, "rank": "a4"}


def test_an_applied_column_update_reorders_the_cache(store):
    applied(store, lambda tx: card_update(tx, cached(store, "WEB-1"), CardPatch(column="Todo", title="moved")))
    assert keys_in(store, TODO) == ["WEB-2", "WEB-3", "WEB-1"]
    assert cached(store, "WEB-1")["title"] == "moved"


def test_update_to_an_unknown_column_is_not_found(store):
    with store.transaction() as tx, pytest.raises(NotFound, match="has no column 'Nope'"):
        card_update(tx, cached(store, "WEB-1"), CardPatch(column="Nope"))


# --- card_move --------------------------------------------------------------------------------------


def move(store: Store, key: str, **fields):
    with store.transaction() as tx:
        return card_move(tx, cached(store, key), CardMove(**fields))


def test_move_before_the_first_card(store):
    op = move(store, "WEB-3", column="Todo", before="WEB-1")
    web1 = cached(store, "WEB-1")
    assert (op.operation, op.method, op.path) == ("card.move", "POST", f"/cards/{cached(store, 'WEB-3')['id']}/move")
    assert op.payload == {"column": TODO, "before": web1["id"]} and op.base_version == 1
    assert op.local["column_id"] == TODO and op.local["rank"] < "a1"


def test_move_after_a_card_lands_between_it_and_the_next(store):
    op = move(store, "WEB-3", column="todo", after="web-1")
    assert op.payload == {"column": TODO, "after": cached(store, "WEB-1")["id"]}
    assert "a1" < op.local["rank"] < "a2"


def test_move_after_the_last_card(store):
    op = move(store, "WEB-1", column="Todo", after="WEB-3")
    assert op.local["rank"] > "a3"


def test_move_to_the_top_and_bottom(store):
    top = move(store, "WEB-3", column="Todo", position="top")
    bottom = move(store, "WEB-1", column="Todo", position="bottom")
    plain = move(store, "WEB-1", column="Todo")
    assert top.payload == {"column": TODO, "position": "top"} and top.local["rank"] < "a1"
    assert bottom.payload == {"column": TODO, "position": "bottom"} and bottom.local["rank"] > "a3"
    assert plain.payload == {"column": TODO} and plain.local["rank"] > "a3"


def test_move_into_an_empty_column(store):
    for position in ("top", "bottom", None):
        op = move(store, "WEB-2", column="Doing", position=position)
        assert op.local == {"column_id": DOING, "rank": "a0"}


def test_move_with_an_explicit_base_version(store):
    assert move(store, "WEB-2", column="Doing", base_version=7).base_version == 7


def test_move_refuses_unknown_columns_and_neighbours(store):
    with pytest.raises(NotFound, match="has no column 'Nope'"):
        move(store, "WEB-2", column="Nope")
    with pytest.raises(NotFound, match="card WEB-99 is not in the local cache"):
        move(store, "WEB-2", column="Todo", before="WEB-99")
    with pytest.raises(NotFound):  # a card of another workspace is no neighbour
        move(store, "WEB-2", column="Todo", before="OPS-1")


@pytest.mark.parametrize(("key", "where", "expected"), [
    ("WEB-3", {"before": "WEB-1"}, ["WEB-3", "WEB-1", "WEB-2"]),
    ("WEB-3", {"before": "WEB-2"}, ["WEB-1", "WEB-3", "WEB-2"]),
    ("WEB-1", {"after": "WEB-2"}, ["WEB-2", "WEB-1", "WEB-3"]),
    ("WEB-1", {"after": "WEB-3"}, ["WEB-2", "WEB-3", "WEB-1"]),
    ("WEB-2", {"position": "top"}, ["WEB-2", "WEB-1", "WEB-3"]),
    ("WEB-2", {"position": "bottom"}, ["WEB-1", "WEB-3", "WEB-2"]),
])
def test_an_applied_move_shows_the_new_order(store, key, where, expected):
    applied(store, lambda tx: card_move(tx, cached(store, key), CardMove(column="Todo", **where)))
    assert keys_in(store, TODO) == expected


def test_successive_moves_keep_a_consistent_order(store):
    for key, where in (("WEB-3", {"before": "WEB-1"}), ("WEB-2", {"after": "WEB-3"}),
                       ("WEB-1", {"before": "WEB-2"}), ("WEB-3", {"column": "Doing"}),
                       ("WEB-1", {"column": "Doing", "before": "WEB-3"})):
        target = {"column": "Todo", **where}
        applied(store, lambda tx, key=key, target=target: card_move(tx, cached(store, key),
                                                                     CardMove(**target)))
    assert keys_in(store, TODO) == ["WEB-2"]
    assert keys_in(store, DOING) == ["WEB-1", "WEB-3"]


# --- delete, restore, comment -----------------------------------------------------------------------


def test_delete_and_restore_ops(store):
    web2 = cached(store, "WEB-2")
    deleted, restored = card_delete(web2), card_restore(web2)
    assert (deleted.operation, deleted.method, deleted.path, deleted.payload, deleted.body()) == (
        "card.delete", "DELETE", f"/cards/{web2['id']}", None, None)
    assert (restored.operation, restored.method, restored.path, restored.payload) == (
        "card.restore", "POST", f"/cards/{web2['id']}/restore", None)
    assert deleted.workspace_id == restored.workspace_id == WS
    assert deleted.entity_id == restored.entity_id == web2["id"]


def test_an_applied_delete_hides_the_card_until_restored(store):
    web2 = cached(store, "WEB-2")
    applied(store, lambda tx: card_delete(web2))
    assert keys_in(store, TODO) == ["WEB-1", "WEB-3"]
    with store.transaction() as tx:
        assert [card_id for card_id, _ in tx.column_ranks(TODO)] == [cached(store, "WEB-1")["id"],
                                                                     cached(store, "WEB-3")["id"]]
    applied(store, lambda tx: card_restore(web2))
    assert keys_in(store, TODO) == ["WEB-1", "WEB-2", "WEB-3"]


def test_comment_add_builds_a_provisional_comment(store):
    web1 = cached(store, "WEB-1")
    op = comment_add(web1, CommentCreate(body="first!"), "alice")
    comment = op.local["comment"]
    assert (op.operation, op.entity_type, op.entity_id, op.method, op.path) == (
        "comment.add", "comment", comment["id"], "POST", f"/cards/{web1['id']}/comments")
    assert op.payload == {"id": comment["id"], "body": "first!"} and op.base_version is None
    assert (comment["card_id"], comment["author"], comment["body"], comment["version"]) == (
        web1["id"], "alice", "first!", 0)
    assert comment["edited"] is comment["deleted"] is False
    assert comment["created_at"] == comment["updated_at"] == op.created_at


def test_comment_add_keeps_a_chosen_id_and_is_cached(store):
    web1 = cached(store, "WEB-1")
    chosen = uuid.uuid4()
    op = applied(store, lambda tx: comment_add(web1, CommentCreate(id=chosen, body="hi"), None))
    assert op.entity_id == str(chosen)
    assert [(str(c.id), c.body) for c in store.comments(web1["id"])] == [(str(chosen), "hi")]


# --- _rank_between ----------------------------------------------------------------------------------


def test_rank_between_uses_fractional_indexing_keys():
    assert _rank_between(None, None) == "a0"
    assert _rank_between("a0", None) == "a1"
    assert _rank_between("a1", "a2") == generate_key_between("a1", "a2")
    assert _rank_between(None, "a0") == generate_key_between(None, "a0") < "a0"


@pytest.mark.parametrize(("before", "after"), [("a1", "a2"), ("a1", "a1V"), ("Zz", "a0"), ("a0", "b00"),
                                               ("a1", None), (None, "a1")])
def test_rank_between_sorts_strictly_between(before, after):
    rank = _rank_between(before, after)
    assert before is None or before < rank
    assert after is None or rank < after


def test_rank_between_foreign_ranks_falls_back():
    # ranks this library did not generate ("a10" has a trailing zero): still after `before`
    assert _rank_between("a10", None) == "a10V"
    assert "a10" < _rank_between("a10", "b") < "b"
    # inverted bounds: the lower bound itself, until the server answers
    assert _rank_between("a2", "a1") == "a2"


# --- bulk writes ------------------------------------------------------------------------------------


def test_a_bulk_write_is_one_outbox_entry_for_every_card(store):
    from taskly.sync.writes import card_bulk

    web1, web2, web3 = (cached(store, f"WEB-{n}") for n in (1, 2, 3))
    op = applied(store, lambda tx: card_bulk(tx, [(web1, {"column": "doing", "priority": "high"}),
                                                  (web2, {"column": DOING}), (web3, {"deleted": True})]))
    assert (op.operation, op.method, op.path, op.entity_id) == ("card.bulk", "POST", "/cards/bulk-update",
                                                               op.mutation_id)
    assert op.body() == {"cards": [
        {"card": web1["id"], "column": DOING, "priority": "high", "base_version": 1},
        {"card": web2["id"], "column": DOING, "base_version": 1},
        {"card": web3["id"], "deleted": True, "base_version": 1}]}
    assert op.entity_ids() == [web1["id"], web2["id"], web3["id"]]
    # applied locally at once: both moved to Doing's bottom in the order given, WEB-3 deleted
    assert keys_in(store, DOING) == ["WEB-1", "WEB-2"] and keys_in(store, TODO) == []
    assert cached(store, "WEB-1")["priority"] == "high" and cached(store, "WEB-3")["deleted_at"]
    assert store.outbox.count() == 1
    assert {entity_id for _, entity_id in store.outbox.pending_entities(WS)} == set(op.entity_ids())
    assert all(store.outbox.has_pending(card_id) for card_id in op.entity_ids())
    assert [e.mutation_id for e in store.outbox.pending_for(web2["id"])] == [op.mutation_id]
    assert not store.outbox.has_pending(cached(store, "OPS-1")["id"])


def test_a_refused_bulk_write_is_undone_on_every_card(store):
    from taskly.sync.writes import card_bulk

    web1, web2 = cached(store, "WEB-1"), cached(store, "WEB-2")
    applied(store, lambda tx: card_update(tx, web1, CardPatch(title="mine")))  # a single write stays
    op = applied(store, lambda tx: card_bulk(tx, [(cached(store, "WEB-1"), {"priority": "urgent"}),
                                                  (web2, {"column": "Done"})]))
    entry = store.outbox.get(op.mutation_id)
    with store.transaction() as tx:
        tx.reject(entry, "card WEB-9: card not found", "not_found")
    assert keys_in(store, TODO) == ["WEB-1", "WEB-2", "WEB-3"]
    assert cached(store, "WEB-1").get("priority") != "urgent" and cached(store, "WEB-1")["title"] == "mine"
    assert [e.operation for e in store.outbox.pending_for(web1["id"])] == ["card.update"]


def test_a_confirmed_bulk_write_takes_the_servers_cards(store):
    from taskly.sync.writes import card_bulk

    web1, web2 = cached(store, "WEB-1"), cached(store, "WEB-2")
    op = applied(store, lambda tx: card_bulk(tx, [(web1, {"labels": ["x"]}), (web2, {"labels": ["x"]})]))
    answer = [{**web1, "labels": ["x"], "version": 2}, {**web2, "labels": ["x"], "version": 2}]
    with store.transaction() as tx:
        tx.confirm(store.outbox.get(op.mutation_id), answer)
    assert store.outbox.count() == 0
    assert [cached(store, k)["version"] for k in ("WEB-1", "WEB-2")] == [2, 2]
    assert not store.outbox.has_pending(web1["id"])
