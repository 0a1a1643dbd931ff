"""The client sync engine against real server processes: offline writes, crashes, conflicts, resync."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from taskly.api.credentials import SessionCredentials
from taskly.core.errors import ApiError
from taskly.store import Store
from taskly.store.schema import SCHEMA_VERSION
from taskly.sync.engine import SyncEngine
from taskly_server.db.session import create_engine, create_sessionmaker
from taskly_server.domain.feed.jobs import prune_feed
from taskly_server.settings import Settings

from tests.support.api import Api
from tests.support.checks import join
from tests.support.processes import ROOT, RestartableServer

COMPARED = ("id", "key", "number", "title", "description", "column_id", "column", "column_kind", "rank",
            "labels", "priority", "points", "assignees", "deleted_at", "version")


@pytest.fixture(scope="module")
def live_server(server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableServer]:
    # Fast heartbeats: a listener that did not answer pings would be dropped within a second.
    env = {**server_env, "TASKLY_WS_PING_INTERVAL": "0.3", "TASKLY_WS_PING_TIMEOUT": "1"}
    server = RestartableServer(env, tmp_path_factory.mktemp("sync-server"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def login(live_server: RestartableServer) -> Callable[..., Api]:
    return lambda username=None: Api.login(live_server.url, username)


@pytest.fixture
def make_engine(live_server: RestartableServer, tmp_path: Path) -> Iterator[Callable[..., SyncEngine]]:
    engines: list[SyncEngine] = []

    def make(api: Api, name: str | None = None, **options: Any) -> SyncEngine:
        path = tmp_path / f"{name or api.username}.sqlite3"
        store = Store(path, server_url=live_server.url, user=api.username)
        credentials = SessionCredentials(live_server.url, api.token, api.refresh_token)
        engine = SyncEngine(live_server.url, credentials, store, timeout=5, **options)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()
        engine.store.close()


def setup_board(api: Api, key: str = "WEB") -> tuple[dict, dict]:
    workspace = api.workspace(f"ws-{uuid.uuid4().hex[:6]}")
    return workspace, api.board(workspace["id"], key, key.title())


def feed(api: Api, workspace_id: str, since: int = 0) -> list[dict]:
    """The whole feed after `since`, page by page."""
    changes: list[dict] = []
    while True:
        page = api.ok("GET", f"/workspaces/{workspace_id}/changes", params={"since": since, "limit": 200})
        changes += page["changes"]
        if not page["has_more"]:
            return changes
        since = page["next_since"]


def server_cards(api: Api, board_id: str) -> dict[str, dict]:
    cards = api.ok("GET", f"/boards/{board_id}/cards", params={"include_deleted": "true"})
    return {card["id"]: card for card in cards}


def assert_cache_matches_server(engine: SyncEngine, api: Api, board_id: str) -> None:
    cached = {str(card.id): card.model_dump(mode="json")
              for card in engine.store.cards(board_id=board_id, include_deleted=True)}
    served = server_cards(api, board_id)
    assert set(cached) == set(served)
    for card_id, card in served.items():
        assert {k: cached[card_id][k] for k in COMPARED} == {k: card[k] for k in COMPARED}


def workspace_seq(api: Api, workspace_id: str) -> int:
    return api.ok("GET", f"/workspaces/{workspace_id}")["seq"]


# --- offline writes ------------------------------------------------------------------------------


def test_offline_writes_are_applied_exactly_once_in_order(live_server, login, make_engine):
    api = login()
    workspace, board = setup_board(api)
    engine = make_engine(api)
    engine.sync()
    first = engine.create_card("WEB", "first")
    assert not first.queued and first.entity.key == "WEB-1"
    since = workspace_seq(api, workspace["id"])

    results = []
    with live_server.down():
        created = [engine.create_card("WEB", f"offline {i}", labels=["x"]) for i in range(30)]
        results += created
        assert all(r.queued and r.entity.key == "" and r.entity.number == 0 for r in created)
        assert "cannot reach" in (created[0].reason or "")
        ids = [str(r.entity.id) for r in created]
        results += [engine.update_card(card_id, title=f"renamed {i}") for i, card_id in enumerate(ids)]
        results += [engine.update_card("WEB-1", title=f"v{i}") for i in range(20)]
        results += [engine.move_card(card_id, "Done", position="top") for card_id in ids[:10]]
        results += [engine.delete_card(card_id) for card_id in ids[10:15]]
        results += [engine.restore_card(card_id) for card_id in ids[10:13]]
        results += [engine.add_comment(ids[0], "written offline"), engine.add_comment("WEB-1", "me too")]
        assert len(results) == 100 and all(r.queued for r in results)
        status = engine.status()
        assert status.queued == 100 and status.online is False and not status.failed
        # Reads show the optimistic state at once.
        assert engine.store.card("WEB-1").title == "v19"
        assert engine.store.card(ids[0]).column == "Done"
        assert engine.store.card(ids[11]).deleted_at is None and engine.store.card(ids[14]).deleted_at
        assert [c.body for c in engine.store.comments(ids[0])] == ["written offline"]

    synced = engine.sync()
    assert len(synced.push.pushed) == 100 and not synced.push.failed and not synced.pull.stale
    status = engine.status()
    assert status.queued == 0 and status.failed == [] and status.conflicts == []  # own writes never conflict

    ours = [r.mutation_id for r in results]
    every = [c for c in feed(api, workspace["id"], since) if c["mutation_id"] in set(ours)]
    # the label `x` the first card brought into the catalogue has that write's mutation id too
    assert [c["changes"]["name"]["new"] for c in every if c["entity_type"] == "label"] == ["x"]
    changes = [c for c in every if c["entity_type"] != "label"]
    counts = collections.Counter(c["mutation_id"] for c in changes)
    assert set(counts) == set(ours) and set(counts.values()) == {1}
    assert [c["mutation_id"] for c in sorted(changes, key=lambda c: c["seq"])] == ours

    served = server_cards(api, board["id"])
    numbers = [served[card_id]["number"] for card_id in ids]
    assert numbers == list(range(2, 32))  # numbered in the order they were created offline
    assert served[str(first.entity.id)]["title"] == "v19"
    assert all(served[card_id]["title"] == f"renamed {i}" for i, card_id in enumerate(ids))
    assert all(served[card_id]["column"] == "Done" for card_id in ids[:10])
    assert [bool(served[card_id]["deleted_at"]) for card_id in ids[10:15]] == [False] * 3 + [True] * 2
    assert [c["body"] for c in api.ok("GET", f"/cards/{ids[0]}/comments")] == ["written offline"]
    assert_cache_matches_server(engine, api, board["id"])
    assert engine.store.card(ids[0]).key == f"WEB-{numbers[0]}"

    fresh = make_engine(api, "fresh")  # a new cache: snapshot, then comments on demand
    fresh.sync()
    assert_cache_matches_server(fresh, api, board["id"])
    assert fresh.store.comments(ids[0]) == []
    assert [c.body for c in fresh.fetch_comments(ids[0])] == ["written offline"]


KILLABLE_PUSHER = textwrap.dedent("""
    import os, sys, time
    from taskly.api.client import ApiClient
    from taskly.api.credentials import SessionCredentials
    from taskly.store import Store
    from taskly.sync.engine import SyncEngine

    original, answered, hang_at = ApiClient.send, [], int(os.environ["HANG_AT"])

    def send(self, *args, **kwargs):
        answer = original(self, *args, **kwargs)   # the server has applied the write ...
        answered.append(kwargs["idempotency_key"])
        print("answered", kwargs["idempotency_key"], flush=True)
        if len(answered) == hang_at:
            time.sleep(600)                          # ... and the client dies before recording it
        return answer

    ApiClient.send = send
    url = os.environ["SERVER"]
    store = Store(os.environ["CACHE"], server_url=url, user=os.environ["USER_NAME"])
    credentials = SessionCredentials(url, os.environ["ACCESS"], os.environ["REFRESH"])
    result = SyncEngine(url, credentials, store).push()
    print("done", len(result.pushed), result.remaining, flush=True)
""")


def run_pusher(live_server, api: Api, cache: Path, hang_at: int) -> subprocess.Popen:
    env = {**os.environ, "HANG_AT": str(hang_at), "SERVER": live_server.url, "CACHE": str(cache),
           "USER_NAME": api.username, "ACCESS": api.token, "REFRESH": api.refresh_token}
    return subprocess.Popen([sys.executable, "-c", KILLABLE_PUSHER], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_killed_client_pushes_again_exactly_once(live_server, login, make_engine, tmp_path):
    api = login()
    workspace, board = setup_board(api)
    engine = make_engine(api, "killed")
    engine.sync()
    card = engine.create_card("WEB", "target").entity
    since = workspace_seq(api, workspace["id"])
    engine.offline = True  # queue without pushing
    writes = [engine.update_card(str(card.id), title=f"title {i}") for i in range(15)]
    writes += [engine.create_card("WEB", f"new {i}") for i in range(15)]
    assert engine.status().queued == 30

    pusher = run_pusher(live_server, api, engine.store.path, hang_at=12)
    try:
        lines = [pusher.stdout.readline() for _ in range(12)]
        assert all(line.startswith("answered") for line in lines), lines
        pusher.send_signal(signal.SIGKILL)  # the 12th write is applied on the server, not recorded here
        pusher.wait(10)
    finally:
        if pusher.poll() is None:
            pusher.kill()
    assert engine.store.outbox.count() == 30 - 11
    assert engine.store.outbox.pending()[0].mutation_id == lines[-1].split()[1]

    again = run_pusher(live_server, api, engine.store.path, hang_at=0)
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert out.strip().endswith("done 19 0"), out

    ours = [w.mutation_id for w in writes]
    changes = [c for c in feed(api, workspace["id"], since) if c["mutation_id"] in set(ours)]
    assert collections.Counter(c["mutation_id"] for c in changes) == dict.fromkeys(ours, 1)
    assert [c["mutation_id"] for c in changes] == ours
    engine.offline = False
    engine.sync()
    assert engine.store.card(str(card.id)).title == "title 14"
    assert len(engine.store.cards(board_id=board["id"])) == 16
    assert_cache_matches_server(engine, api, board["id"])


# --- two clients -------------------------------------------------------------------------------


def test_offline_edits_of_different_fields_merge_and_same_field_conflicts_are_told(
        live_server, login, make_engine):
    alice, bob = login(), login()
    workspace, board = setup_board(alice)
    join(alice, bob, workspace["id"])
    card = alice.ok("POST", f"/boards/{board['id']}/cards", json={"title": "shared", "description": "d0"})
    a, b = make_engine(alice), make_engine(bob)
    a.sync(), b.sync()
    assert b.store.card(card["key"]).title == "shared"

    with live_server.down():
        assert a.update_card(card["key"], title="title by alice").queued
        assert b.update_card(card["key"], description="description by bob", priority="high").queued
    a.sync(), b.sync(), a.sync()
    served = server_cards(alice, board["id"])[card["id"]]
    assert (served["title"], served["description"], served["priority"]) == (
        "title by alice", "description by bob", "high")
    for engine in (a, b):
        cached = engine.store.card(card["key"])
        assert (cached.title, cached.description, cached.priority) == (
            "title by alice", "description by bob", "high")
        assert engine.status().conflicts == []

    with live_server.down():
        a.update_card(card["key"], title="alice wins?")
        b.update_card(card["key"], title="bob wins?")
    first = a.push()
    assert first.pushed and not first.conflicts
    later = b.push()
    assert [c.field for c in later.conflicts[later.pushed[0]]] == ["title"]
    a.sync(), b.sync()
    assert server_cards(alice, board["id"])[card["id"]]["title"] == "bob wins?"
    assert a.store.card(card["key"]).title == b.store.card(card["key"]).title == "bob wins?"
    [told_bob] = b.status().conflicts
    assert (told_bob.field, told_bob.overwritten, told_bob.value, told_bob.source) == (
        "title", "alice wins?", "bob wins?", "push")
    [told_alice] = a.status().conflicts
    assert (told_alice.field, told_alice.overwritten, told_alice.value, told_alice.source) == (
        "title", "alice wins?", "bob wins?", "feed")
    assert told_alice.actor == bob.username and told_alice.entity_key == card["key"]
    a.mark_conflicts_seen()
    assert a.status().conflicts == [] and len(a.store.conflicts(unseen_only=False)) == 1


def test_rejected_write_is_marked_failed_and_the_cache_corrected(live_server, login, make_engine):
    api = login()
    _, board = setup_board(api)
    engine = make_engine(api)
    engine.sync()
    card = engine.create_card("WEB", "card", labels=["a"]).entity

    with pytest.raises(ApiError) as refused:  # pushed at once: the caller is told
        engine.update_card(card.key, assignees=["nobody-here"], labels=["b"])
    assert refused.value.status == 422 and "nobody-here" in refused.value.detail
    assert engine.store.card(card.key).labels == ["a"] and engine.status().queued == 0
    assert engine.status().failed == []

    engine.offline = True  # queued now, refused later by a background push
    engine.update_card(card.key, assignees=["nobody-here"])
    ok = engine.update_card(card.key, title="still applied")
    assert engine.store.card(card.key).assignees == ["nobody-here"]
    engine.offline = False
    pushed = engine.push()
    assert len(pushed.failed) == 1 and pushed.pushed == [ok.mutation_id]
    [failed] = engine.status().failed
    assert failed.error_code == "validation_error" and "nobody-here" in failed.last_error
    cached = engine.store.card(card.key)
    assert (cached.assignees, cached.title) == ([], "still applied")
    assert engine.push().pushed == []  # not retried
    assert engine.discard_failed() == 1 and engine.status().failed == []
    assert_cache_matches_server(engine, api, board["id"])


# --- rebuilding the cache ------------------------------------------------------------------------


async def prune(database_url: str, workspace_id: str) -> dict:
    db = create_engine(database_url, pool_size=2)
    try:
        ctx = {"sessionmaker": create_sessionmaker(db), "settings": Settings(database_url=database_url)}
        return await prune_feed(ctx, retention_days=0, workspace_id=workspace_id)
    finally:
        await db.dispose()


async def test_client_offline_past_the_retention_rebuilds_from_a_snapshot(
        live_server, login, make_engine, database_url):
    alice, bob = login(), login()
    workspace, board = setup_board(alice)
    join(alice, bob, workspace["id"])
    a, b = make_engine(alice), make_engine(bob)
    a.sync(), b.sync()
    kept = b.create_card("WEB", "will be edited").entity
    gone = b.create_card("WEB", "will be deleted").entity
    a.sync()
    cursor = a.store.cursor(workspace["id"])

    a.offline = True
    queued = a.create_card("WEB", "made while away")
    for i in range(5):
        b.create_card("WEB", f"while alice was away {i}")
    b.update_card(kept.key, title="edited while away")
    b.delete_card(gone.key)
    assert (await prune(database_url, workspace["id"]))["workspaces"] == 1
    assert alice.get(f"/workspaces/{workspace['id']}/changes", params={"since": cursor}).status_code == 410

    a.offline = False
    result = a.sync()
    assert workspace["id"] in result.pull.resynced and not result.pull.stale
    assert result.push.pushed == [queued.mutation_id]
    assert a.store.cursor(workspace["id"]) == workspace_seq(alice, workspace["id"])
    assert a.store.card(kept.key).title == "edited while away"
    assert a.store.card(gone.key).deleted_at is not None
    assert a.store.card(str(queued.entity.id)).key.startswith("WEB-")
    assert_cache_matches_server(a, alice, board["id"])


def test_corrupt_or_foreign_cache_is_rebuilt_from_the_server(live_server, login, make_engine):
    api = login()
    workspace, board = setup_board(api)
    engine = make_engine(api, "damaged")
    engine.sync()
    for i in range(3):
        engine.create_card("WEB", f"card {i}")
    engine.offline = True
    queued = engine.create_card("WEB", "queued before the upgrade")
    path = engine.store.path
    engine.close(), engine.store.close()

    with sqlite3.connect(path) as conn:  # as if written by another version of taskly
        conn.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    engine = make_engine(api, "damaged")
    assert engine.store.rebuilt == f"schema version 0 (expected {SCHEMA_VERSION})"
    assert engine.store.cards() == [] and engine.store.cursor(workspace["id"]) is None
    assert engine.status().queued == 1  # the queued write survives the rebuild
    result = engine.sync()
    assert result.push.pushed == [queued.mutation_id] and workspace["id"] in result.pull.resynced
    assert_cache_matches_server(engine, api, board["id"])
    assert len(engine.store.cards()) == 4
    engine.close(), engine.store.close()

    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"this is not a database" * 500)
    engine = make_engine(api, "damaged")
    assert engine.store.rebuilt.startswith("corrupt cache")
    engine.sync()
    assert_cache_matches_server(engine, api, board["id"])
    assert len(engine.store.cards()) == 4


def test_damage_found_while_running_rebuilds_the_cache(live_server, login, make_engine):
    api = login()
    _, board = setup_board(api)
    engine = make_engine(api, "scribbled")
    engine.sync()
    engine.create_card("WEB", "one")
    path = engine.store.path
    engine.close(), engine.store.close()
    with sqlite3.connect(path) as conn:  # the b-trees of the cards table, found by their root pages
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        roots = [row[0] for row in conn.execute("SELECT rootpage FROM sqlite_master WHERE tbl_name = 'cards'")]
    with path.open("r+b") as raw:
        for root in roots:
            raw.seek((root - 1) * page_size)
            raw.write(os.urandom(page_size))
    api.ok("POST", f"/boards/{board['id']}/cards", json={"title": "two"})

    engine = make_engine(api, "scribbled")
    assert engine.store.rebuilt is None  # the damage is not where opening looks
    result = engine.sync()
    assert engine.store.rebuilt and engine.store.rebuilt.startswith("corrupt cache")
    assert not result.stale
    assert_cache_matches_server(engine, api, board["id"])
    assert len(engine.store.cards()) == 2


# --- reads and auth ------------------------------------------------------------------------------


def test_bounded_pull_and_column_renames(live_server, login, make_engine):
    api = login()
    _, board = setup_board(api)
    engine = make_engine(api)
    engine.sync()
    card = engine.create_card("WEB", "moves with its column", column="Todo").entity
    todo = next(c for c in board["columns"] if c["name"] == "Todo")
    api.ok("PATCH", f"/columns/{todo['id']}", json={"name": "Ready"})
    assert not engine.pull(timeout=1.5).stale
    cached = engine.store.card(card.key)
    assert (cached.column, str(cached.column_id)) == ("Ready", todo["id"])

    with live_server.down():
        started = time.monotonic()
        result = engine.pull(timeout=1.5)
        assert result.stale and time.monotonic() - started < 2.5
        assert engine.store.card(card.key).title == "moves with its column"  # reads still work
    assert not engine.pull(timeout=5).stale


def test_expired_access_token_is_refreshed_transparently(live_server, login, tmp_path):
    api = login()
    setup_board(api)
    saved = []
    credentials = SessionCredentials(live_server.url, "expired-or-bogus", api.refresh_token,
                                     on_refresh=saved.append)
    store = Store(tmp_path / "refresh.sqlite3", server_url=live_server.url, user=api.username)
    engine = SyncEngine(live_server.url, credentials, store)
    try:
        assert not engine.sync().stale
        assert len(saved) == 1 and credentials.get() == saved[0].access_token
        assert credentials.get() != "expired-or-bogus" and store.boards()
    finally:
        engine.close(), store.close()


# --- live ----------------------------------------------------------------------------------------


async def eventually(condition: Callable[[], Any], within: float = 15.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_live_changes_of_another_client_reach_the_cache(live_server, login, make_engine):
    alice, bob = login(), login()
    workspace, board = setup_board(alice)
    join(alice, bob, workspace["id"])
    a = make_engine(alice)
    await asyncio.to_thread(a.sync)
    received, statuses = [], []
    listener = asyncio.create_task(a.listen(received.append, on_status=statuses.append,
                                            initial_backoff=0.2, max_backoff=1.0))
    try:
        await eventually(lambda: any(s.state == "online" for s in statuses))
        card = await asyncio.to_thread(bob.ok, "POST", f"/boards/{board['id']}/cards", json={"title": "live"})
        await eventually(lambda: any(str(c.entity_id) == card["id"] for c in received))
        assert a.store.card(card["key"]).title == "live"
        await asyncio.sleep(1.5)  # several server pings, answered: still the first connection
        assert [s.state for s in statuses] == ["connecting", "online"]

        # A gap in the seqs (here: the cursor moved back) is filled from the feed.
        head = a.store.cursor(workspace["id"])
        with a.store.transaction() as tx:
            tx.set_cursor(workspace["id"], head - 2)
        received.clear()
        await asyncio.to_thread(bob.ok, "PATCH", f"/cards/{card['key']}", json={"title": "after the gap"})
        await eventually(lambda: [c.seq for c in received] == [head - 1, head, head + 1])
        assert a.store.card(card["key"]).title == "after the gap"

        # The listener survives a server restart and reconnects with backoff.
        await asyncio.to_thread(live_server.stop)
        await eventually(lambda: statuses[-1].state == "offline")
        queued = await asyncio.to_thread(a.update_card, card["key"], description="written while down")
        assert queued.queued
        online = len([s for s in statuses if s.state == "online"])
        await asyncio.to_thread(live_server.start)
        await eventually(lambda: len([s for s in statuses if s.state == "online"]) > online)
        await eventually(lambda: a.status().queued == 0)  # pushed on reconnect
        await asyncio.to_thread(bob.ok, "PATCH", f"/cards/{card['key']}", json={"title": "after restart"})
        # Received live (the cache alone may have it from the pull after the push, first).
        await eventually(lambda: any(c.changes.get("title") is not None
                                     and c.changes["title"].new == "after restart" for c in received))
        assert a.store.card(card["key"]).title == "after restart"
        served = await asyncio.to_thread(server_cards, bob, board["id"])
        assert served[card["id"]]["description"] == "written while down"
        assert a.store.card(card["key"]).description == "written while down"
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        if live_server.process is None:
            live_server.start()


async def test_listener_resyncs_and_refreshes_its_token(live_server, login, make_engine, database_url,
                                                        tmp_path):
    alice, bob = login(), login()
    workspace, board = setup_board(alice)
    join(alice, bob, workspace["id"])
    a = make_engine(alice)
    await asyncio.to_thread(a.sync)
    card = await asyncio.to_thread(bob.ok, "POST", f"/boards/{board['id']}/cards", json={"title": "away"})
    await prune(database_url, workspace["id"])  # alice's cursor is now below the retained feed

    credentials = SessionCredentials(live_server.url, "not-a-valid-token", alice.refresh_token)
    engine = SyncEngine(live_server.url, credentials, a.store)  # same cache, stale access token
    received, statuses = [], []
    listener = asyncio.create_task(engine.listen(received.append, on_status=statuses.append,
                                                 initial_backoff=0.2, max_backoff=1.0))
    try:
        await eventually(lambda: any(s.state == "resynced" for s in statuses))
        assert a.store.card(card["key"]).title == "away"
        assert credentials.get() != "not-a-valid-token"
        await asyncio.to_thread(bob.ok, "PATCH", f"/cards/{card['key']}", json={"title": "live again"})
        await eventually(lambda: a.store.card(card["key"]).title == "live again")
        assert [c.changes["title"].new for c in received] == ["live again"]
        await asyncio.to_thread(assert_cache_matches_server, a, alice, board["id"])
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        engine.close()
