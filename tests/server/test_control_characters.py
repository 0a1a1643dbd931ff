"""Names and titles are one line of plain text: control characters are refused at the edge (the shared
request models), with 422 `validation_error` (other invalid bodies are 400); descriptions and comments
keep their newlines and tabs."""

from __future__ import annotations

import pytest

from tests.server.test_cards import add, setup_board
from tests.support.checks import problem

HOSTILE = ["\x1b]0;pwned\x07", "clear \x1b[2J", "clip \x1b]52;c;cHduZWQ=\x07", "two\nlines", "tab\there",
           "del\x7f", "c1 \x9b31m"]


@pytest.mark.parametrize("title", HOSTILE)
def test_card_titles_refuse_control_characters(api, title: str) -> None:
    _, board = setup_board(api)
    body = problem(api.post(f"/boards/{board['id']}/cards", json={"title": title}), 422, "validation_error")
    assert [e["key"] for e in body["errors"]] == ["title"], body
    assert "control characters" in body["errors"][0]["message"]
    assert api.ok("GET", f"/boards/{board['id']}/cards") == []


def test_every_one_line_field_refuses_them_on_every_route(api) -> None:
    workspace, board = setup_board(api)
    card = add(api, board, "Fine title")
    refused = [
        api.patch(f"/cards/{card['id']}", json={"title": "a\x1bb"}),
        api.patch(f"/cards/{card['id']}", json={"labels": ["ok", "bad\nlabel"]}),
        api.post("/cards/bulk-update", json={"cards": [{"card": card["key"], "title": "x\ty"}]}),
        api.post("/workspaces", json={"name": "ws\x1b[2J"}),
        api.patch(f"/workspaces/{workspace['id']}", json={"name": "w\rs"}),
        api.post(f"/workspaces/{workspace['id']}/boards", json={"name": "b\x07", "key": "BAD"}),
        api.patch(f"/boards/{board['id']}", json={"name": "b\x9b"}),
        api.post(f"/boards/{board['id']}/columns", json={"name": "col\numn"}),
        api.patch(f"/cards/{card['id']}", json={"description": "colour \x1b[31mred"}),
        api.post(f"/cards/{card['id']}/comments", json={"body": "bell\x07"}),
    ]
    for response in refused:
        problem(response, 422, "validation_error")
    after = api.ok("GET", f"/cards/{card['id']}")
    assert (after["title"], after["labels"], after["version"]) == ("Fine title", [], card["version"])


def test_descriptions_and_comments_keep_newlines_and_tabs(api) -> None:
    _, board = setup_board(api)
    text = "Steps:\n\t1. open the page\r\n\t2. click [here](https://example.com)\n"
    created = add(api, board, "[bold red]looks like markup[/] \u202eand bidi", description=text)
    assert created["description"] == text and created["title"].startswith("[bold red]")
    patched = api.ok("PATCH", f"/cards/{created['id']}", json={"description": text + "more\n"})
    assert patched["description"] == text + "more\n"
    comment = api.post(f"/cards/{created['id']}/comments", json={"body": "line one\n\tindented"})
    assert comment.status_code == 201, comment.text
    assert comment.json()["body"] == "line one\n\tindented"
