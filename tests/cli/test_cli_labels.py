"""`taskly label ls|create|edit|rm` through the real executable and server, with --json and exit
codes; labels that cards bring in; a rename and a delete reaching every card and the cache."""

from __future__ import annotations

from taskly_shared.labels import palette_color

from tests.cli.support import cli_board, ok, run_taskly


def one_line_error(result, code: int, *needles: str) -> None:
    assert result.code == code, (result.code, result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("taskly: "), result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_label_commands_end_to_end(server) -> None:
    cli_board(server.url, "LBL")
    created = ok("label", "create", "bug", "--color", "D73A4A", "--description", "Broken", "--json")
    assert {k: created.json()[k] for k in ("name", "color", "description")} == {
        "name": "bug", "color": "#d73a4a", "description": "Broken"}
    assert "Created label bug (#d73a4a)" in created.stderr
    one_line_error(run_taskly("label", "create", "bug"), 5, "exists")
    one_line_error(run_taskly("label", "create", "red", "--color", "red"), 2, "not a colour")
    one_line_error(run_taskly("label", "create", "x" * 51), 2)
    one_line_error(run_taskly("label", "create", "later", "--offline"), 6, "cannot create a label offline")

    ok("add", "Crash on save", "--label", "bug", "--label", "ui")
    ok("add", "Polish", "--label", "ui")
    listed = ok("label", "ls", "--json").json()
    assert [(x["name"], x["color"], x["cards"]) for x in listed] == [
        ("bug", "#d73a4a", 1), ("ui", palette_color("ui"), 2)]
    table = ok("label", "ls").stdout  # a pipe: tab-separated rows, no colour codes (NO_COLOR too)
    assert table.splitlines() == ["bug\t#d73a4a\t1\tBroken", f"ui\t{palette_color('ui')}\t2\t"]

    edited = ok("label", "edit", "UI", "--name", "frontend", "--color", "#0e8a16", "--json").json()
    assert (edited["cards"], edited["label"]["name"], edited["label"]["color"]) == (2, "frontend", "#0e8a16")
    assert [c["labels"] for c in ok("ls", "--json", "--offline").json()] == [["bug", "frontend"], ["frontend"]]
    one_line_error(run_taskly("label", "edit", "nope", "--color", "#000000"), 3, "no label 'nope'", "frontend")
    one_line_error(run_taskly("label", "edit", "bug"), 2, "nothing to change")
    one_line_error(run_taskly("label", "edit", "bug", "--name", "frontend"), 5)

    # rm asks first: without a terminal (or with --no-input) it needs --yes.
    one_line_error(run_taskly("label", "rm", "frontend"), 2, "--yes")
    removed = ok("label", "rm", "frontend", "--yes", "--json").json()
    assert (removed["cards"], removed["label"]["name"]) == (2, "frontend")
    assert [c["labels"] for c in ok("ls", "--json", "--offline").json()] == [["bug"], []]
    assert [x["name"] for x in ok("label", "ls", "--json", "--offline").json()] == ["bug"]
    shown = ok("show", "1").stdout
    assert "  labels    bug" in shown
