"""The workspace's audit log (`GET /workspaces/{id}/activity`) against a real server and Postgres:
newest first, paged, filtered by user (API tokens included), card (its comments too), entity, op
and time; field by field from what to what; still whole after the feed's sync payload is pruned."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.server.test_feed import prune
from tests.support.api import Api
from tests.support.checks import join, problem


def activity(api, workspace_id: str, **params) -> dict:
    return api.ok("GET", f"/workspaces/{workspace_id}/activity", params=params)


def every(api, workspace_id: str, **params) -> list[dict]:
    """All pages, following next_cursor."""
    found, cursor = [], None
    while True:
        page = activity(api, workspace_id, **params, **({"cursor": cursor} if cursor else {}))
        found += page["changes"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def test_audit_log_filters_pages_and_survives_pruning(make_api, server, database_url):
    owner, bob, viewer, outsider = make_api(), make_api(), make_api(), make_api()
    ws = owner.workspace("Audit")
    join(owner, bob, ws["id"], "member")
    join(owner, viewer, ws["id"], "viewer")
    board = owner.board(ws["id"], "AUD", "Audit")
    card = owner.ok("POST", f"/boards/{board['id']}/cards", json={"title": "First", "labels": ["bug"]})
    other = owner.ok("POST", f"/boards/{board['id']}/cards", json={"title": "Other"})
    bob.ok("PATCH", f"/cards/{card['key']}", json={"title": "Renamed", "priority": "high"})
    bob.ok("POST", f"/cards/{card['id']}/move", json={"column": "Todo"})
    comment = bob.ok("POST", f"/cards/{card['id']}/comments", json={"body": "on it"})
    token = bob.ok("POST", "/tokens", json={"name": "ci"})["token"]
    Api(server.url, token).ok("PATCH", f"/cards/{other['key']}", json={"points": 3})

    whole = every(owner, ws["id"], limit=3)
    head = owner.ok("GET", f"/workspaces/{ws['id']}")["seq"]
    assert [c["seq"] for c in whole] == list(range(head, 0, -1))  # newest first, every change, once
    assert all(c["data"] is None for c in whole)  # the audit part only, never the sync payload
    renamed = next(c for c in whole if c["entity_type"] == "card" and "title" in c["changes"]
                   and c["op"] == "update")
    assert renamed["changes"]["title"] == {"old": "First", "new": "Renamed"}
    assert renamed["changes"]["priority"] == {"old": "none", "new": "high"}
    assert renamed["actor"]["name"] == bob.username and renamed["actor"]["type"] == "user"

    by_bob = every(owner, ws["id"], user=bob.username.upper())
    assert {(c["entity_type"], c["op"]) for c in by_bob} >= {("card", "update"), ("card", "move"),
                                                              ("comment", "create")}
    assert any(c["actor"]["type"] == "token" for c in by_bob)  # through bob's API token
    assert all(c["actor"]["name"] == bob.username for c in by_bob)
    assert [c["seq"] for c in every(owner, ws["id"], user=bob.user["id"])] == [c["seq"] for c in by_bob]

    of_card = every(owner, ws["id"], card=card["key"])
    assert {c["entity_id"] for c in of_card} == {card["id"], comment["id"]}
    assert [c["entity_type"] for c in every(owner, ws["id"], entity="comment")] == ["comment"]
    assert [c["op"] for c in every(owner, ws["id"], op="move")] == ["move"]
    assert {c["entity_type"] for c in every(owner, ws["id"], entity="member")} == {"member"}

    today = datetime.now(UTC).date()
    assert every(owner, ws["id"], since=str(today + timedelta(days=1))) == []
    assert every(owner, ws["id"], until=str(today - timedelta(days=1))) == []
    assert len(every(owner, ws["id"], since=str(today), until=str(today))) == head
    assert len(every(owner, ws["id"], since=(datetime.now(UTC) - timedelta(hours=1)).isoformat())) == head

    problem(owner.get(f"/workspaces/{ws['id']}/activity", params={"entity": "robot"}), 422, "validation_error")
    problem(owner.get(f"/workspaces/{ws['id']}/activity", params={"since": "last week"}), 422)
    problem(owner.get(f"/workspaces/{ws['id']}/activity", params={"user": "nobody-at-all"}), 404)
    problem(owner.get(f"/workspaces/{ws['id']}/activity", params={"card": "AUD-99"}), 404)
    problem(viewer.get(f"/workspaces/{ws['id']}/activity"), 403, "forbidden")
    problem(outsider.get(f"/workspaces/{ws['id']}/activity"), 404, "not_found")
    assert bob.ok("GET", f"/workspaces/{ws['id']}/activity", params={"limit": 1})["next_cursor"] == head

    # Pruning the sync payload (every change older than now) leaves the audit log as it was.
    summary = asyncio.run(prune(database_url, retention_days=0, workspace_id=ws["id"]))
    assert summary["changes"] >= head
    problem(owner.get(f"/workspaces/{ws['id']}/changes", params={"since": 0}), 410, "gone")
    assert every(owner, ws["id"], limit=500) == whole
