"""The change feed, its pruning and the snapshot, against a real server process and Postgres."""

from __future__ import annotations

import threading
import uuid

from taskly_server.db.session import create_engine, create_sessionmaker
from taskly_server.domain.feed.jobs import prune_feed
from taskly_server.settings import Settings

from tests.support.checks import join, problem, sql


def setup_board(api, key: str = "WEB") -> tuple[dict, dict]:
    workspace = api.workspace(f"ws-{uuid.uuid4().hex[:6]}")
    return workspace, api.board(workspace["id"], key, key.title())


def add(api, board: dict, title: str, **fields) -> dict:
    response = api.post(f"/boards/{board['id']}/cards", json={"title": title, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def feed(api, workspace_id: str, since: int = 0, limit: int | None = None) -> dict:
    params = {"since": since} if limit is None else {"since": since, "limit": limit}
    return api.ok("GET", f"/workspaces/{workspace_id}/changes", params=params)


async def prune(database_url: str, **kwargs) -> dict:
    engine = create_engine(database_url, pool_size=2)
    try:
        ctx = {"sessionmaker": create_sessionmaker(engine), "settings": Settings(database_url=database_url)}
        return await prune_feed(ctx, **kwargs)
    finally:
        await engine.dispose()


# --- the feed --------------------------------------------------------------------------------


def test_pages_through_the_feed_in_seq_order(api):
    workspace, board = setup_board(api)
    cards = [add(api, board, f"card {i}") for i in range(7)]
    api.ok("PATCH", f"/cards/{cards[0]['key']}", json={"title": "renamed"})
    head = api.ok("GET", f"/workspaces/{workspace['id']}")["seq"]

    whole = feed(api, workspace["id"])
    assert [c["seq"] for c in whole["changes"]] == list(range(1, head + 1))
    assert whole["has_more"] is False and whole["next_since"] == head and whole["seq"] == head
    first = whole["changes"][0]
    assert first["entity_type"] == "workspace" and first["op"] == "create"
    assert first["actor"] == {"type": "user", "id": api.user["id"], "name": api.username,
                              "delivery_id": None}
    last = whole["changes"][-1]
    assert (last["entity_type"], last["entity_id"], last["op"]) == ("card", cards[0]["id"], "update")
    assert last["changes"]["title"] == {"old": "card 0", "new": "renamed"}
    assert last["data"]["title"] == "renamed" and last["version"] == 2

    seen, since, pages = [], 0, 0
    while True:
        page = feed(api, workspace["id"], since, limit=3)
        pages += 1
        assert len(page["changes"]) <= 3 and page["seq"] == head
        seen += [c["seq"] for c in page["changes"]]
        if not page["has_more"]:
            break
        assert len(page["changes"]) == 3 and page["next_since"] == page["changes"][-1]["seq"]
        since = page["next_since"]
    assert seen == list(range(1, head + 1)) and pages == -(-head // 3)
    assert page["next_since"] == head

    empty = feed(api, workspace["id"], head)
    assert empty == {"changes": [], "next_since": head, "has_more": False, "seq": head}
    assert feed(api, workspace["id"], head + 10)["changes"] == []
    assert len(feed(api, workspace["id"], 0, limit=5000)["changes"]) == head


def test_feed_parameters_are_checked(api):
    workspace = api.workspace()
    path = f"/workspaces/{workspace['id']}/changes"
    for params in ({"limit": 0}, {"limit": 5001}, {"since": -1}, {"since": "x"}, {"since": 2**63}):
        problem(api.get(path, params=params), 400, "validation_error")
    assert len(api.ok("GET", path)["changes"]) == 2  # default since 0, default limit


def test_feed_and_snapshot_need_membership(make_api):
    owner, viewer, stranger = make_api(), make_api(), make_api()
    workspace = owner.workspace()
    join(owner, viewer, workspace["id"], "viewer")
    for path in (f"/workspaces/{workspace['id']}/changes", f"/workspaces/{workspace['id']}/snapshot",
                 f"/workspaces/{uuid.uuid4()}/changes", f"/workspaces/{uuid.uuid4()}/snapshot"):
        problem(stranger.get(path), 404, "not_found")
    assert feed(viewer, workspace["id"])["seq"] == owner.ok("GET", f"/workspaces/{workspace['id']}")["seq"]
    snapshot = viewer.ok("GET", f"/workspaces/{workspace['id']}/snapshot")
    assert snapshot["workspace"]["role"] == "viewer"
    problem(make_api().http.get(f"/workspaces/{workspace['id']}/changes",
                                headers={"Authorization": "Bearer nope"}), 401, "unauthenticated")

    owner.ok("DELETE", f"/workspaces/{workspace['id']}")
    problem(viewer.get(f"/workspaces/{workspace['id']}/changes"), 404, "not_found")


# --- pruning ---------------------------------------------------------------------------------


async def test_prune_raises_the_floor_and_the_feed_answers_410(api, database_url):
    workspace, board = setup_board(api)
    card = add(api, board, "old news")
    api.ok("PATCH", f"/cards/{card['key']}", json={"priority": "high"})
    head = feed(api, workspace["id"])["seq"]

    kept = await prune(database_url, workspace_id=workspace["id"])  # default retention: 30 days
    assert kept["changes"] == 0 and kept["workspaces"] == 0
    assert len(feed(api, workspace["id"])["changes"]) == head

    summary = await prune(database_url, retention_days=0, workspace_id=workspace["id"])
    assert summary == {**summary, "workspaces": 1, "changes": head, "retention_days": 0}
    assert sql(database_url, "select feed_floor, seq from workspaces where id = %s",
               workspace["id"]) == [(head, head)]

    gone = problem(api.get(f"/workspaces/{workspace['id']}/changes", params={"since": 0}), 410, "gone")
    assert gone["feed_floor"] == head and gone["seq"] == head
    problem(api.get(f"/workspaces/{workspace['id']}/changes", params={"since": head - 1}), 410, "gone")
    assert feed(api, workspace["id"], head)["changes"] == []

    # The activity log keeps its rows (fields, actor, time); only the sync payload is retired.
    rows = sql(database_url, "select seq, data is null, changes from changes where workspace_id = %s "
               "order by seq", workspace["id"])
    assert [r[0] for r in rows] == list(range(1, head + 1)) and all(r[1] for r in rows)
    activity = api.ok("GET", f"/cards/{card['key']}/activity")
    assert [a["op"] for a in activity] == ["update", "create"]
    assert activity[0]["changes"]["priority"] == {"old": "none", "new": "high"}

    api.ok("PATCH", f"/cards/{card['key']}", json={"title": "fresh news"})
    after = feed(api, workspace["id"], head)
    assert [c["seq"] for c in after["changes"]] == [head + 1]
    assert after["changes"][0]["data"]["title"] == "fresh news"
    again = await prune(database_url, retention_days=0, workspace_id=workspace["id"])
    assert again["changes"] == 1
    assert (await prune(database_url, retention_days=0, workspace_id=workspace["id"]))["changes"] == 0


# --- the snapshot ----------------------------------------------------------------------------


def test_snapshot_equals_the_rest_api_and_the_feed_head(make_api):
    owner, member = make_api(), make_api()
    workspace, board = setup_board(owner, "APP")
    other_board = owner.board(workspace["id"], "OPS", "Ops")
    join(owner, member, workspace["id"], "member")
    cards = [add(owner, board, f"task {i}", labels=["x"], points=i) for i in range(4)]
    add(member, other_board, "ops task", assignees=[owner.username])
    owner.ok("PATCH", f"/cards/{cards[1]['key']}", json={"column": "Done"})
    owner.ok("DELETE", f"/cards/{cards[2]['key']}")

    snapshot = member.ok("GET", f"/workspaces/{workspace['id']}/snapshot")
    ws_id = workspace["id"]
    assert snapshot["workspace"] == member.ok("GET", f"/workspaces/{ws_id}")
    assert snapshot["workspace"]["role"] == "member"
    assert snapshot["members"] == member.ok("GET", f"/workspaces/{ws_id}/members")
    assert snapshot["boards"] == member.ok("GET", f"/workspaces/{ws_id}/boards")
    rest_cards = [card for b in snapshot["boards"]
                  for card in member.ok("GET", f"/boards/{b['id']}/cards", params={"include_deleted": True})]
    assert sorted(snapshot["cards"], key=lambda c: c["id"]) == sorted(rest_cards, key=lambda c: c["id"])
    deleted = [c for c in snapshot["cards"] if c["deleted_at"] is not None]
    assert [c["key"] for c in deleted] == [cards[2]["key"]] and len(snapshot["cards"]) == 5

    page = feed(member, ws_id)
    assert snapshot["seq"] == snapshot["workspace"]["seq"] == page["seq"] == page["changes"][-1]["seq"]


def test_snapshot_is_consistent_while_writes_go_on(api):
    """Under concurrent writes each snapshot shows exactly the changes up to its seq."""
    workspace, board = setup_board(api)
    cards = [add(api, board, f"c{i}") for i in range(3)]
    stop = threading.Event()

    def write() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            api.ok("PATCH", f"/cards/{cards[i % 3]['key']}", json={"points": i % 50})

    writer = threading.Thread(target=write)
    writer.start()
    try:
        # Until the writer has moved the seq a few times (a held snapshot is sent in well under
        # a write's time: a fixed number of reads could all come before the first write).
        snapshots = []
        while len({s["seq"] for s in snapshots}) < 4 and len(snapshots) < 2000:
            snapshots.append(api.ok("GET", f"/workspaces/{workspace['id']}/snapshot"))
    finally:
        stop.set()
        writer.join()
    changes = feed(api, workspace["id"], limit=5000)["changes"]
    assert len({s["seq"] for s in snapshots}) > 1, "the writer made no progress"
    for snapshot in snapshots:
        latest = {}
        for change in changes:
            if change["seq"] <= snapshot["seq"] and change["entity_type"] == "card":
                latest[change["entity_id"]] = change["data"]
        assert {c["id"]: (c["version"], c["points"]) for c in snapshot["cards"]} == {
            card_id: (data["version"], data["points"]) for card_id, data in latest.items()}

