"""Cards, moves, bulk edits, comments and activity against a real server process and Postgres."""

from __future__ import annotations

import itertools
import uuid

import pytest

from tests.support.checks import join, problem, sql

# --- helpers (also used by test_card_concurrency) ---------------------------------------------


def card_changes(database_url: str, card_id: str) -> list[tuple]:
    """(seq, op, version, changes, conflicts, data) of a card's Change rows, oldest first."""
    return sql(database_url, "select seq, op, version, changes, conflicts, data from changes "
               "where entity_type = 'card' and entity_id = %s order by seq", card_id)


def setup_board(api, key: str = "WEB") -> tuple[dict, dict]:
    workspace = api.workspace(f"ws-{uuid.uuid4().hex[:6]}")
    return workspace, api.board(workspace["id"], key, key.title())


def add(api, board: dict, title: str, **fields) -> dict:
    response = api.post(f"/boards/{board['id']}/cards", json={"title": title, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def column_titles(api, board: dict, column: str) -> list[str]:
    """The titles of a column's live cards in board order, checking ranks strictly increase."""
    cards = [c for c in api.ok("GET", f"/boards/{board['id']}/cards") if c["column"] == column]
    ranks = [c["rank"] for c in cards]
    assert all(a < b for a, b in itertools.pairwise(ranks)), ranks
    return [c["title"] for c in cards]


# --- create and read -------------------------------------------------------------------------


def test_create_defaults_and_read_by_key_and_id(api, database_url):
    workspace, board = setup_board(api)
    assert board["columns"][0]["name"] == "Backlog"
    card = add(api, board, "  Fix login redirect  ")
    assert card["key"] == "WEB-1" and card["number"] == 1 and card["title"] == "Fix login redirect"
    assert card["column"] == "Backlog" and card["column_kind"] == "backlog"
    assert card["version"] == 1 and card["created_by"] == api.username
    assert card["deleted_at"] is None
    assert card["workspace_id"] == workspace["id"] and card["priority"] == "none"
    assert card["labels"] == [] and card["assignees"] == [] and card["conflicts"] == []

    assert api.ok("GET", "/cards/web-1") == card
    assert api.ok("GET", f"/cards/{card['id']}") == card
    problem(api.get("/cards/WEB-2"), 404, "not_found")
    problem(api.get("/cards/not-a-card!"), 404, "not_found")
    problem(api.get(f"/cards/{uuid.uuid4()}"), 404, "not_found")

    [(_, op, version, changes, conflicts, data)] = card_changes(database_url, card["id"])
    assert (op, version, conflicts) == ("create", 1, [])
    assert changes["title"] == {"old": None, "new": "Fix login redirect"}
    assert changes["column"] == {"old": None, "new": "Backlog"}
    assert changes["key"] == {"old": None, "new": "WEB-1"}
    assert all(change["old"] is None for change in changes.values())
    assert data == card


def test_create_with_fields_columns_assignees_and_client_id(make_api, database_url):
    alice, bob, carol = make_api(), make_api(), make_api()
    workspace, board = setup_board(alice, "API")
    join(alice, bob, workspace["id"])
    done = next(c for c in board["columns"] if c["name"] == "Done")
    client_id = str(uuid.uuid4())
    card = add(alice, board, "Ship it", id=client_id, column="in progress",
               labels=["ui", "ui", "bug"], priority="high", points=3, due="2030-01-31",
               remind_at="2030-01-30T09:00:00",
               assignees=[bob.username.upper(), alice.username], description="**md**")
    assert card["id"] == client_id and card["column"] == "In Progress"
    assert card["labels"] == ["ui", "bug"] and card["priority"] == "high" and card["points"] == 3
    assert card["due"] == "2030-01-31" and card["remind_at"].startswith("2030-01-30T09:00:00")
    assert card["assignees"] == [bob.username, alice.username] and card["description"] == "**md**"
    assert add(alice, board, "By id", column=done["id"])["column"] == "Done"
    assert add(bob, board, "Second")["number"] == 3

    stored = sql(database_url, "select assignee_ids, created_by from cards where id = %s",
                 client_id)
    assert [str(u) for u in stored[0][0]] == [bob.user["id"], alice.user["id"]]
    assert str(stored[0][1]) == alice.user["id"]

    body = problem(alice.post(f"/boards/{board['id']}/cards",
                              json={"title": "x", "column": "Nope"}), 422, "validation_error")
    assert "Backlog" in body["detail"] and "In Review" in body["detail"]
    body = problem(alice.post(f"/boards/{board['id']}/cards",
                              json={"title": "x", "assignees": [carol.username]}), 422)
    assert carol.username in body["detail"]
    problem(alice.post(f"/boards/{board['id']}/cards", json={"title": "dup", "id": client_id}),
            409, "duplicate")
    problem(carol.post(f"/boards/{board['id']}/cards", json={"title": "x"}), 404, "not_found")
    problem(carol.get(f"/boards/{board['id']}/cards"), 404, "not_found")
    # failed creations took no number
    assert add(alice, board, "Fourth")["number"] == 4


def test_access_viewer_reads_member_writes_outsider_sees_nothing(make_api):
    owner, viewer, outsider = make_api(), make_api(), make_api()
    workspace, board = setup_board(owner)
    join(owner, viewer, workspace["id"], "viewer")
    card = add(owner, board, "Secret")
    assert viewer.ok("GET", "/cards/WEB-1")["id"] == card["id"]
    assert [c["id"] for c in viewer.ok("GET", f"/boards/{board['id']}/cards")] == [card["id"]]
    problem(viewer.patch("/cards/WEB-1", json={"title": "x"}), 403, "forbidden")
    problem(viewer.post(f"/boards/{board['id']}/cards", json={"title": "x"}), 403, "forbidden")
    problem(viewer.post("/cards/WEB-1/comments", json={"body": "hi"}), 403, "forbidden")
    for path in ("/cards/WEB-1", f"/cards/{card['id']}", f"/cards/{card['id']}/activity",
                 f"/cards/{card['id']}/comments"):
        problem(outsider.get(path), 404, "not_found")
    problem(outsider.patch(f"/cards/{card['id']}", json={"title": "x"}), 404, "not_found")
    problem(outsider.delete(f"/cards/{card['id']}"), 404, "not_found")
    problem(outsider.post(f"/cards/{card['id']}/move", json={"column": "Done"}), 404, "not_found")
    assert owner.ok("GET", "/cards/WEB-1")["title"] == "Secret"


def test_ambiguous_key_across_workspaces(make_api):
    alice, bob = make_api(), make_api()
    first, board_a = setup_board(alice, "OPS")
    second, board_b = setup_board(bob, "OPS")
    card_a, card_b = add(alice, board_a, "A"), add(bob, board_b, "B")
    assert alice.ok("GET", "/cards/OPS-1")["id"] == card_a["id"]
    join(bob, alice, second["id"])
    body = problem(alice.get("/cards/ops-1"), 409, "ambiguous_key")
    candidates = {(c["id"], c["workspace_id"], c["board_id"], c["key"]) for c in body["candidates"]}
    assert len(body["candidates"]) == 2 and candidates == {
        (card_a["id"], first["id"], board_a["id"], "OPS-1"),
        (card_b["id"], second["id"], board_b["id"], "OPS-1"),
    }
    problem(alice.patch("/cards/OPS-1", json={"title": "x"}), 409, "ambiguous_key")
    assert alice.ok("GET", f"/cards/{card_b['id']}")["title"] == "B"
    assert bob.ok("GET", "/cards/OPS-1")["id"] == card_b["id"]  # bob is in one of them only


# --- patch -----------------------------------------------------------------------------------


def test_patch_changes_only_named_fields_and_records_wire_values(make_api, database_url):
    alice, bob = make_api(), make_api()
    workspace, board = setup_board(alice)
    join(alice, bob, workspace["id"])
    card = add(alice, board, "Title", description="desc", points=5, labels=["a"], due="2031-02-03",
               assignees=[bob.username])

    patched = alice.ok("PATCH", "/cards/WEB-1", json={"title": "New title"})
    assert patched["title"] == "New title" and patched["version"] == 2
    assert (patched["description"], patched["points"], patched["labels"]) == ("desc", 5, ["a"])
    assert patched["updated_at"] > card["updated_at"]

    cleared = alice.ok("PATCH", f"/cards/{card['id']}", json={
        "description": None, "points": None, "due": None, "labels": None, "assignees": None,
        "priority": "urgent"})
    assert cleared["version"] == 3 and cleared["title"] == "New title"
    assert (cleared["description"], cleared["points"], cleared["due"]) == ("", None, None)
    assert (cleared["labels"], cleared["assignees"], cleared["priority"]) == ([], [], "urgent")

    rows = card_changes(database_url, card["id"])
    assert [(op, version) for _, op, version, *_ in rows] == [
        ("create", 1), ("update", 2), ("update", 3)]
    assert rows[1][3] == {"title": {"old": "Title", "new": "New title"}}
    assert rows[2][3] == {
        "description": {"old": "desc", "new": ""}, "points": {"old": 5, "new": None},
        "due": {"old": "2031-02-03", "new": None}, "labels": {"old": ["a"], "new": []},
        "assignees": {"old": [bob.username], "new": []},
        "priority": {"old": "none", "new": "urgent"},
    }
    assert rows[2][5]["version"] == 3 and rows[2][5]["priority"] == "urgent"

    # a no-op write: same answer, no version bump, no Change row
    same = alice.ok("PATCH", "/cards/WEB-1", json={"title": "New title", "points": None})
    assert same["version"] == 3 and same == {**cleared, "conflicts": []}
    assert alice.ok("PATCH", "/cards/WEB-1", json={})["version"] == 3
    assert len(card_changes(database_url, card["id"])) == 3

    problem(alice.patch("/cards/WEB-1", json={"title": None}), 422)
    problem(alice.patch("/cards/WEB-1", json={"column": None}), 422)
    problem(alice.patch("/cards/WEB-1", json={"assignees": ["nobody-here"]}), 422)
    problem(alice.patch("/cards/WEB-1", json={"sprint_id": str(uuid.uuid4())}), 422)
    problem(alice.patch("/cards/WEB-1", json={"title": "x"}, headers={"If-Match": "abc"}), 422)
    assert alice.ok("GET", "/cards/WEB-1")["version"] == 3


def test_patch_column_moves_to_bottom_and_if_match_reports_conflicts(api, database_url):
    _, board = setup_board(api)
    first = add(api, board, "one", column="Todo")
    add(api, board, "two", column="Todo")
    card = add(api, board, "three")
    moved = api.ok("PATCH", "/cards/WEB-3", json={"column": "todo"})
    assert moved["column"] == "Todo" and moved["version"] == 2
    assert column_titles(api, board, "Todo") == ["one", "two", "three"]
    op, changes = card_changes(database_url, card["id"])[-1][1:4:2]
    assert op == "move" and set(changes) == {"column", "column_id", "rank"}
    assert changes["column"] == {"old": "Backlog", "new": "Todo"}
    # patching to the column it is in already changes nothing
    assert api.ok("PATCH", f"/cards/{first['id']}", json={"column": "TODO"})["version"] == 1

    api.ok("PATCH", "/cards/WEB-1", json={"title": "uno"})
    stale = api.ok("PATCH", "/cards/WEB-1", json={"title": "one!"}, headers={"If-Match": '"1"'})
    assert stale["conflicts"] == [{"field": "title", "overwritten": "uno", "value": "one!"}]
    fresh = api.ok("PATCH", "/cards/WEB-1", json={"title": "one!!"}, headers={"If-Match": "3"})
    assert fresh["conflicts"] == [] and fresh["title"] == "one!!"


# --- move ------------------------------------------------------------------------------------


def test_move_before_after_top_bottom(api, database_url):
    _, board = setup_board(api)
    for title in ("a", "b", "c"):
        add(api, board, title, column="Todo")
    mover = add(api, board, "m")
    other = add(api, board, "elsewhere", column="Done")

    def move(body, ref="WEB-4"):
        return api.ok("POST", f"/cards/{ref}/move", json=body)

    assert move({"column": "Todo", "before": "WEB-2"})["column"] == "Todo"
    assert column_titles(api, board, "Todo") == ["a", "m", "b", "c"]
    move({"column": "Todo", "after": "WEB-3"})
    assert column_titles(api, board, "Todo") == ["a", "b", "c", "m"]
    move({"column": "Todo", "position": "top"})
    assert column_titles(api, board, "Todo") == ["m", "a", "b", "c"]
    move({"column": "todo"})
    assert column_titles(api, board, "Todo") == ["a", "b", "c", "m"]
    move({"column": "Todo", "after": "WEB-1"})
    move({"column": "Todo", "before": "WEB-2"})  # already there: nothing changes
    move({"column": "Todo", "after": "2"}, ref="WEB-1")  # a bare number names a card of the board
    assert column_titles(api, board, "Todo") == ["m", "b", "a", "c"]
    move({"column": "Todo", "before": "WEB-3"}, ref="WEB-1")
    move({"column": "Todo", "position": "top"}, ref="WEB-2")
    assert column_titles(api, board, "Todo") == ["b", "m", "a", "c"]

    rows = card_changes(database_url, mover["id"])
    assert [op for _, op, *_ in rows] == ["create", "move", "move", "move", "move", "move"]
    assert [version for _, _, version, *_ in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[1][3]["column"] == {"old": "Backlog", "new": "Todo"}
    assert set(rows[2][3]) == {"rank"}

    for body, status in [
        ({"column": "Todo", "before": "WEB-5"}, 422),  # anchor in another column
        ({"column": "Todo", "before": "WEB-4"}, 422),  # itself
        ({"column": "Todo", "before": "WEB-99"}, 422),
        ({"column": "Todo", "before": "WEB-1", "position": "top"}, 422),
        ({"column": "Nowhere"}, 422),
        ({"column": other["column_id"], "position": "middle"}, 400),
    ]:
        problem(api.post("/cards/WEB-4/move", json=body), status)
    other_board = api.board(board["workspace_id"], "API", "Api")
    problem(api.post("/cards/WEB-4/move", json={"column": other_board["columns"][0]["id"]}), 422)
    assert len(card_changes(database_url, mover["id"])) == 6

    move({"column": other["column_id"], "before": other["id"]})
    assert column_titles(api, board, "Done") == ["m", "elsewhere"]


def test_move_with_base_version_reports_column_conflict(make_api):
    alice, bob = make_api(), make_api()
    workspace, board = setup_board(alice)
    join(alice, bob, workspace["id"])
    add(alice, board, "card")
    alice.ok("POST", "/cards/WEB-1/move", json={"column": "In Review"})
    answer = bob.ok("POST", "/cards/WEB-1/move", json={"column": "Done", "base_version": 1})
    fields = {c["field"]: c for c in answer["conflicts"]}
    assert fields["column"]["overwritten"] == "In Review" and fields["column"]["value"] == "Done"
    assert answer["column"] == "Done" and answer["version"] == 3


# --- delete and restore ----------------------------------------------------------------------


def test_delete_and_restore(api, database_url):
    _, board = setup_board(api)
    card = add(api, board, "doomed")
    add(api, board, "stays")
    deleted = api.ok("DELETE", "/cards/WEB-1")
    assert deleted["deleted_at"] is not None and deleted["version"] == 2
    assert [c["title"] for c in api.ok("GET", f"/boards/{board['id']}/cards")] == ["stays"]
    listed = api.ok("GET", f"/boards/{board['id']}/cards", params={"include_deleted": "true"})
    assert [c["title"] for c in listed] == ["doomed", "stays"]
    assert api.ok("GET", "/cards/WEB-1")["deleted_at"] == deleted["deleted_at"]
    assert api.ok("DELETE", f"/cards/{card['id']}") == deleted  # twice is fine and changes nothing
    restored = api.ok("POST", "/cards/web-1/restore")
    assert restored["deleted_at"] is None and restored["version"] == 3
    assert column_titles(api, board, "Backlog") == ["doomed", "stays"]
    rows = card_changes(database_url, card["id"])
    assert [(op, version) for _, op, version, *_ in rows] == [
        ("create", 1), ("delete", 2), ("restore", 3)]
    assert rows[1][3]["deleted_at"]["old"] is None and rows[1][3]["deleted_at"]["new"]


# --- bulk update -----------------------------------------------------------------------------


def test_bulk_update_is_all_or_nothing(make_api, database_url):
    alice, bob = make_api(), make_api()
    workspace, board = setup_board(alice)
    other_ws, other_board = setup_board(bob, "OPS")
    join(bob, alice, other_ws["id"])
    for title in ("one", "two", "three"):
        add(alice, board, title)
    foreign = add(bob, other_board, "ops card")
    before = alice.ok("GET", f"/boards/{board['id']}/cards")

    failing = [
        [{"card": "WEB-1", "priority": "high"}, {"card": "WEB-9", "priority": "high"}],
        [{"card": "WEB-1", "priority": "high"}, {"card": "WEB-2", "column": "Nope"}],
        [{"card": "WEB-1", "priority": "high"}, {"card": "WEB-3", "assignees": ["ghost-user"]}],
        [{"card": "WEB-1", "title": "x"}, {"card": before[0]["id"], "title": "y"}],
    ]
    for cards in failing:
        response = alice.post("/cards/bulk-update", json={"cards": cards})
        assert 400 <= response.status_code < 500, response.text
        assert cards[-1]["card"] in response.json()["detail"]
        assert response.json()["card"] == cards[-1]["card"]
    assert alice.ok("GET", f"/boards/{board['id']}/cards") == before

    result = alice.ok("POST", "/cards/bulk-update", json={"cards": [
        {"card": "WEB-3", "priority": "high", "labels": ["x"]},
        {"card": before[0]["id"], "column": "Done"},
        {"card": "OPS-1", "points": 8},
    ]})
    assert [c["key"] for c in result] == ["WEB-3", "WEB-1", "OPS-1"]
    assert (result[0]["priority"], result[1]["column"], result[2]["points"]) == ("high", "Done", 8)
    assert alice.ok("GET", "/cards/WEB-2")["version"] == 1
    assert [op for _, op, *_ in card_changes(database_url, foreign["id"])] == ["create", "update"]

    join(alice, bob, workspace["id"], "viewer")
    response = bob.post("/cards/bulk-update", json={"cards": [{"card": "OPS-1", "points": 1},
                                                               {"card": "WEB-2", "points": 1}]})
    problem(response, 403, "forbidden")
    assert bob.ok("GET", "/cards/OPS-1")["points"] == 8
    problem(alice.post("/cards/bulk-update", json={"cards": []}), 400)

    # `deleted`: soft delete and restore, each recorded as that op's Change; all or nothing too
    failing = alice.post("/cards/bulk-update", json={"cards": [{"card": "WEB-2", "deleted": True},
                                                                {"card": "WEB-9", "deleted": True}]})
    problem(failing, 404)
    assert alice.ok("GET", "/cards/WEB-2")["deleted_at"] is None
    gone = alice.ok("POST", "/cards/bulk-update", json={"cards": [{"card": "WEB-2", "deleted": True},
                                                                   {"card": "WEB-3", "deleted": True}]})
    assert all(c["deleted_at"] for c in gone)
    assert [c["key"] for c in alice.ok("GET", f"/boards/{board['id']}/cards")] == ["WEB-1"]
    back = alice.ok("POST", "/cards/bulk-update", json={"cards": [{"card": "WEB-2", "deleted": False}]})
    assert back[0]["deleted_at"] is None
    ops = [op for _, op, *_ in card_changes(database_url, gone[0]["id"])]
    assert ops[-2:] == ["delete", "restore"]


# --- comments and activity -------------------------------------------------------------------


def test_comments(make_api, database_url):
    owner, member, other = make_api(), make_api(), make_api()
    workspace, board = setup_board(owner)
    join(owner, member, workspace["id"])
    join(owner, other, workspace["id"])
    add(owner, board, "discuss")
    client_id = str(uuid.uuid4())
    created = member.post("/cards/WEB-1/comments", json={"body": "first", "id": client_id})
    assert created.status_code == 201, created.text
    first = created.json()
    assert first["id"] == client_id and first["author"] == member.username and not first["edited"]
    second = owner.ok("POST", "/cards/WEB-1/comments", json={"body": "second"})
    problem(member.post("/cards/WEB-1/comments", json={"body": "again", "id": client_id}),
            409, "duplicate")
    problem(member.post("/cards/WEB-1/comments", json={"body": ""}), 400)
    assert [c["body"] for c in other.ok("GET", "/cards/web-1/comments")] == ["first", "second"]

    problem(other.patch(f"/comments/{first['id']}", json={"body": "hijack"}), 403, "forbidden")
    edited = member.ok("PATCH", f"/comments/{first['id']}", json={"body": "first, edited"})
    assert edited["edited"] and edited["version"] == 2 and edited["body"] == "first, edited"

    problem(other.delete(f"/comments/{first['id']}"), 403, "forbidden")
    gone = owner.ok("DELETE", f"/comments/{first['id']}")  # the owner is admin+
    assert gone["deleted"] and gone["body"] == ""
    assert owner.ok("DELETE", f"/comments/{first['id']}")["deleted"]
    problem(member.patch(f"/comments/{first['id']}", json={"body": "zombie"}), 404, "not_found")
    assert owner.ok("DELETE", f"/comments/{second['id']}")["deleted"]
    assert other.ok("GET", "/cards/WEB-1/comments") == []
    problem(make_api().patch(f"/comments/{second['id']}", json={"body": "x"}), 404, "not_found")
    problem(owner.patch(f"/comments/{uuid.uuid4()}", json={"body": "x"}), 404, "not_found")

    rows = sql(database_url, "select op, version, changes from changes "
               "where entity_type = 'comment' and entity_id = %s order by seq", client_id)
    assert [(op, version) for op, version, _ in rows] == [
        ("create", 1), ("update", 2), ("delete", 3)]
    assert rows[1][2] == {"body": {"old": "first", "new": "first, edited"}}


def test_activity_lists_card_and_comment_changes_newest_first(make_api):
    alice, bob = make_api(), make_api()
    workspace, board = setup_board(alice)
    join(alice, bob, workspace["id"], "viewer")
    card = add(alice, board, "watched")
    add(alice, board, "unrelated")
    alice.ok("PATCH", "/cards/WEB-1", json={"points": 2}, headers={"Idempotency-Key": "m-1"})
    comment = alice.ok("POST", "/cards/WEB-1/comments", json={"body": "note"})
    alice.ok("POST", "/cards/WEB-1/move", json={"column": "Done"})

    activity = bob.ok("GET", "/cards/WEB-1/activity")
    assert [(a["entity_type"], a["op"]) for a in activity] == [
        ("card", "move"), ("comment", "create"), ("card", "update"), ("card", "create")]
    assert [a["entity_id"] for a in activity] == [card["id"], comment["id"], card["id"], card["id"]]
    seqs = [a["seq"] for a in activity]
    assert seqs == sorted(seqs, reverse=True)
    assert activity[2]["changes"] == {"points": {"old": None, "new": 2}}
    assert activity[2]["mutation_id"] == "m-1"
    assert activity[0]["actor"] == {"type": "user", "id": alice.user["id"], "name": alice.username,
                                    "delivery_id": None}
    newest = bob.ok("GET", "/cards/WEB-1/activity", params={"limit": 1})
    assert [a["op"] for a in newest] == ["move"]
    problem(bob.get("/cards/WEB-1/activity", params={"limit": 0}), 400)
    problem(bob.get("/cards/WEB-1/activity", params={"limit": 10**30}), 400)


# --- hostile input ---------------------------------------------------------------------------


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/boards/{board}/cards", '{"title": "x", "points": NaN}'),
    ("POST", "/boards/{board}/cards", '{"title": "x", "points": 1e400}'),
    ("POST", "/boards/{board}/cards", {"title": "x", "points": 10**40}),
    ("POST", "/boards/{board}/cards", {"title": "x", "points": 100}),
    ("POST", "/boards/{board}/cards", {"title": "x" * 256}),
    ("POST", "/boards/{board}/cards", {"title": "   "}),
    ("POST", "/boards/{board}/cards", {"title": "nul\x00byte"}),
    ("POST", "/boards/{board}/cards", {"title": "x", "labels": ["ok", "bad\x00"]}),
    ("POST", "/boards/{board}/cards", {"title": "x", "priority": "critical"}),
    ("POST", "/boards/{board}/cards", {"title": "x", "due": "10000-01-01"}),
    ("POST", "/boards/{board}/cards", {"title": "x", "remind_at": "0001-01-01T00:00:00+05:00"}),
    ("POST", "/boards/{board}/cards", {"title": "x", "id": "not-a-uuid"}),
    ("POST", "/boards/{board}/cards", {"title": "x", "sprint_id": "123"}),
    ("POST", "/boards/{board}/cards", {"title": "x", "column": "c" * 300}),
    ("POST", "/boards/{board}/cards", {"title": "x", "column": "\x00"}),
    ("POST", "/boards/{board}/cards", {"title": "x", "unknown": 1}),
    ("POST", "/boards/{board}/cards", {"title": "x", "db": [True]}),  # named like a dependency
    ("PATCH", "/cards/WEB-1", {"title": "x", "principal": 1}),
    ("PATCH", "/cards/WEB-1", {"state": {}, "request": 1}),
    ("POST", "/boards/{board}/cards", [1, 2]),
    ("POST", "/boards/{board}/cards", "null"),
    ("POST", "/boards/{board}/cards", ""),
    ("PATCH", "/cards/WEB-1", '"title"'),
    ("PATCH", "/cards/WEB-1", '{"labels": "abc"}'),
    ("PATCH", "/cards/WEB-1", '{"due": "2024-02-30"}'),
    ("PATCH", "/cards/WEB-1", '{"remind_at": "9999-12-31T23:59:59-05:00"}'),
    ("POST", "/boards/not-a-uuid/cards", {"title": "x"}),
    ("PATCH", "/cards/WEB-1", {"base_version": 10**40}),
    ("PATCH", "/cards/WEB-1", {"recurrence_interval": 0}),
    ("PATCH", "/cards/WEB-1", '{"description": "\\ud800"}'),
    ("PATCH", "/cards/WEB-1", '{"title": "bad\\u0000"}'),
    ("PATCH", "/cards/WEB-1", '{"title": '),
    ("PATCH", "/cards/WEB-0", {"title": "x"}),
    ("PATCH", "/cards/WEB-99999999999", {"title": "x"}),
    ("PATCH", "/cards/%00", {"title": "x"}),
    ("GET", "/cards/" + "A" * 5000, None),
    ("POST", "/cards/WEB-1/move", {"column": "Todo", "before": "\x00"}),
    ("POST", "/cards/WEB-1/move", {"column": "Todo", "after": "999999999999"}),
    ("POST", "/cards/bulk-update", {"cards": [{"card": "WEB-1", "base_version": -1}]}),
    ("POST", "/cards/bulk-update", {"cards": [{"title": "no card"}]}),
    ("POST", "/cards/WEB-1/comments", {"body": "x", "id": "zzz"}),
    ("GET", "/cards/WEB-1/activity?limit=abc", None),
    ("GET", "/boards/{board}/cards?include_deleted=maybe", None),
])
def test_hostile_requests_get_problem_details_never_500(api, method, path, body):
    _, board = setup_board(api)
    add(api, board, "target")
    path = path.replace("{board}", board["id"])
    if isinstance(body, str):  # raw JSON text
        response = api.request(method, path, content=body,
                               headers={"content-type": "application/json"})
    elif body is not None:
        response = api.request(method, path, json=body)
    else:
        response = api.request(method, path)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"]
    assert api.ok("GET", "/cards/WEB-1")["version"] == 1
