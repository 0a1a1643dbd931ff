"""Boards and columns against a real server process and Postgres."""

from __future__ import annotations

import uuid

import pytest

from tests.server.test_workspaces import changes, join, problem, sql

DEFAULTS = [("Backlog", "backlog"), ("Todo", "todo"), ("In Progress", "in_progress"),
            ("In Review", "review"), ("Done", "done")]


def add_card(database_url: str, board: dict, column_id: str, rank: str, title: str,
             deleted: bool = False) -> str:
    """A card written straight into the database, so these tests do not depend on the card API."""
    card_id = str(uuid.uuid4())
    sql(database_url,
        "insert into cards (id, workspace_id, board_id, column_id, number, title, rank, deleted_at) "
        "select %s, workspace_id, id, %s, next_card_number, %s, %s, "
        "case when %s then now() end from boards where id = %s",
        card_id, column_id, title, rank, deleted, board["id"])
    sql(database_url, "update boards set next_card_number = next_card_number + 1 where id = %s",
        board["id"])
    return card_id


def column_names(api, board_id: str) -> list[str]:
    return [c["name"] for c in api.ok("GET", f"/boards/{board_id}")["columns"]]


def by_name(board: dict, name: str) -> dict:
    return next(c for c in board["columns"] if c["name"] == name)


# --- boards ---------------------------------------------------------------------------------


def test_create_board_with_default_columns(api, database_url):
    ws = api.workspace()
    response = api.post(f"/workspaces/{ws['id']}/boards", json={"name": " Web app ", "key": "WEB"})
    assert response.status_code == 201, response.text
    board = response.json()
    assert (board["name"], board["key"], board["workspace_id"]) == ("Web app", "WEB", ws["id"])
    assert board["archived"] is False and board["next_card_number"] == 1 and board["version"] == 1
    assert [(c["name"], c["kind"]) for c in board["columns"]] == DEFAULTS
    ranks = [c["rank"] for c in board["columns"]]
    assert ranks == sorted(ranks) and len(set(ranks)) == 5
    assert all(c["board_id"] == board["id"] and c["version"] == 1 for c in board["columns"])

    listed = api.ok("GET", f"/workspaces/{ws['id']}/boards")
    assert listed == [board]
    detail = api.ok("GET", f"/boards/{board['id']}")
    assert detail["columns"] == board["columns"] and detail["cards"] == []

    rows = changes(database_url, ws["id"])
    assert [(r[0], r[1], r[2]) for r in rows[2:]] == [
        (3, "board", "create"), *[(4 + i, "column", "create") for i in range(5)]]
    assert rows[2][4]["key"] == "WEB" and len(rows[2][4]["columns"]) == 5
    assert [r[4]["name"] for r in rows[3:]] == [name for name, _ in DEFAULTS]


def test_board_key_rules(api):
    ws = api.workspace()
    api.board(ws["id"], "WEB")
    problem(api.post(f"/workspaces/{ws['id']}/boards", json={"name": "Again", "key": "WEB"}), 409,
            "duplicate")
    other = api.workspace("Other")
    assert api.board(other["id"], "WEB")["key"] == "WEB"  # unique per workspace only
    for key in ("web", "W", "ABCDEFGHIJK", "W3B", ""):
        problem(api.post(f"/workspaces/{ws['id']}/boards", json={"name": "B", "key": key}), 400,
                "validation_error")
    problem(api.post(f"/workspaces/{ws['id']}/boards", json={"name": "n" * 101, "key": "LONG"}), 400,
            "validation_error")
    board_id = str(uuid.uuid4())
    chosen = api.ok("POST", f"/workspaces/{ws['id']}/boards",
                    json={"id": board_id, "name": "Mine", "key": "MINE"})
    assert chosen["id"] == board_id
    problem(api.post(f"/workspaces/{ws['id']}/boards", json={"id": board_id, "name": "x", "key": "XX"}),
            409, "duplicate")


def test_board_detail_orders_cards(api, database_url):
    ws = api.workspace()
    board = api.board(ws["id"])
    todo, backlog = by_name(board, "Todo"), by_name(board, "Backlog")
    add_card(database_url, board, todo["id"], "a0", "todo first")
    add_card(database_url, board, backlog["id"], "a5", "backlog second")
    add_card(database_url, board, backlog["id"], "a1", "backlog first")
    add_card(database_url, board, todo["id"], "a0V", "gone", deleted=True)
    add_card(database_url, board, todo["id"], "Zz", "todo zeroth")
    cards = api.ok("GET", f"/boards/{board['id']}")["cards"]
    assert [c["title"] for c in cards] == ["backlog first", "backlog second", "todo zeroth", "todo first"]
    assert cards[0]["key"] == "WEB-3" and cards[0]["column"] == "Backlog"
    assert cards[2]["column_kind"] == "todo"


def test_patch_and_delete_board(api, database_url):
    ws = api.workspace()
    board = api.board(ws["id"])
    path = f"/boards/{board['id']}"
    patched = api.ok("PATCH", path, json={"name": "Website", "archived": True,
                                          "branch_template": "{key}-{slug}"})
    assert (patched["name"], patched["archived"], patched["branch_template"]) == (
        "Website", True, "{key}-{slug}")
    assert patched["version"] == 2 and len(patched["columns"]) == 5
    last = changes(database_url, ws["id"])[-1]
    assert (last[1], last[2], last[5]) == ("board", "update", 2)
    assert last[3] == {"name": {"old": "Web", "new": "Website"}, "archived": {"old": False, "new": True},
                       "branch_template": {"old": None, "new": "{key}-{slug}"}}
    # archived: read-only but for unarchiving (test_archived_board_is_read_only)
    problem(api.patch(path, json={"branch_template": None}), 409, "board_archived")
    cleared = api.ok("PATCH", path, json={"branch_template": None, "archived": False})
    assert cleared["branch_template"] is None and cleared["name"] == "Website" and cleared["version"] == 3
    assert api.ok("PATCH", path, json={"name": "Website"})["version"] == 3  # nothing changed
    problem(api.patch(path, json={"archived": "maybe"}), 400, "validation_error")

    assert api.delete(path).status_code == 204
    last = changes(database_url, ws["id"])[-1]
    assert (last[1], last[2]) == ("board", "delete") and last[4]["id"] == board["id"]
    column_id = board["columns"][0]["id"]
    for response in (api.get(path), api.patch(path, json={"name": "x"}), api.delete(path),
                     api.post(f"{path}/columns", json={"name": "New"}),
                     api.patch(f"/columns/{column_id}", json={"name": "x"}),
                     api.delete(f"/columns/{column_id}")):
        problem(response, 404, "not_found")
    assert api.ok("GET", f"/workspaces/{ws['id']}/boards") == []


def test_idempotent_board_create(api):
    ws = api.workspace()
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"name": "Ops", "key": "OPS"}
    first = api.post(f"/workspaces/{ws['id']}/boards", json=body, headers=headers)
    second = api.post(f"/workspaces/{ws['id']}/boards", json=body, headers=headers)
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    assert len(api.ok("GET", f"/workspaces/{ws['id']}/boards")) == 1


# --- columns --------------------------------------------------------------------------------


def test_add_columns(api, database_url):
    ws = api.workspace()
    board = api.board(ws["id"])
    path = f"/boards/{board['id']}/columns"
    added = api.post(path, json={"name": "QA", "kind": "review", "wip_limit": 3, "position": 3})
    assert added.status_code == 201, added.text
    qa = added.json()
    assert (qa["name"], qa["kind"], qa["wip_limit"], qa["version"]) == ("QA", "review", 3, 1)
    assert column_names(api, board["id"]) == ["Backlog", "Todo", "In Progress", "QA", "In Review", "Done"]
    api.ok("POST", path, json={"name": "Icebox", "kind": "backlog", "position": 0})
    api.ok("POST", path, json={"name": "Archive"})
    assert column_names(api, board["id"]) == [
        "Icebox", "Backlog", "Todo", "In Progress", "QA", "In Review", "Done", "Archive"]
    columns = api.ok("GET", f"/boards/{board['id']}")["columns"]
    assert [c["rank"] for c in columns] == sorted(c["rank"] for c in columns)
    problem(api.post(path, json={"name": "qa"}), 409, "duplicate")
    problem(api.post(path, json={"name": "X", "kind": "later"}), 400, "validation_error")
    problem(api.post(path, json={"name": "X", "wip_limit": 0}), 400, "validation_error")
    problem(api.post(path, json={"name": "c" * 101}), 400, "validation_error")
    last = changes(database_url, ws["id"])[-1]
    assert (last[1], last[2], last[4]["name"]) == ("column", "create", "Archive")


def test_patch_column(api, database_url):
    ws = api.workspace()
    board = api.board(ws["id"])
    todo = by_name(board, "Todo")
    path = f"/columns/{todo['id']}"

    renamed = api.ok("PATCH", path, json={"name": "To do", "kind": "backlog", "wip_limit": 4})
    assert (renamed["name"], renamed["kind"], renamed["wip_limit"], renamed["version"]) == (
        "To do", "backlog", 4, 2)
    last = changes(database_url, ws["id"])[-1]
    assert (last[1], last[2], last[5]) == ("column", "update", 2)
    assert last[3] == {"name": {"old": "Todo", "new": "To do"}, "kind": {"old": "todo", "new": "backlog"},
                       "wip_limit": {"old": None, "new": 4}}
    assert api.ok("PATCH", path, json={"name": "Renamed"})["wip_limit"] == 4  # absent: unchanged
    assert api.ok("PATCH", path, json={"wip_limit": None})["wip_limit"] is None  # null: cleared
    assert api.ok("PATCH", path, json={"name": "RENAMED"})["name"] == "RENAMED"  # own name, other case
    problem(api.patch(path, json={"name": "done"}), 409, "duplicate")
    problem(api.patch(path, json={"kind": "nope"}), 400, "validation_error")

    api.ok("PATCH", path, json={"position": 4})
    assert column_names(api, board["id"]) == ["Backlog", "In Progress", "In Review", "Done", "RENAMED"]
    api.ok("PATCH", path, json={"position": 0})
    assert column_names(api, board["id"]) == ["RENAMED", "Backlog", "In Progress", "In Review", "Done"]
    moved = api.ok("PATCH", path, json={"position": 2})
    assert column_names(api, board["id"]) == ["Backlog", "In Progress", "RENAMED", "In Review", "Done"]
    last = changes(database_url, ws["id"])[-1]
    assert set(last[3]) == {"rank"} and last[3]["rank"]["new"] == moved["rank"]
    api.ok("PATCH", path, json={"position": 999})
    assert column_names(api, board["id"])[-1] == "RENAMED"
    unchanged = api.ok("PATCH", path, json={"position": 4})
    assert unchanged["version"] == moved["version"] + 1  # already there: no new version
    ranks = [c["rank"] for c in api.ok("GET", f"/boards/{board['id']}")["columns"]]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)


def test_delete_columns(api, database_url):
    ws = api.workspace()
    board = api.board(ws["id"])
    review, done = by_name(board, "In Review"), by_name(board, "Done")
    todo = by_name(board, "Todo")
    existing = add_card(database_url, board, done["id"], "a0", "already done")
    first = add_card(database_url, board, review["id"], "a0", "first")
    second = add_card(database_url, board, review["id"], "a1", "second")
    hidden = add_card(database_url, board, review["id"], "a2", "hidden", deleted=True)

    problem(api.delete(f"/columns/{review['id']}"), 409, "column_not_empty")
    problem(api.delete(f"/columns/{review['id']}", params={"move_to": "In Review"}), 422)
    problem(api.delete(f"/columns/{review['id']}", params={"move_to": "Nowhere"}), 404)
    assert api.delete(f"/columns/{todo['id']}").status_code == 204  # empty
    before = len(changes(database_url, ws["id"]))

    assert api.delete(f"/columns/{review['id']}", params={"move_to": "done"}).status_code == 204
    assert column_names(api, board["id"]) == ["Backlog", "In Progress", "Done"]
    rows = sql(database_url, "select id::text, rank, version from cards where column_id = %s "
               "order by rank", done["id"])
    assert [r[0] for r in rows] == [existing, first, second, hidden]
    assert [r[2] for r in rows] == [1, 2, 2, 2]
    feed = changes(database_url, ws["id"])[before:]
    assert [(r[1], r[2]) for r in feed] == [("card", "move")] * 3 + [("column", "delete")]
    assert feed[0][3]["column_id"] == {"old": review["id"], "new": done["id"]}
    assert feed[0][4]["column"] == "Done" and feed[0][4]["title"] == "first"
    assert feed[2][4]["deleted_at"] is not None
    detail = api.ok("GET", f"/boards/{board['id']}")
    assert [c["title"] for c in detail["cards"]] == ["already done", "first", "second"]

    seqs = [r[0] for r in changes(database_url, ws["id"])]
    assert seqs == list(range(1, len(seqs) + 1))


def test_delete_column_by_id_and_keep_one(api, database_url):
    ws = api.workspace()
    board = api.board(ws["id"])
    columns = board["columns"]
    card = add_card(database_url, board, columns[0]["id"], "a0", "card")
    gone = add_card(database_url, board, columns[1]["id"], "a0", "gone", deleted=True)
    assert api.delete(f"/columns/{columns[0]['id']}",
                      params={"move_to": columns[4]["id"]}).status_code == 204
    # only soft-deleted cards: they move to the first remaining column, still restorable
    assert api.delete(f"/columns/{columns[1]['id']}").status_code == 204
    assert sql(database_url, "select column_id::text from cards where id = %s", gone) == [(columns[2]["id"],)]
    assert sql(database_url, "select column_id::text from cards where id = %s", card) == [(columns[4]["id"],)]
    assert api.delete(f"/columns/{columns[2]['id']}").status_code == 204
    assert api.delete(f"/columns/{columns[3]['id']}").status_code == 204
    problem(api.delete(f"/columns/{columns[4]['id']}"), 409, "conflict")
    assert column_names(api, board["id"]) == ["Done"]


# --- access ---------------------------------------------------------------------------------


@pytest.fixture
def shared_board(make_api):
    """A board owned by one user, with a viewer and a stranger."""
    owner, viewer, stranger = make_api(), make_api(), make_api()
    ws = owner.workspace()
    board = owner.board(ws["id"])
    join(owner, viewer, ws["id"], "viewer")
    return owner, viewer, stranger, ws, board


def writes(ws: dict, board: dict) -> list[tuple[str, str, dict | None]]:
    column = board["columns"][1]["id"]
    return [
        ("POST", f"/workspaces/{ws['id']}/boards", {"name": "B", "key": "BB"}),
        ("PATCH", f"/boards/{board['id']}", {"name": "x"}),
        ("DELETE", f"/boards/{board['id']}", None),
        ("POST", f"/boards/{board['id']}/columns", {"name": "New"}),
        ("PATCH", f"/columns/{column}", {"name": "x"}),
        ("DELETE", f"/columns/{column}", None),
    ]


def test_viewer_reads_but_cannot_write(shared_board):
    owner, viewer, _, ws, board = shared_board
    assert [b["id"] for b in viewer.ok("GET", f"/workspaces/{ws['id']}/boards")] == [board["id"]]
    assert viewer.ok("GET", f"/boards/{board['id']}")["key"] == "WEB"
    for method, path, body in writes(ws, board):
        problem(viewer.request(method, path, json=body), 403, "forbidden")
    assert column_names(owner, board["id"]) == [name for name, _ in DEFAULTS]


def test_member_cannot_manage_boards(make_api):
    owner, member = make_api(), make_api()
    ws = owner.workspace()
    board = owner.board(ws["id"])
    join(owner, member, ws["id"], "member")
    for method, path, body in writes(ws, board):
        problem(member.request(method, path, json=body), 403, "forbidden")


def test_non_member_gets_404(shared_board):
    _, _, stranger, ws, board = shared_board
    reads = [("GET", f"/workspaces/{ws['id']}/boards", None), ("GET", f"/boards/{board['id']}", None)]
    for method, path, body in reads + writes(ws, board):
        problem(stranger.request(method, path, json=body), 404, "not_found")


def test_unknown_and_malformed_ids(api):
    for path in ("/boards/{}", "/workspaces/{}/boards"):
        problem(api.get(path.format(uuid.uuid4())), 404, "not_found")
    problem(api.patch(f"/columns/{uuid.uuid4()}", json={"name": "x"}), 404, "not_found")
    problem(api.delete(f"/columns/{uuid.uuid4()}"), 404, "not_found")
    for method, path in (("GET", "/boards/nope"), ("PATCH", "/boards/1"), ("DELETE", "/boards/x"),
                         ("POST", "/boards/x/columns"), ("PATCH", "/columns/x"),
                         ("DELETE", "/columns/x"), ("GET", "/workspaces/x/boards"),
                         ("POST", "/workspaces/x/boards")):
        response = api.request(method, path, json={"name": "x"})
        assert 400 <= response.status_code < 500, (method, path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


def test_malformed_json(api):
    ws = api.workspace()
    board = api.board(ws["id"])
    for path in (f"/workspaces/{ws['id']}/boards", f"/boards/{board['id']}/columns"):
        problem(api.post(path, content=b"{nope", headers={"content-type": "application/json"}), 400)
    problem(api.patch(f"/boards/{board['id']}", content=b"[1,",
                      headers={"content-type": "application/json"}), 400)


def test_archived_board_is_read_only(api, make_api):
    """Archived: every write to the board's cards, comments, columns and sprints is 409
    `board_archived` (moves and bulk updates too); reads go on; only unarchiving is taken, and
    then the writes work again."""
    ws = api.workspace()
    board = api.board(ws["id"], "ARCH", "Archive me")
    card = api.ok("POST", f"/boards/{board['id']}/cards", json={"title": "Kept"})
    comment = api.ok("POST", f"/cards/{card['id']}/comments", json={"body": "note"})
    member = make_api()
    join(api, member, ws["id"], "member")
    archived = api.ok("PATCH", f"/boards/{board['id']}", json={"archived": True})
    assert archived["archived"] is True

    todo = by_name(board, "Todo")["id"]
    writes = [
        api.post(f"/boards/{board['id']}/cards", json={"title": "New"}),
        member.patch(f"/cards/{card['key']}", json={"title": "Changed"}),
        api.post(f"/cards/{card['id']}/move", json={"column": "Todo"}),
        member.post(f"/cards/{card['id']}/move", json={"column": "Todo", "position": "top"}),
        api.post("/cards/bulk-update", json={"cards": [{"card": card["key"], "points": 3}]}),
        api.delete(f"/cards/{card['id']}"),
        api.post(f"/cards/{card['id']}/comments", json={"body": "more"}),
        api.patch(f"/comments/{comment['id']}", json={"body": "edited"}),
        api.delete(f"/comments/{comment['id']}"),
        api.post(f"/boards/{board['id']}/columns", json={"name": "Later"}),
        api.patch(f"/columns/{todo}", json={"wip_limit": 3}),
        api.post(f"/boards/{board['id']}/sprints", json={"name": "S", "start_date": "2100-01-01",
                                                         "end_date": "2100-01-02"}),
        api.patch(f"/boards/{board['id']}", json={"name": "Renamed"}),
    ]
    for response in writes:
        body = problem(response, 409, "board_archived")
        assert "ARCH is archived" in body["detail"] and "unarchive" in body["detail"], body
    assert api.ok("GET", f"/cards/{card['id']}")["title"] == "Kept"
    assert [c["body"] for c in api.ok("GET", f"/cards/{card['id']}/comments")] == ["note"]
    assert api.ok("GET", f"/boards/{board['id']}")["archived"] is True

    problem(member.patch(f"/boards/{board['id']}", json={"archived": False}), 403, "forbidden")
    assert api.ok("PATCH", f"/boards/{board['id']}", json={"archived": False, "name": "Back"})["name"] == "Back"
    assert member.ok("PATCH", f"/cards/{card['key']}", json={"title": "Changed"})["title"] == "Changed"
    assert api.ok("POST", f"/cards/{card['id']}/move", json={"column": "Todo"})["column"] == "Todo"
