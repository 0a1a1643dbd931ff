"""The label catalogue against a real server process and Postgres: CRUD and validation, labels
cards bring in (palette colours), the snapshot and the feed, a rename across 1,000 cards in one
transaction and one write of their Changes, a delete that takes the label off every card."""

from __future__ import annotations

from fractional_indexing import generate_n_keys_between
from taskly_shared.labels import PALETTE, palette_color

from tests.support.checks import join, problem, sql


def setup_board(api, key: str = "LAB") -> tuple[dict, dict]:
    ws = api.workspace("Labels")
    return ws, api.board(ws["id"], key, "Labels")


def labels(api, ws: dict) -> dict[str, dict]:
    return {label["name"]: label for label in api.ok("GET", f"/workspaces/{ws['id']}/labels")}


def test_catalogue_crud_validation_and_roles(api, make_api, database_url):
    ws, _ = setup_board(api)
    created = api.ok("POST", f"/workspaces/{ws['id']}/labels",
                     json={"name": "bug", "color": "#D73A4A", "description": "Something is broken"})
    assert (created["name"], created["color"], created["description"], created["version"]) == (
        "bug", "#d73a4a", "Something is broken", 1)
    plain = api.ok("POST", f"/workspaces/{ws['id']}/labels", json={"name": "chore"})
    assert plain["color"] == palette_color("chore") and plain["color"] in PALETTE
    problem(api.post(f"/workspaces/{ws['id']}/labels", json={"name": "bug"}), 409, "duplicate")
    problem(api.post(f"/workspaces/{ws['id']}/labels", json={"name": "x", "color": "red"}), 400)
    problem(api.post(f"/workspaces/{ws['id']}/labels", json={"name": "y" * 51}), 400)
    problem(api.post(f"/workspaces/{ws['id']}/labels", json={"name": "a\x1b[31m"}), 422)

    edited = api.ok("PATCH", f"/labels/{created['id']}", json={"color": "0e8a16", "description": None})
    assert edited["cards"] == 0
    assert (edited["label"]["color"], edited["label"]["description"], edited["label"]["version"]) == (
        "#0e8a16", None, 2)
    problem(api.patch(f"/labels/{created['id']}", json={"name": "chore"}), 409, "duplicate")
    problem(api.patch(f"/labels/{created['id']}", json={"color": "#000000", "base_version": 1}), 409)

    # A member creates and edits; only admins delete; a viewer reads; an outsider sees nothing.
    member, viewer, outsider = make_api(), make_api(), make_api()
    join(api, member, ws["id"], "member")
    join(api, viewer, ws["id"], "viewer")
    assert set(labels(viewer, ws)) == {"bug", "chore"}
    problem(viewer.post(f"/workspaces/{ws['id']}/labels", json={"name": "v"}), 403, "forbidden")
    member.ok("PATCH", f"/labels/{plain['id']}", json={"description": "Upkeep"})
    problem(member.delete(f"/labels/{plain['id']}"), 403, "forbidden")
    problem(outsider.get(f"/workspaces/{ws['id']}/labels"), 404, "not_found")
    problem(outsider.patch(f"/labels/{plain['id']}", json={"color": "#ffffff"}), 404, "not_found")

    # The feed has each catalogue write; the snapshot the catalogue.
    ops = sql(database_url, "select op, changes from changes where workspace_id = %s and "
              "entity_type = 'label' order by seq", ws["id"])
    assert [op for op, _ in ops] == ["create", "create", "update", "update"]
    assert ops[2][1] == {"color": {"old": "#d73a4a", "new": "#0e8a16"},
                         "description": {"old": "Something is broken", "new": None}}
    snapshot = api.ok("GET", f"/workspaces/{ws['id']}/snapshot")
    assert [(x["name"], x["color"], x["description"]) for x in snapshot["labels"]] == [
        ("bug", "#0e8a16", None), ("chore", palette_color("chore"), "Upkeep")]


def test_cards_bring_new_labels_into_the_catalogue(api, database_url):
    ws, board = setup_board(api, "LBN")
    api.ok("POST", f"/workspaces/{ws['id']}/labels", json={"name": "bug", "color": "#111111"})
    card = api.ok("POST", f"/boards/{board['id']}/cards", json={"title": "One", "labels": ["bug", "ui"]})
    api.ok("PATCH", f"/cards/{card['id']}", json={"labels": ["bug", "ui", "backend"]})
    other = api.ok("POST", f"/boards/{board['id']}/cards", json={"title": "Two"})
    api.ok("POST", "/cards/bulk-update", json={"cards": [{"card": other["key"], "labels": ["docs"]}]})
    catalogue = labels(api, ws)
    assert {name: x["color"] for name, x in catalogue.items()} == {
        "bug": "#111111", "ui": palette_color("ui"), "backend": palette_color("backend"),
        "docs": palette_color("docs")}
    made = sql(database_url, "select changes #>> '{name,new}', actor_name from changes "
               "where workspace_id = %s and entity_type = 'label' and op = 'create' order by seq", ws["id"])
    assert [name for name, _ in made] == ["bug", "ui", "backend", "docs"]
    assert {actor for _, actor in made} == {api.username}


def test_rename_across_1000_cards_is_one_transaction(api, database_url):
    ws, board = setup_board(api, "LBR")
    seed = api.ok("POST", f"/boards/{board['id']}/cards", json={"title": "Seed", "labels": ["old", "keep"]})
    column_id = board["columns"][0]["id"]
    # 999 more cards, written straight to the table (the API would take a minute on this machine),
    # ranked after the seed card.
    ranks = generate_n_keys_between(seed["rank"], None, 999)
    sql(database_url, """
        insert into cards (id, workspace_id, board_id, column_id, number, title, labels, rank)
        select gen_random_uuid(), %s, %s, %s, n, 'Card ' || n,
               case when n %% 3 = 0 then array['x', 'old'] else array['old'] end, r
          from unnest(%s::text[]) with ordinality as t(r, k), lateral (select k + 1 as n) as num""",
        ws["id"], board["id"], column_id, ranks)
    sql(database_url, "update boards set next_card_number = 1001 where id = %s", board["id"])
    untouched = api.ok("POST", f"/boards/{board['id']}/cards", json={"title": "No label", "labels": ["keep"]})
    label = labels(api, ws)["old"]
    head = api.ok("GET", f"/workspaces/{ws['id']}")["seq"]

    renamed = api.ok("PATCH", f"/labels/{label['id']}", json={"name": "legacy"})

    assert renamed["cards"] == 1000 and renamed["label"]["name"] == "legacy"
    rows = sql(database_url, "select seq, entity_type, entity_id::text, changes, data, created_at, "
               "mutation_id, version from changes where workspace_id = %s and seq > %s order by seq",
               ws["id"], head)
    assert len(rows) == 1001
    assert [r[0] for r in rows] == list(range(head + 1, head + 1002))  # no gap, nothing between
    assert len({r[5] for r in rows}) == 1  # one call of the feed's writer: one round trip
    cards = [r for r in rows if r[1] == "card"]
    assert len(cards) == 1000 and untouched["id"] not in {r[2] for r in cards}
    for _, _, _, changes, data, _, _, version in cards:
        assert "old" in changes["labels"]["old"] and "legacy" in changes["labels"]["new"]
        assert "old" not in data["labels"] and data["version"] == version
    assert sql(database_url, "select count(*) from cards where workspace_id = %s and 'old' = any(labels)",
               ws["id"]) == [(0,)]
    assert sql(database_url, "select labels from cards where board_id = %s and number = 3",
               board["id"]) == [(["x", "legacy"],)]
    assert set(labels(api, ws)) == {"keep", "legacy"}  # ("x" came in by SQL, not through a card write)


def test_rename_onto_a_name_a_card_has_and_delete(api, database_url):
    ws, board = setup_board(api, "LBD")
    a = api.ok("POST", f"/boards/{board['id']}/cards", json={"title": "A", "labels": ["one", "two"]})
    b = api.ok("POST", f"/boards/{board['id']}/cards", json={"title": "B", "labels": ["two"]})
    catalogue = labels(api, ws)
    # `three` is free: the rename goes through; a card never names a label twice.
    api.ok("PATCH", f"/labels/{catalogue['one']['id']}", json={"name": "three"})
    assert api.ok("GET", f"/cards/{a['id']}")["labels"] == ["three", "two"]
    deleted = api.ok("DELETE", f"/labels/{catalogue['two']['id']}")
    assert deleted["cards"] == 2 and deleted["label"]["name"] == "two"
    assert api.ok("GET", f"/cards/{a['id']}")["labels"] == ["three"]
    assert api.ok("GET", f"/cards/{b['id']}")["labels"] == []
    assert set(labels(api, ws)) == {"three"}
    problem(api.delete(f"/labels/{catalogue['two']['id']}"), 404, "not_found")
    last = sql(database_url, "select entity_type, op from changes where workspace_id = %s "
               "order by seq desc limit 3", ws["id"])
    assert last == [("label", "delete"), ("card", "update"), ("card", "update")]
