"""The cache's op appliers: pure `(state, op) -> state` functions on wire-JSON dicts."""

from __future__ import annotations

import copy

import pytest
from taskly.store.ops import APPLIERS, CARD_FIELDS, Op, OutboxEntry, apply

WS = "11111111-1111-1111-1111-111111111111"
CARD_ID = "22222222-2222-2222-2222-222222222222"
TODO, DOING = "c0000000-0000-0000-0000-000000000001", "c0000000-0000-0000-0000-000000000002"
AT = "2031-03-14T12:00:00+00:00"


def card_state(**fields) -> dict:
    return {"id": CARD_ID, "key": "WEB-1", "number": 1, "board_id": "b1", "workspace_id": WS,
            "title": "old title", "description": "", "column": "Todo", "column_id": TODO,
            "column_kind": "todo", "rank": "a1", "labels": ["bug"], "priority": "none",
            "assignees": [], "version": 3, "created_at": "2031-03-01T00:00:00+00:00",
            "updated_at": "2031-03-01T00:00:00+00:00", "deleted_at": None, **fields}


def op(operation: str, *, payload: dict | None = None, local: dict | None = None,
       base_version: int | None = None, entity_type: str = "card") -> Op:
    return Op(operation, WS, entity_type, CARD_ID, "POST", f"/cards/{CARD_ID}", payload, base_version,
              local or {}, created_at=AT)


def test_every_card_and_comment_write_has_an_applier():
    assert {"card.create", "card.update", "card.move", "card.delete", "card.restore",
            "comment.add"} <= set(APPLIERS)


def test_an_unknown_operation_has_no_applier():
    with pytest.raises(KeyError):
        apply(card_state(), op("card.explode"))


# --- Op ---------------------------------------------------------------------------------------------


def test_body_adds_base_version_to_a_copy_of_the_payload():
    write = op("card.update", payload={"title": "x"}, base_version=0)
    body = write.body()
    assert body == {"title": "x", "base_version": 0}
    body["title"] = "changed"
    assert write.payload == {"title": "x"}


def test_body_without_base_version_is_a_copy_of_the_payload():
    write = op("card.create", payload={"id": CARD_ID, "title": "x"})
    body = write.body()
    assert body == {"id": CARD_ID, "title": "x"} and body is not write.payload


def test_body_without_payload_is_none_even_with_a_base_version():
    assert op("card.delete").body() is None
    assert op("card.delete", base_version=4).body() is None


def test_fields_leave_out_ids_versions_and_placement():
    write = op("card.move", payload={"id": CARD_ID, "base_version": 1, "before": "x", "after": "y",
                                     "position": "top", "column": TODO, "title": "t", "due": None})
    assert write.fields() == {"column": TODO, "title": "t", "due": None}
    assert op("card.delete").fields() == {}


def test_ops_get_fresh_mutation_ids_and_a_creation_time():
    first, second = Op("card.delete", WS, "card", CARD_ID, "DELETE", "/x"), Op(
        "card.delete", WS, "card", CARD_ID, "DELETE", "/x")
    assert first.mutation_id != second.mutation_id and len(first.mutation_id) == 36
    assert first.created_at.endswith("+00:00")
    assert first.local == {} and first.local is not second.local


def test_an_outbox_entry_is_an_op_with_a_delivery_state():
    entry = OutboxEntry("card.delete", WS, "card", CARD_ID, "DELETE", "/x")
    assert (entry.state, entry.attempts, entry.last_error) == ("pending", 0, None)
    assert apply(card_state(), entry)["deleted_at"] == entry.created_at


# --- card.create ------------------------------------------------------------------------------------


def test_create_on_unknown_state_is_a_copy_of_the_provisional_card():
    provisional = card_state(key="", number=0, version=0)
    write = op("card.create", local={"card": provisional})
    created = apply(None, write)
    assert created == provisional and created is not provisional


def test_create_keeps_the_servers_copy_once_it_is_known():
    server_copy = card_state(title="from server", version=1)
    assert apply(server_copy, op("card.create", local={"card": card_state(title="mine")})) is server_copy


# --- card.update ------------------------------------------------------------------------------------


def test_update_sets_the_card_fields_of_the_payload_and_touches_updated_at():
    state = card_state()
    write = op("card.update", payload={"title": "new", "labels": [], "due": "2031-04-01", "points": None,
                                       "branch": "web-1-x", "sprint_id": "s1"}, base_version=3)
    after = apply(state, write)
    assert after["title"] == "new" and after["labels"] == [] and after["due"] == "2031-04-01"
    assert after["points"] is None and after["branch"] == "web-1-x" and after["sprint_id"] == "s1"
    assert after["updated_at"] == AT
    assert (after["column_id"], after["rank"], after["version"]) == (TODO, "a1", 3)


def test_update_ignores_payload_keys_that_are_not_card_fields():
    after = apply(card_state(), op("card.update", payload={"column": DOING, "version": 99, "key": "X-1",
                                                           "id": "other", "deleted_at": AT}))
    assert (after["column_id"], after["version"], after["key"], after["id"], after["deleted_at"]) == (
        TODO, 3, "WEB-1", CARD_ID, None)


def test_update_places_the_card_where_local_says():
    after = apply(card_state(), op("card.update", payload={"column": DOING},
                                   local={"column_id": DOING, "rank": "a5"}))
    assert (after["column_id"], after["rank"]) == (DOING, "a5")


def test_update_ignores_empty_placement():
    after = apply(card_state(), op("card.update", payload={}, local={"column_id": "", "rank": None}))
    assert (after["column_id"], after["rank"]) == (TODO, "a1")


def test_update_without_payload_only_touches_updated_at():
    state = card_state()
    assert apply(state, op("card.update")) == {**state, "updated_at": AT}


def test_update_of_a_gone_card_stays_gone():
    assert apply(None, op("card.update", payload={"title": "x"})) is None


def test_every_card_field_is_applied():
    payload = {name: f"value of {name}" for name in CARD_FIELDS}
    after = apply(card_state(), op("card.update", payload=payload))
    assert {name: after[name] for name in CARD_FIELDS} == payload


def test_appliers_do_not_change_the_state_they_are_given():
    state = card_state()
    before = copy.deepcopy(state)
    for write in (op("card.update", payload={"title": "x", "labels": ["a"]}, local={"column_id": DOING,
                                                                                    "rank": "b"}),
                  op("card.move", local={"column_id": DOING, "rank": "b"}),
                  op("card.delete"), op("card.restore")):
        apply(state, write)
    assert state == before


# --- card.move --------------------------------------------------------------------------------------


def test_move_sets_column_and_rank_only():
    after = apply(card_state(), op("card.move", payload={"column": DOING, "title": "ignored"},
                                   local={"column_id": DOING, "rank": "a0V"}))
    assert (after["column_id"], after["rank"], after["title"], after["updated_at"]) == (
        DOING, "a0V", "old title", AT)


def test_move_of_a_gone_card_stays_gone():
    assert apply(None, op("card.move", local={"column_id": DOING, "rank": "a0"})) is None


# --- card.delete and card.restore -------------------------------------------------------------------


def test_delete_marks_the_card_deleted_now():
    after = apply(card_state(), op("card.delete"))
    assert after["deleted_at"] == AT and after["updated_at"] == AT and after["title"] == "old title"


def test_delete_keeps_an_earlier_deletion_time():
    after = apply(card_state(deleted_at="2031-01-01T00:00:00+00:00"), op("card.delete"))
    assert after["deleted_at"] == "2031-01-01T00:00:00+00:00" and after["updated_at"] == AT


def test_restore_clears_the_deletion():
    after = apply(card_state(deleted_at="2031-01-01T00:00:00+00:00"), op("card.restore"))
    assert after["deleted_at"] is None and after["updated_at"] == AT


def test_delete_then_restore_gives_back_a_live_card():
    state = apply(apply(card_state(), op("card.delete")), op("card.restore"))
    assert state["deleted_at"] is None and state["title"] == "old title"


def test_delete_and_restore_of_a_gone_card_stay_gone():
    assert apply(None, op("card.delete")) is None
    assert apply(None, op("card.restore")) is None


# --- comment.add ------------------------------------------------------------------------------------


def test_comment_add_creates_the_provisional_comment():
    comment = {"id": "c1", "card_id": CARD_ID, "body": "hi", "version": 0}
    created = apply(None, op("comment.add", entity_type="comment", local={"comment": comment}))
    assert created == comment and created is not comment


def test_comment_add_keeps_the_servers_copy():
    server_copy = {"id": "c1", "card_id": CARD_ID, "body": "hi", "version": 1}
    write = op("comment.add", entity_type="comment", local={"comment": {"id": "c1", "body": "mine"}})
    assert apply(server_copy, write) is server_copy


def test_pending_writes_replay_in_order():
    state = card_state()
    for write in (op("card.update", payload={"title": "one"}),
                  op("card.move", local={"column_id": DOING, "rank": "a9"}),
                  op("card.update", payload={"title": "two"}),
                  op("card.delete")):
        state = apply(state, write)
    assert (state["title"], state["column_id"], state["rank"], state["deleted_at"]) == (
        "two", DOING, "a9", AT)
