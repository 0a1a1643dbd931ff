"""A damaged cache never loses queued writes silently: the real `taskly` moves the file aside, keeps
the writes it can read, says so in one line, and the next sync lands them exactly once. The cache
and the login are private files (0600 in 0700 folders)."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections import Counter
from pathlib import Path

import pytest

from tests.cli.support import cli_board, ok, run_taskly
from tests.support.api import Api

PAGE = 4096


def home() -> Path:
    return Path(os.environ["TASKLY_HOME"])


def cache_file() -> Path:
    [path] = (home() / "cache").glob("*.sqlite3")
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def outbox_root(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'outbox'").fetchone()[0]
    finally:
        conn.close()


def overwrite(path: Path, offset: int, size: int = 8192) -> None:
    with path.open("r+b") as raw:
        raw.seek(offset)
        raw.write(b"\xa5" * size)


def server_cards(api: Api, title: str) -> list[dict]:
    boards = api.ok("GET", "/workspaces")
    cards = [card for workspace in boards for board in api.ok("GET", f"/workspaces/{workspace['id']}/boards")
             for card in api.ok("GET", f"/boards/{board['id']}/cards")]
    return [card for card in cards if card["title"] == title]


@pytest.mark.parametrize("damage", ["middle", "header"])
def test_a_queued_write_survives_a_damaged_cache(server, damage: str) -> None:
    user = cli_board(server.url)
    ok("add", "Online card")
    queued = ok("add", "Written offline", "--offline", "--json").json()
    path = cache_file()
    assert not Path(f"{path}-wal").exists()  # the command closed the cache: everything is in the file
    if damage == "middle":
        overwrite(path, (path.stat().st_size // 2) // PAGE * PAGE - PAGE)
    else:
        overwrite(path, 0)

    status = ok("status")
    [line] = status.stderr.splitlines()
    assert line.startswith("warning: the cache was damaged (") and "has been rebuilt" in line, line
    assert line.endswith("1 queued write recovered, 0 lost"), line
    assert "queued     1 write" in status.stdout
    [aside] = path.parent.glob(f"{path.name}.corrupt-*")
    assert f"kept as {aside}" in line and mode(aside) == 0o600

    as_json = ok("status", "--json")
    assert as_json.stderr == "" and as_json.json()["queued"] == 1
    assert as_json.json()["pending"][0]["operation"] == "card.create"

    synced = ok("sync")
    assert "pushed  1 write" in synced.stdout and "card.create" in synced.stdout
    api = Api.login(server.url, user)
    [landed] = server_cards(api, "Written offline")
    assert landed["id"] == queued["id"] and len(server_cards(api, "Online card")) == 1
    assert ok("sync").stdout.startswith("pushed  0 writes")
    assert len(server_cards(api, "Written offline")) == 1
    feed = api.ok("GET", f"/workspaces/{landed['workspace_id']}/changes", params={"since": 0})["changes"]
    assert Counter(c["op"] for c in feed if c["entity_id"] == landed["id"]) == {"create": 1}
    assert sorted(c["title"] for c in ok("ls", "--json").json()) == ["Online card", "Written offline"]
    assert mode(path) == 0o600 and mode(path.parent) == 0o700


def test_what_cannot_be_read_is_counted_as_lost_and_taskly_still_works(server) -> None:
    user = cli_board(server.url)
    ok("add", "Online card")
    ok("add", "Lost one", "--offline")
    ok("add", "Lost two", "--offline")
    path = cache_file()
    overwrite(path, (outbox_root(path) - 1) * PAGE, PAGE)  # the outbox's rows; its indexes remain

    status = run_taskly("status", "--json")
    assert status.code == 0 and status.json()["queued"] == 0
    assert status.stderr.strip().endswith("0 queued writes recovered, 2 lost"), status.stderr
    assert status.json()["cache"]["recovery"].endswith("2 lost")
    synced = ok("sync")
    assert "pushed  0 writes" in synced.stdout
    assert [c["title"] for c in ok("ls", "--json").json()] == ["Online card"]
    assert server_cards(Api.login(server.url, user), "Lost one") == []

    ok("add", "Lost three", "--offline")
    path.write_bytes(os.urandom(path.stat().st_size))  # nothing left to read, not even how many
    listed = run_taskly("ls", "--json")  # reloads the workspace from the server
    assert listed.code == 0 and [c["title"] for c in listed.json()] == ["Online card"]
    assert listed.stderr.splitlines()[0].endswith(
        "no queued write could be read: any made offline since the last sync are lost"), listed.stderr
    assert len(list(path.parent.glob(f"{path.name}.corrupt-*"))) == 2
    assert ok("add", "After the damage").stderr.strip() == "Created WEB-2 in Backlog"
    assert ok("status", "--json").json()["queued"] == 0


def test_cache_and_login_files_are_private(server) -> None:
    cli_board(server.url)
    ok("add", "A card", "--offline")
    path = cache_file()
    credentials = home() / "config" / "credentials.json"
    assert mode(home()) == 0o700 and mode(home() / "config") == 0o700 and mode(path.parent) == 0o700
    assert mode(credentials) == 0o600 and mode(path) == 0o600

    path.chmod(0o644)  # as an older taskly left them
    path.parent.chmod(0o755)
    (home() / "config").chmod(0o755)
    ok("ls", "--offline")
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    ok("logout")
    ok("login", "--server", server.url, "--dev", "someone-else")
    assert mode(home() / "config") == 0o700 and mode(credentials) == 0o600
    ok("status")  # a cache of its own, created private
    caches = list(path.parent.iterdir())
    assert len(caches) == 2 and all(mode(p) == 0o600 for p in caches), {p.name: oct(mode(p)) for p in caches}
