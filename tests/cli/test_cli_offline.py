"""Offline-first behaviour of the real CLI: queued writes pushed exactly once, stale reads, `--offline`."""

from __future__ import annotations

import socket
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.cli.support import cli_board, ok, run_taskly
from tests.support.api import Api
from tests.support.processes import start_server


def keys(cards: list[dict]) -> list[str]:
    return [card["key"] for card in cards]


def test_writes_queue_while_the_server_is_down_and_push_once(server, server_env, tmp_path: Path) -> None:
    private = start_server(server_env, tmp_path / "first")
    port = urlsplit(private.url).port
    try:
        user = cli_board(private.url)
        ok("add", "Online card")
        workspace_id = ok("workspace", "ls", "--json").json()[0]["id"]
        private.stop()

        added = ok("add", "Offline card", "--label", "offline", "--json")
        assert "queued" in added.stderr and added.json()["key"] == "" and added.json()["number"] == 0
        edited = ok("edit", "1", "--title", "Edited offline", "--points", "8")
        assert "queued" in edited.stderr and edited.stdout.strip() == "WEB-1"
        assert "queued" in ok("mv", "WEB-1", "done").stderr
        assert "queued" in ok("comment", "1", "written offline").stderr
        # meanwhile someone changes the title through another server on the same database
        other = Api.login(server.url, user)
        other.ok("PATCH", "/cards/WEB-1", json={"title": "Edited by a teammate"})

        cached = ok("ls", "--json", "--offline").json()
        assert [(c["key"], c["title"], c["column"]) for c in cached] == [
            ("", "Offline card", "Backlog"), ("WEB-1", "Edited offline", "Done")]
        assert f"WEB-?{added.json()['id'][:8]}" in ok("ls", "--offline").stdout
        stale = ok("ls", "--json")
        assert "showing cached data: server not reachable (connection refused)" in stale.stderr and len(stale.json()) == 2
        code, _, err = run_taskly("log", "1")
        assert code == 6 and "offline" in err
        code, _, err = run_taskly("workspace", "create", "Nope")
        assert code == 6 and "cannot create a workspace offline" in err

        private = start_server(server_env, tmp_path / "second", port=port)
        synced = ok("ls", "--json")
        assert "pushed 4 queued write(s)" in synced.stderr
        assert "conflict" in synced.stderr and "title" in synced.stderr
        assert [(c["key"], c["title"], c["column"]) for c in synced.json()] == [
            ("WEB-2", "Offline card", "Backlog"), ("WEB-1", "Edited offline", "Done")]
        again = ok("ls")
        assert "pushed" not in again.stderr and "cached" not in again.stderr

        feed = other.ok("GET", f"/workspaces/{workspace_id}/changes", params={"since": 0})["changes"]
        mine = [c for c in feed if c["mutation_id"] and c["actor"]["name"] == user]
        assert all(n == 1 for n in Counter((c["mutation_id"], c["entity_id"]) for c in mine).values())
        card_ops = Counter((c["entity_type"], c["op"], c["data"] and c["data"].get("title")) for c in feed)
        assert card_ops[("card", "create", "Offline card")] == 1
        assert card_ops[("comment", "create", None)] == 1
        assert card_ops[("card", "move", "Edited offline")] == 1
        updates = [c for c in feed if c["op"] == "update" and "title" in c["changes"]]
        assert [u["changes"]["title"]["new"] for u in updates] == ["Edited by a teammate", "Edited offline"]
        assert updates[1]["conflicts"] == ["title"]
    finally:
        private.stop()


def test_offline_flag_never_touches_the_network(server_env, tmp_path: Path) -> None:
    private = start_server(server_env, tmp_path / "server")
    port = urlsplit(private.url).port
    try:
        cli_board(private.url)
        ok("add", "Cached card", "-d", "searchable text")
    finally:
        private.stop()
    # a listener that never answers: any request from the CLI would hang there until its timeout
    with socket.socket() as trap:
        trap.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        trap.bind(("127.0.0.1", port))
        trap.listen(16)
        trap.setblocking(False)
        env = {"TASKLY_SERVER": private.url}
        started = time.monotonic()
        cards = ok("ls", "--offline", "--json", env=env)
        assert time.monotonic() - started < 1.5 and cards.stderr == ""
        assert keys(cards.json()) == ["WEB-1"]
        assert ok("show", "1", "--offline", "--json", env=env).json()["title"] == "Cached card"
        assert keys(ok("search", "SEARCHABLE", "--offline", "--json", env=env).json()) == ["WEB-1"]
        assert [b["key"] for b in ok("board", "ls", "--offline", "--json", env=env).json()] == ["WEB"]
        assert len(ok("workspace", "ls", "--offline", "--json", env=env).json()) == 1
        assert len(ok("workspace", "members", "--offline", "--json", env=env).json()) == 1
        queued = ok("add", "Queued offline", "--offline", env=env)
        assert "queued" in queued.stderr
        assert run_taskly("log", "1", "--offline", env=env).code == 6
        assert run_taskly("column", "add", "X", "--offline", env=env).code == 6
        with pytest.raises(BlockingIOError):
            trap.accept()  # nobody connected

        # without --offline the read waits for the silent server at most ~1.5 s, then uses the cache
        started = time.monotonic()
        bounded = ok("ls", "--json", env=env)
        assert 1.4 <= time.monotonic() - started < 6
        assert "showing cached data" in bounded.stderr and len(bounded.json()) == 2
        shown = ok("show", "WEB-1", "--json", env=env)
        assert "showing cached data" in shown.stderr and shown.json()["comments"] == []
    # a closed port: reads from the cache still exit 0
    assert keys(ok("ls", "--offline", "--json", env={"TASKLY_SERVER": private.url}).json()) == ["WEB-1", ""]
    closed = ok("ls", "--json", env={"TASKLY_SERVER": private.url})
    assert "server not reachable (connection refused)" in closed.stderr


def test_a_card_made_offline_has_a_handle_until_the_server_numbers_it(server) -> None:
    cli_board(server.url)
    ok("add", "Numbered online")
    added = ok("add", "Made offline", "--offline")
    handle = added.stdout.strip()
    assert len(handle) == 8 and int(handle, 16) >= 0 and "queued" in added.stderr
    card = ok("show", handle, "--offline", "--json").json()
    assert card["id"].startswith(handle) and card["key"] == "" and card["number"] == 0
    assert ok("edit", handle, "--priority", "high", "--offline").stdout.strip() == handle
    ok("mv", f"WEB-?{handle}", "done", "--offline")
    listed = ok("ls", "--offline").stdout
    assert f"WEB-?{handle}" in listed

    synced = ok("sync", "--json")
    assert [w["operation"] for w in synced.json()["pushed"]] == ["card.create", "card.update", "card.move"]
    assert f"{handle} is now WEB-2" in synced.stderr
    cards = ok("ls", "--json").json()
    assert [(c["key"], c["priority"], c["column"]) for c in cards if c["title"] == "Made offline"] == [
        ("WEB-2", "high", "Done")]
    assert ok("sync", "--json").json()["pushed"] == []  # it landed once
