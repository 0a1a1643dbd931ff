"""A card's branch set through PATCH (what `taskly start` queues when it created the branch locally):
validated like a git branch name, recorded in the change feed, cleared with null, and combined with
the other fields of the same write (assignees, column) in one change."""

from __future__ import annotations

import pytest

from tests.server.test_cards import add, card_changes, setup_board
from tests.support.checks import join, problem


def test_patch_sets_and_clears_the_branch_and_the_feed_records_it(make_api, database_url):
    alice, viewer = make_api(), make_api()
    workspace, board = setup_board(alice)
    join(alice, viewer, workspace["id"], "viewer")
    card = add(alice, board, "Fix login redirect")
    assert card["branch"] is None

    started = alice.ok("PATCH", "/cards/WEB-1", json={
        "branch": "web-1-fix-login-redirect", "assignees": [alice.username], "column": "In Progress",
        "base_version": card["version"]})
    assert started["branch"] == "web-1-fix-login-redirect" and started["version"] == 2
    assert (started["column"], started["assignees"], started["conflicts"]) == (
        "In Progress", [alice.username], [])
    assert alice.ok("GET", f"/cards/{card['id']}")["branch"] == "web-1-fix-login-redirect"

    rows = card_changes(database_url, card["id"])
    seq, op, version, changes, conflicts, data = rows[-1]
    assert (op, version, conflicts) == ("update", 2, [])
    assert changes["branch"] == {"old": None, "new": "web-1-fix-login-redirect"}
    assert changes["assignees"] == {"old": [], "new": [alice.username]}
    assert changes["column"] == {"old": "Backlog", "new": "In Progress"}
    assert data["branch"] == "web-1-fix-login-redirect"
    feed = alice.ok("GET", f"/workspaces/{workspace['id']}/changes", params={"since": seq - 1})
    assert feed["changes"][0]["changes"]["branch"]["new"] == "web-1-fix-login-redirect"

    # the same value again is no change; a nested name is fine; null clears
    assert alice.ok("PATCH", "/cards/WEB-1", json={"branch": "web-1-fix-login-redirect"})["version"] == 2
    nested = alice.ok("PATCH", "/cards/WEB-1", json={"branch": "feature/web-1-login"})
    assert nested["branch"] == "feature/web-1-login" and nested["version"] == 3
    cleared = alice.ok("PATCH", "/cards/WEB-1", json={"branch": None})
    assert cleared["branch"] is None and cleared["version"] == 4
    assert card_changes(database_url, card["id"])[-1][3] == {
        "branch": {"old": "feature/web-1-login", "new": None}}

    problem(viewer.patch("/cards/WEB-1", json={"branch": "web-1-x"}), 403, "forbidden")
    bulk = alice.ok("POST", "/cards/bulk-update", json={"cards": [{"card": "WEB-1", "branch": "web-1-bulk"}]})
    assert bulk[0]["branch"] == "web-1-bulk"


@pytest.mark.parametrize("branch", [
    "", "-starts-with-dash", ".hidden", "ends/", "ends.", "x.lock", "a..b", "a//b", "a/.b", "has space",
    "tilde~1", "caret^", "colon:x", "what?", "star*", "bracket[", "back\\slash", "at@{1}", "tab\tx",
    "x" * 256,
])
def test_invalid_branch_names_are_refused(api, branch):
    _, board = setup_board(api)
    add(api, board, "Card")
    body = problem(api.patch("/cards/WEB-1", json={"branch": branch}), 400, "validation_error")
    assert "branch" in str(body)
    assert api.ok("GET", "/cards/WEB-1")["branch"] is None


def test_create_does_not_take_a_branch(api):
    _, board = setup_board(api)
    refused = api.post(f"/boards/{board['id']}/cards", json={"title": "Card", "branch": "web-1-card"})
    problem(refused, 400, "validation_error")
