"""Sprints against a real server process and Postgres: CRUD, validation, overlaps, the change
feed and the snapshot, close with carry-over (also two concurrent closes)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, time, timedelta

import httpx
import pytest

from tests.support.api import Api
from tests.support.checks import join, problem, sql
from tests.support.processes import start_server

TODAY = datetime.now(UTC).date()
"""The server counts days by the database's UTC date; the test runs beside it on one machine."""


def days(n: int) -> str:
    return (TODAY + timedelta(days=n)).isoformat()


def setup_board(api) -> tuple[dict, dict]:
    ws = api.workspace()
    return ws, api.board(ws["id"], "SPR", "Sprints")


def create(api, board: dict, name: str = "Sprint 1", start: int = 0, end: int = 13, **extra) -> dict:
    response = api.post(f"/boards/{board['id']}/sprints",
                        json={"name": name, "start_date": days(start), "end_date": days(end), **extra})
    assert response.status_code == 201, response.text
    return response.json()


def card(api, board: dict, title: str, points: int | None = None, sprint: dict | None = None,
         column: str | None = None) -> dict:
    body: dict = {"title": title, "points": points}
    if sprint is not None:
        body["sprint_id"] = sprint["id"]
    if column is not None:
        body["column"] = column
    return api.ok("POST", f"/boards/{board['id']}/cards", json=body)


def feed(database_url: str, workspace_id: str, entity_type: str) -> list[tuple]:
    return sql(database_url, "select op, entity_id::text, changes, data, version from changes "
               "where workspace_id = %s and entity_type = %s order by seq", workspace_id, entity_type)


# --- create, read, list ---------------------------------------------------------------------


def test_create_read_list(api, database_url):
    ws, board = setup_board(api)
    sprint = create(api, board, " Sprint 1 ", 0, 13, goal="Ship login")
    assert {k: sprint[k] for k in ("board_id", "workspace_id", "name", "start_date", "end_date", "goal",
                                   "capacity_points", "status", "overdue", "closed_at",
                                   "card_count", "committed_points", "completed_points",
                                   "remaining_points", "over_capacity", "version")} == {
        "board_id": board["id"], "workspace_id": ws["id"], "name": "Sprint 1", "start_date": days(0), "end_date": days(13),
        "goal": "Ship login", "capacity_points": 40, "status": "active", "overdue": False,
        "closed_at": None, "card_count": 0, "committed_points": 0, "completed_points": 0,
        "remaining_points": 0, "over_capacity": False, "version": 1}
    planned = create(api, board, "Sprint 2", 14, 27, capacity_points=10)
    assert (planned["status"], planned["capacity_points"], planned["goal"]) == ("planned", 10, None)

    assert api.ok("GET", f"/sprints/{sprint['id']}") == sprint
    assert [s["name"] for s in api.ok("GET", f"/boards/{board['id']}/sprints")] == ["Sprint 1", "Sprint 2"]

    [created, _] = feed(database_url, ws["id"], "sprint")
    assert created[0] == "create" and created[1] == sprint["id"] and created[4] == 1
    assert created[2]["name"] == {"old": None, "new": "Sprint 1"}
    assert created[2]["start_date"] == {"old": None, "new": days(0)}
    assert created[3]["name"] == "Sprint 1" and created[3]["capacity_points"] == 40


def test_client_chosen_id(api):
    _, board = setup_board(api)
    chosen = str(uuid.uuid4())
    assert create(api, board, id=chosen)["id"] == chosen
    again = api.post(f"/boards/{board['id']}/sprints",
                     json={"id": chosen, "name": "Other", "start_date": days(30), "end_date": days(31)})
    problem(again, 409, "duplicate")


def test_counts_and_points(api):
    _, board = setup_board(api)
    sprint = create(api, board, capacity_points=5)
    card(api, board, "a", 3, sprint)
    card(api, board, "b", 2, sprint, column="Done")
    card(api, board, "c", None, sprint)
    gone = card(api, board, "d", 8, sprint)
    api.ok("DELETE", f"/cards/{gone['id']}")
    card(api, board, "outside", 13)
    got = api.ok("GET", f"/sprints/{sprint['id']}")
    assert (got["card_count"], got["committed_points"], got["completed_points"],
            got["remaining_points"], got["over_capacity"]) == (3, 5, 2, 3, False)
    card(api, board, "e", 1, sprint)
    assert api.ok("GET", f"/sprints/{sprint['id']}")["over_capacity"] is True


def test_status_from_dates(api, database_url):
    _, board = setup_board(api)
    past = create(api, board, "Past", -20, -10)
    assert (past["status"], past["overdue"]) == ("active", True)
    ending_today = create(api, board, "Now", -9, 0)
    assert (ending_today["status"], ending_today["overdue"]) == ("active", False)
    api.ok("POST", f"/sprints/{past['id']}/close", json={"carry_over_to": None})
    closed = api.ok("GET", f"/sprints/{past['id']}")
    assert (closed["status"], closed["overdue"]) == ("completed", False)
    assert closed["closed_at"] is not None


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "status"), [
    ({"name": "x", "start_date": days(5), "end_date": days(4)}, 422),
    ({"name": "x", "start_date": "0001-01-01", "end_date": days(4)}, 422),
    ({"name": "", "start_date": days(0), "end_date": days(1)}, 400),
    ({"name": "a\x1bb", "start_date": days(0), "end_date": days(1)}, 422),
    ({"name": "x" * 101, "start_date": days(0), "end_date": days(1)}, 400),
    ({"name": "x", "start_date": "soon", "end_date": days(1)}, 400),
    ({"name": "x", "end_date": days(1)}, 400),
    ({"name": "x", "start_date": days(0), "end_date": days(1), "goal": "g" * 501}, 400),
    ({"name": "x", "start_date": days(0), "end_date": days(1), "capacity_points": -1}, 400),
    ({"name": "x", "start_date": days(0), "end_date": days(1), "capacity_points": True}, 422),
    ({"name": "x", "start_date": days(0), "end_date": days(1), "colour": "red"}, 400),
])
def test_create_refuses_bad_bodies(api, body, status):
    _, board = setup_board(api)
    response = api.post(f"/boards/{board['id']}/sprints", json=body)
    problem(response, status, "validation_error" if status == 422 else None)
    assert api.ok("GET", f"/boards/{board['id']}/sprints") == []


def test_names_unique_per_board(api, make_api):
    ws, board = setup_board(api)
    create(api, board, "Sprint 1", 0, 6)
    problem(api.post(f"/boards/{board['id']}/sprints",
                     json={"name": "SPRINT 1", "start_date": days(20), "end_date": days(21)}), 409,
            "duplicate")
    other = api.board(ws["id"], "OTH", "Other")
    create(api, other, "Sprint 1", 0, 6)  # another board may use the name


def test_overlapping_open_sprints_refused(api):
    _, board = setup_board(api)
    first = create(api, board, "One", 0, 13)
    for start, end in ((13, 20), (-5, 0), (3, 4), (-10, 30)):
        response = api.post(f"/boards/{board['id']}/sprints",
                            json={"name": f"Two {start}", "start_date": days(start), "end_date": days(end)})
        body = problem(response, 409, "conflict")
        assert "One" in body["detail"]
    second = create(api, board, "Two", 14, 27)
    problem(api.patch(f"/sprints/{second['id']}", json={"start_date": days(10)}), 409, "conflict")
    # a closed sprint no longer blocks its dates
    api.ok("POST", f"/sprints/{first['id']}/close", json={"carry_over_to": None})
    create(api, board, "Three", 0, 13)


def test_overlapping_edits_checked_under_concurrency(api):
    """Two sprints moved onto the same dates at once: one of them only."""
    _, board = setup_board(api)
    sprints = [create(api, board, f"S{i}", 20 * i, 20 * i + 5) for i in range(1, 3)]

    async def both() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=api.http.base_url, headers=api.http.headers,
                                     timeout=30) as client:
            return await asyncio.gather(*[
                client.patch(f"/sprints/{s['id']}", json={"start_date": days(0), "end_date": days(5)})
                for s in sprints])

    statuses = sorted(r.status_code for r in asyncio.run(both()))
    assert statuses == [200, 409]


def test_overlap_checked_under_concurrency(api):
    """Two creates of overlapping sprints at once: one of them only (the board row lock)."""
    _, board = setup_board(api)

    async def both() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=api.http.base_url, headers=api.http.headers,
                                     timeout=30) as client:
            return await asyncio.gather(*[
                client.post(f"/boards/{board['id']}/sprints",
                            json={"name": f"S{i}", "start_date": days(i), "end_date": days(i + 9)})
                for i in range(2)])

    statuses = sorted(r.status_code for r in asyncio.run(both()))
    assert statuses == [201, 409]


# --- edit -----------------------------------------------------------------------------------


def test_patch(api, database_url):
    ws, board = setup_board(api)
    sprint = create(api, board, goal="old goal")
    patched = api.ok("PATCH", f"/sprints/{sprint['id']}",
                     json={"name": "Renamed", "end_date": days(20), "goal": None, "capacity_points": 30})
    assert (patched["name"], patched["end_date"], patched["goal"], patched["capacity_points"],
            patched["version"]) == ("Renamed", days(20), None, 30, 2)
    same = api.ok("PATCH", f"/sprints/{sprint['id']}", json={"name": "Renamed"})
    assert same["version"] == 2  # nothing changed: no new version, no Change
    [_, update] = feed(database_url, ws["id"], "sprint")
    assert update[0] == "update" and update[4] == 2
    assert update[2] == {"name": {"old": "Sprint 1", "new": "Renamed"},
                         "end_date": {"old": days(13), "new": days(20)},
                         "goal": {"old": "old goal", "new": None},
                         "capacity_points": {"old": 40, "new": 30}}
    problem(api.patch(f"/sprints/{sprint['id']}", json={"end_date": days(-1)}), 422, "validation_error")
    problem(api.patch(f"/sprints/{sprint['id']}", json={"base_version": 1, "name": "Stale"}), 409, "conflict")
    problem(api.patch(f"/sprints/{sprint['id']}", json={"name": "Stale"}, headers={"If-Match": '"1"'}),
            409, "conflict")
    assert api.ok("PATCH", f"/sprints/{sprint['id']}", json={"base_version": 2, "name": "Fresh"})["version"] == 3
    create(api, board, "Taken", 30, 31)
    problem(api.patch(f"/sprints/{sprint['id']}", json={"name": "taken"}), 409, "duplicate")


# --- delete ---------------------------------------------------------------------------------


def test_delete_takes_its_cards_out(api, database_url):
    ws, board = setup_board(api)
    sprint = create(api, board)
    cards = [card(api, board, f"c{i}", i, sprint) for i in range(3)]
    api.ok("DELETE", f"/cards/{cards[2]['id']}")  # a deleted card leaves the sprint too
    response = api.delete(f"/sprints/{sprint['id']}")
    assert response.status_code == 204, response.text
    problem(api.get(f"/sprints/{sprint['id']}"), 404, "not_found")
    problem(api.delete(f"/sprints/{sprint['id']}"), 404, "not_found")
    assert api.ok("GET", f"/boards/{board['id']}/sprints") == []
    for c in cards:
        assert api.ok("GET", f"/cards/{c['id']}")["sprint_id"] is None
    # each card left through the card path, with its Change; the sprint's delete is in the feed
    card_changes = [row for row in feed(database_url, ws["id"], "card")
                    if row[0] == "update" and "sprint_id" in row[2]]
    assert sorted(row[1] for row in card_changes) == sorted(c["id"] for c in cards)
    assert all(row[2]["sprint_id"] == {"old": sprint["id"], "new": None} for row in card_changes)
    assert feed(database_url, ws["id"], "sprint")[-1][0] == "delete"
    # the name is free again, and the deleted sprint cannot take cards
    create(api, board)
    problem(api.patch(f"/cards/{cards[0]['id']}", json={"sprint_id": sprint["id"]}), 422)


# --- close and carry-over -------------------------------------------------------------------


def test_close_carries_over_exactly_the_unfinished_cards(api, database_url):
    ws, board = setup_board(api)
    one = create(api, board, "One", -13, 0)
    two = create(api, board, "Two", 1, 14)
    todo = card(api, board, "todo", 3, one, column="Todo")
    doing = card(api, board, "doing", 5, one, column="In Progress")
    done = card(api, board, "done", 8, one, column="Done")
    removed = card(api, board, "removed", 2, one)
    api.ok("DELETE", f"/cards/{removed['id']}")
    elsewhere = card(api, board, "no sprint", 1)

    closed = api.ok("POST", f"/sprints/{one['id']}/close", json={"carry_over_to": two["id"]})
    assert sorted(closed["carried_over"]) == sorted([todo["key"], doing["key"]])
    assert closed["sprint"]["status"] == "completed" and closed["sprint"]["version"] == 2
    assert (closed["sprint"]["card_count"], closed["sprint"]["completed_points"]) == (1, 8)
    assert closed["carry_over_to"]["id"] == two["id"]
    assert (closed["carry_over_to"]["card_count"], closed["carry_over_to"]["committed_points"]) == (2, 8)
    sprint_of = {c["id"]: api.ok("GET", f"/cards/{c['id']}")["sprint_id"]
                 for c in (todo, doing, done, removed, elsewhere)}
    assert sprint_of == {todo["id"]: two["id"], doing["id"]: two["id"], done["id"]: one["id"],
                         removed["id"]: one["id"], elsewhere["id"]: None}
    moved = [row[1] for row in feed(database_url, ws["id"], "card")
             if "sprint_id" in row[2] and row[2]["sprint_id"]["old"] == one["id"]]
    assert sorted(moved) == sorted([todo["id"], doing["id"]])
    close_change = feed(database_url, ws["id"], "sprint")[-1]
    assert close_change[0] == "update" and list(close_change[2]) == ["closed_at"]

    problem(api.post(f"/sprints/{one['id']}/close", json={"carry_over_to": None}), 409, "conflict")
    # a closed sprint takes no cards
    problem(api.patch(f"/cards/{elsewhere['id']}", json={"sprint_id": one["id"]}), 422)


def test_close_without_carry_over(api):
    _, board = setup_board(api)
    sprint = create(api, board, start=-5, end=5)
    open_card = card(api, board, "open", 1, sprint)
    result = api.ok("POST", f"/sprints/{sprint['id']}/close", json={})
    assert result["carried_over"] == [open_card["key"]] and result["carry_over_to"] is None
    assert api.ok("GET", f"/cards/{open_card['id']}")["sprint_id"] is None


def test_close_refuses_bad_targets(api):
    ws, board = setup_board(api)
    sprint = create(api, board, "One", 0, 6)
    closed = create(api, board, "Closed", 7, 8)
    api.ok("POST", f"/sprints/{closed['id']}/close", json={})
    other_board = api.board(ws["id"], "OTH", "Other")
    foreign = create(api, other_board, "Foreign", 0, 6)
    for target in (sprint["id"], closed["id"], foreign["id"], str(uuid.uuid4())):
        problem(api.post(f"/sprints/{sprint['id']}/close", json={"carry_over_to": target}), 422,
                "validation_error")
    assert api.ok("GET", f"/sprints/{sprint['id']}")["closed_at"] is None


def test_two_concurrent_closes_move_the_cards_once(api, database_url):
    ws, board = setup_board(api)
    one = create(api, board, "One", -13, 0)
    two = create(api, board, "Two", 1, 14)
    unfinished = [card(api, board, f"open {i}", i, one) for i in range(6)]
    card(api, board, "finished", 5, one, column="Done")

    async def both() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=api.http.base_url, headers=api.http.headers,
                                     timeout=30) as client:
            return await asyncio.gather(*[
                client.post(f"/sprints/{one['id']}/close", json={"carry_over_to": two["id"]})
                for _ in range(2)])

    responses = asyncio.run(both())
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    winner = next(r for r in responses if r.status_code == 200).json()
    assert sorted(winner["carried_over"]) == sorted(c["key"] for c in unfinished)
    problem(next(r for r in responses if r.status_code == 409), 409, "conflict")
    moves = [row for row in feed(database_url, ws["id"], "card")
             if "sprint_id" in row[2] and row[2]["sprint_id"] == {"old": one["id"], "new": two["id"]}]
    assert sorted(row[1] for row in moves) == sorted(c["id"] for c in unfinished)  # once each
    closes = [row for row in feed(database_url, ws["id"], "sprint") if "closed_at" in row[2]]
    assert len(closes) == 1


def test_cards_joining_while_the_sprint_closes_are_carried_or_refused(api):
    """Cards added to a sprint while it closes: each one lands before the close (and is carried
    over) or after it (and is refused); none is left behind in the closed sprint."""
    _, board = setup_board(api)
    one = create(api, board, "One", -13, 0)
    two = create(api, board, "Two", 1, 14)
    joining = [card(api, board, f"late {i}", 1) for i in range(8)]

    async def race() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=api.http.base_url, headers=api.http.headers,
                                     timeout=30) as client:
            patches = [client.patch(f"/cards/{c['id']}", json={"sprint_id": one["id"]}) for c in joining]
            close = client.post(f"/sprints/{one['id']}/close", json={"carry_over_to": two["id"]})
            return await asyncio.gather(*patches[:4], close, *patches[4:])

    responses = asyncio.run(race())
    closed = responses[4]
    assert closed.status_code == 200, closed.text
    for c, response in zip(joining, responses[:4] + responses[5:], strict=True):
        now = api.ok("GET", f"/cards/{c['id']}")["sprint_id"]
        if response.status_code == 200:
            assert now == two["id"] and c["key"] in closed.json()["carried_over"]
        else:
            problem(response, 422, "validation_error")
            assert now is None
    assert api.ok("GET", f"/sprints/{one['id']}")["card_count"] == 0


# --- cards join sprints through the card path -----------------------------------------------


def test_cards_join_and_leave_through_patch_and_bulk_update(api):
    _, board = setup_board(api)
    sprint = create(api, board)
    a, b = card(api, board, "a", 2), card(api, board, "b", 3)
    assert api.ok("PATCH", f"/cards/{a['id']}", json={"sprint_id": sprint["id"]})["sprint_id"] == sprint["id"]
    api.ok("POST", "/cards/bulk-update", json={"cards": [{"card": b["key"], "sprint_id": sprint["id"]}]})
    assert api.ok("GET", f"/sprints/{sprint['id']}")["committed_points"] == 5
    api.ok("PATCH", f"/cards/{a['id']}", json={"sprint_id": None})
    assert api.ok("GET", f"/sprints/{sprint['id']}")["committed_points"] == 3
    problem(api.patch(f"/cards/{a['id']}", json={"sprint_id": str(uuid.uuid4())}), 422)


# --- the snapshot and the change feed -------------------------------------------------------


def test_snapshot_and_feed(api, make_api):
    ws, board = setup_board(api)
    viewer = make_api()
    join(api, viewer, ws["id"], "viewer")
    kept = create(api, board, "Kept", 0, 6)
    gone = create(api, board, "Gone", 7, 8)
    api.ok("DELETE", f"/sprints/{gone['id']}")
    snapshot = viewer.ok("GET", f"/workspaces/{ws['id']}/snapshot")
    assert [s["id"] for s in snapshot["sprints"]] == [kept["id"]]
    assert snapshot["sprints"][0] == api.ok("GET", f"/sprints/{kept['id']}")
    page = viewer.ok("GET", f"/workspaces/{ws['id']}/changes", params={"since": 0})
    sprint_changes = [(c["entity_type"], c["entity_id"], c["op"]) for c in page["changes"]
                      if c["entity_type"] == "sprint"]
    assert sprint_changes == [("sprint", kept["id"], "create"), ("sprint", gone["id"], "create"),
                              ("sprint", gone["id"], "delete")]
    deleted = next(c for c in page["changes"] if c["op"] == "delete" and c["entity_type"] == "sprint")
    assert deleted["data"]["deleted_at"] is not None and deleted["version"] == 2


# --- roles ----------------------------------------------------------------------------------


def test_viewers_read_members_write(api, make_api):
    ws, board = setup_board(api)
    viewer, member = make_api(), make_api()
    join(api, viewer, ws["id"], "viewer")
    join(api, member, ws["id"], "member")
    body = {"name": "By member", "start_date": days(0), "end_date": days(3)}
    problem(viewer.post(f"/boards/{board['id']}/sprints", json=body), 403, "forbidden")
    sprint = member.ok("POST", f"/boards/{board['id']}/sprints", json=body)
    assert viewer.ok("GET", f"/sprints/{sprint['id']}")["name"] == "By member"
    problem(viewer.post(f"/sprints/{sprint['id']}/close", json={}), 403, "forbidden")
    problem(make_api().get(f"/sprints/{sprint['id']}"), 404, "not_found")


def test_idempotent_create(api):
    _, board = setup_board(api)
    body = {"name": "Once", "start_date": days(0), "end_date": days(3)}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = api.post(f"/boards/{board['id']}/sprints", json=body, headers=key)
    again = api.post(f"/boards/{board['id']}/sprints", json=body, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json() and again.headers.get("Idempotent-Replayed") == "true"
    assert len(api.ok("GET", f"/boards/{board['id']}/sprints")) == 1


def test_deleted_board_hides_its_sprints(api):
    _, board = setup_board(api)
    sprint = create(api, board)
    api.ok("DELETE", f"/boards/{board['id']}")
    problem(api.get(f"/sprints/{sprint['id']}"), 404, "not_found")
    problem(api.get(f"/boards/{board['id']}/sprints"), 404, "not_found")


# --- today from the test clock --------------------------------------------------------------


@pytest.fixture(scope="module")
def clocked(server_env, tmp_path_factory):
    """A second server on the same database whose "now" a test sets (TASKLY_TEST_CLOCK_FILE)."""
    root = tmp_path_factory.mktemp("clocked")
    clock = root / "now"
    clock.write_text("")
    process = start_server({**server_env, "TASKLY_TEST_CLOCK_FILE": str(clock)}, root)
    yield process, clock
    process.stop()


def test_status_and_burndown_follow_the_test_clock(clocked):
    server, clock = clocked
    api = Api.login(server.url)
    ws, board = setup_board(api)
    sprint = create(api, board, start=1, end=5)
    assert (sprint["status"], sprint["overdue"]) == ("planned", False)
    assert api.ok("GET", f"/sprints/{sprint['id']}/burndown")["days"] == []
    try:
        clock.write_text(datetime.combine(TODAY + timedelta(days=3), time(12), UTC).isoformat())
        got = api.ok("GET", f"/sprints/{sprint['id']}/burndown")
        assert (got["sprint"]["status"], got["sprint"]["overdue"]) == ("active", False)
        assert [day["date"] for day in got["days"]] == [days(1), days(2), days(3)]
        clock.write_text(datetime.combine(TODAY + timedelta(days=9), time(0, 30), UTC).isoformat())
        assert [(s["status"], s["overdue"]) for s in api.ok("GET", f"/boards/{board['id']}/sprints")] == [
            ("active", True)]
        snapshot = api.ok("GET", f"/workspaces/{ws['id']}/snapshot")
        assert (snapshot["sprints"][0]["status"], snapshot["sprints"][0]["overdue"]) == ("active", True)
        assert len(api.ok("GET", f"/sprints/{sprint['id']}/burndown")["days"]) == 5
    finally:
        clock.write_text("")
