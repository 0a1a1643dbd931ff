"""Bulk card commands through the real executable and server: `mv|edit|assign|rm CARD...` and
`--where FILTER` in one `POST /cards/bulk-update` (all or none), `--dry-run`, offline as one queued
write; `ls`/`search` sorting and the richer filters."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from tests.cli.support import cli_board, cli_login, ok, run_taskly
from tests.support.api import Api


def keys(cards: list[dict]) -> list[str]:
    return [card["key"] for card in cards]


def board_cards(server_url: str, user: str) -> dict[str, dict]:
    """The server's cards of the user's WEB board, by key (deleted ones too)."""
    api = Api.login(server_url, user)
    [workspace] = api.ok("GET", "/workspaces")
    snapshot = api.ok("GET", f"/workspaces/{workspace['id']}/snapshot")
    return {card["key"]: card for card in snapshot["cards"]}


def activity(server_url: str, user: str, key: str) -> list[str]:
    api = Api.login(server_url, user)
    return [change["op"] for change in api.ok("GET", f"/cards/{key}/activity")]


def test_bulk_commands_write_once_all_or_none(server, tmp_path: Path) -> None:
    me = cli_board(server.url)
    bob = {"TASKLY_HOME": str(tmp_path / "bob")}
    bob_name = cli_login(server.url, env=bob)
    token = ok("workspace", "invite", "--role", "member").stdout.strip()
    ok("workspace", "join", token, env=bob)
    for title, labels in (("Login bug", ["bug"]), ("Signup bug", ["bug", "ui"]), ("Docs", []), ("Crash", ["bug"])):
        ok("add", title, "--column", "todo", *[arg for label in labels for arg in ("--label", label)])

    # several cards: one request, one line per card, --json the cards
    moved = ok("mv", "1", "WEB-2", "in review", "--json")
    assert [(c["key"], c["column"]) for c in moved.json()] == [("WEB-1", "In Review"), ("WEB-2", "In Review")]
    lines = ok("mv", "1", "2", "3", "In Progress").stdout.splitlines()
    assert lines == ["WEB-1\tcolumn In Review → In Progress", "WEB-2\tcolumn In Review → In Progress",
                     "WEB-3\tcolumn Todo → In Progress"]
    assert activity(server.url, me, "WEB-1")[0] == "move"  # the one move function's Change

    # an unknown card: not found, nothing written (no request, nothing queued)
    before = board_cards(server.url, me)
    code, out, err = run_taskly("mv", "1", "WEB-99", "done")
    assert (code, out) == (3, "") and err.count("\n") == 1 and "WEB-99" in err
    code, _, err = run_taskly("edit", "1", "42", "--priority", "high")
    assert code == 3
    assert board_cards(server.url, me) == before
    assert ok("status", "--json").json()["queued"] == 0

    # edit: labels +x / -y / set, priority, points, due, sprint; only what differs is written
    edited = ok("edit", "1", "2", "4", "--label", "+triage", "--label", "-ui", "-p", "high", "--points", "3",
                "--due", "+2d", "--json").json()
    assert [c["labels"] for c in edited] == [["bug", "triage"], ["bug", "triage"], ["bug", "triage"]]
    assert {(c["priority"], c["points"], c["due"]) for c in edited} == {
        ("high", 3, str(date.today() + timedelta(days=2)))}
    ok("sprint", "create", "S1", "--start", "today", "--end", "+1w")
    sprinted = ok("edit", "3", "4", "--sprint", "S1", "--json").json()
    assert len({c["sprint_id"] for c in sprinted}) == 1 and sprinted[0]["sprint_id"]
    assert ok("edit", "1", "--label", "+solo", "--json").json()["labels"] == ["bug", "triage", "solo"]  # one card

    # --where chooses by the filter grammar; --dry-run lists, writes nothing, exits 0
    dry = ok("edit", "--where", "label:bug column:'in progress'", "--priority", "urgent", "--dry-run")
    assert dry.stdout.splitlines() == ["WEB-1\tpriority high → urgent", "WEB-2\tpriority high → urgent"]
    assert "nothing written" in dry.stderr
    dry_json = ok("mv", "--where", "label:triage", "done", "--dry-run", "--json").json()
    assert [d["key"] for d in dry_json] == ["WEB-4", "WEB-1", "WEB-2"]  # board order: Todo first
    assert len({d["changes"]["column"] for d in dry_json}) == 1 and "→ Done" in dry_json[0]["summary"]
    unchanged = board_cards(server.url, me)
    assert all(unchanged[k]["priority"] == "high" and unchanged[k]["column"] != "Done" for k in ("WEB-1", "WEB-2"))
    none = ok("mv", "--where", "label:nothing-has-this", "done", "--json")
    assert none.json() == [] and "no cards match" in none.stderr

    # assign CARD... USER... (and --add / --remove), rm CARD...
    assigned = ok("assign", "1", "2", "me", bob_name, "--json").json()
    assert [c["assignees"] for c in assigned] == [[me, bob_name], [me, bob_name]]
    removed = ok("assign", "--where", f"@{bob_name}", bob_name, "--remove", "--json").json()
    assert [c["assignees"] for c in removed] == [[me], [me]]
    assert run_taskly("assign", "1", "2", "ghost").code == 3
    gone = ok("rm", "--where", "label:bug no-done", "--json").json()
    assert keys(gone) == ["WEB-4", "WEB-1", "WEB-2"] and all(c["deleted_at"] for c in gone)
    assert keys(ok("ls", "--json").json()) == ["WEB-3"]
    assert activity(server.url, me, "WEB-4")[0] == "delete"

    # usage errors: exit 2, nothing written
    for args in (("mv", "1", "2", "done", "--top"), ("edit", "1", "2", "--title", "x"),
                 ("mv", "1", "done", "--where", "label:bug"), ("edit", "--where", "lable:bug", "-p", "low"),
                 ("rm",), ("edit", "3", "4")):
        code, _, err = run_taskly(*args)
        assert code == 2 and err.count("\n") == 1, (args, err)

    # a member made a viewer: the whole write refused (exit 4), nothing changed, cache undone
    ok("restore", "WEB-1")
    ok("restore", "WEB-2")
    api = Api.login(server.url, me)
    [workspace] = api.ok("GET", "/workspaces")
    bob_id = next(m["user_id"] for m in api.ok("GET", f"/workspaces/{workspace['id']}/members")
                  if m["username"] == bob_name)
    ok("ls", env=bob)
    api.ok("PATCH", f"/workspaces/{workspace['id']}/members/{bob_id}", json={"role": "viewer"})
    before = board_cards(server.url, me)
    code, _, err = run_taskly("mv", "1", "2", "done", env=bob)
    assert code == 4 and err.count("\n") == 1
    assert board_cards(server.url, me) == before
    assert {c["column"] for c in ok("ls", "--offline", "--json", env=bob).json()} != {"Done"}
    assert ok("status", "--json", env=bob).json()["queued"] == 0


def test_an_offline_bulk_write_is_one_queued_write_that_lands_once(server) -> None:
    me = cli_board(server.url)
    for title in ("a", "b", "c"):
        ok("add", title)
    queued = ok("mv", "1", "2", "3", "done", "--offline", "--json")
    assert "queued" in queued.stderr and {c["column"] for c in queued.json()} == {"Done"}
    status = ok("status", "--json", "--offline").json()
    assert status["queued"] == 1
    assert {c["column"] for c in ok("ls", "--offline", "--json").json()} == {"Done"}  # the cache at once
    assert {c["column"] for c in board_cards(server.url, me).values()} == {"Backlog"}  # not the server
    ok("edit", "1", "3", "--priority", "high", "--offline")
    synced = ok("sync", "--json").json()
    assert len(synced["pushed"]) == 2 and synced["failed"] == []
    ok("sync")
    server_cards = board_cards(server.url, me)
    assert {c["column"] for c in server_cards.values()} == {"Done"}
    assert [server_cards[k]["priority"] for k in ("WEB-1", "WEB-2", "WEB-3")] == ["high", "none", "high"]
    for key in ("WEB-1", "WEB-2", "WEB-3"):  # each card's move applied once
        assert activity(server.url, me, key).count("move") == 1
    assert ok("status", "--json").json()["queued"] == 0


def test_ls_and_search_sort_limit_and_filters(server) -> None:
    me = cli_board(server.url)
    today = date.today()
    ok("add", "Old overdue", "--due", str(today - timedelta(days=3)), "-p", "low", "--points", "5", "--assign", "me")
    ok("add", "Due soon", "--due", "+2d", "-p", "urgent", "--points", "1")
    ok("add", "No date", "-p", "high", "--column", "done")
    ok("add", "Finished late", "--due", str(today - timedelta(days=1)), "--column", "done", "--points", "8")
    ok("edit", "2", "--title", "Due soon (edited)")

    def ls(*args: str) -> list[str]:
        return keys(ok("ls", *args, "--json").json())

    assert ls("--sort", "due") == ["WEB-1", "WEB-4", "WEB-2", "WEB-3"]  # no date last
    assert ls("--sort", "due", "--desc") == ["WEB-2", "WEB-4", "WEB-1", "WEB-3"]
    assert ls("--sort", "priority") == ["WEB-2", "WEB-3", "WEB-1", "WEB-4"]
    assert ls("--sort", "points", "--limit", "2") == ["WEB-2", "WEB-1"]
    assert ls("--sort", "title") == ["WEB-2", "WEB-4", "WEB-3", "WEB-1"]
    assert ls("--sort", "key", "--desc") == ["WEB-4", "WEB-3", "WEB-2", "WEB-1"]
    assert ls("--sort", "updated", "--desc")[0] == "WEB-2"
    assert ls("--sort", "created") == ["WEB-1", "WEB-2", "WEB-3", "WEB-4"]
    assert ls("--overdue") == ["WEB-1"]  # WEB-4 is done
    assert ls("--due-before", "today") == ["WEB-1", "WEB-4"]
    assert ls("--due-after", "today") == ["WEB-2"]
    assert ls("--unassigned", "--no-done") == ["WEB-2"]
    assert ls("--updated-since", "today", "--no-done") == ["WEB-1", "WEB-2"]
    assert ls("--updated-since", "+1d") == []
    assert ls("--where", f"@{me} overdue") == ["WEB-1"]
    assert ls("--where", "sort:-points limit:1") == ["WEB-4"]
    assert ls("--where", "priority:urgent,high due") == ["WEB-2"]  # a word of the title
    assert keys(ok("search", "due", "--overdue", "--json").json()) == ["WEB-1"]
    assert keys(ok("search", "o", "--no-done", "--sort", "key", "--desc", "--limit", "1", "--json").json()) == [
        "WEB-2"]
    for args, code in ((("ls", "--sort", "size"), 2), (("ls", "--due-before", "someday"), 2),
                       (("ls", "--limit", "0"), 2), (("ls", "--where", "column:nowhere"), 3),
                       (("ls", "--where", "sprint:nope"), 3), (("search", "x", "--where", "limit:x"), 2)):
        result = run_taskly(*args)
        assert result.code == code and result.stderr.count("\n") == 1, (args, result)
