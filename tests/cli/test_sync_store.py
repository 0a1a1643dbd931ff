"""The SQLite cache and outbox on their own (no server): layout, optimistic writes, feed merging."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from taskly.core.errors import NotFound
from taskly.store import Store
from taskly.store.schema import SCHEMA_VERSION
from taskly.sync.engine import SyncEngine
from taskly_shared.models import ChangeOut, Snapshot

from tests.support.processes import ROOT

NOW = datetime.now(UTC).isoformat()


def snapshot(cards: int = 3, seq: int = 10) -> Snapshot:
    """A workspace with one board WEB (Todo, Doing, Done) and `cards` cards in Todo."""
    workspace_id, board_id = str(uuid.uuid4()), str(uuid.uuid4())
    columns = [{"id": str(uuid.uuid4()), "board_id": board_id, "name": name, "kind": kind, "rank": rank,
                "version": 1} for name, kind, rank in (("Todo", "todo", "a0"), ("Doing", "in_progress", "a1"),
                                                        ("Done", "done", "a2"))]
    return Snapshot.model_validate({
        "seq": seq,
        "workspace": {"id": workspace_id, "name": "Acme", "role": "owner", "seq": seq, "version": 1,
                      "created_at": NOW, "updated_at": NOW},
        "members": [{"user_id": str(uuid.uuid4()), "username": "alice", "role": "owner", "joined_at": NOW}],
        "boards": [{"id": board_id, "workspace_id": workspace_id, "name": "Web", "key": "WEB", "archived": False,
                    "next_card_number": cards + 1, "version": 1, "created_at": NOW, "updated_at": NOW,
                    "columns": columns}],
        "cards": [card(workspace_id, board_id, columns[0], n, f"a{n}") for n in range(1, cards + 1)],
    })


def card(workspace_id: str, board_id: str, column: dict, number: int, rank: str, **fields) -> dict:
    return {"id": str(uuid.uuid4()), "key": f"WEB-{number}", "number": number, "board_id": board_id,
            "workspace_id": workspace_id, "title": f"card {number}", "column": column["name"],
            "column_id": column["id"], "column_kind": column["kind"], "rank": rank, "version": 1,
            "created_at": NOW, "updated_at": NOW, **fields}


def change(snap: Snapshot, seq: int, entity_type: str, data: dict | None, op: str = "update",
           entity_id: str | None = None, **extra) -> ChangeOut:
    return ChangeOut.model_validate({
        "seq": seq, "workspace_id": str(snap.workspace.id), "entity_type": entity_type,
        "entity_id": entity_id or data["id"], "op": op, "version": (data or {}).get("version"), "data": data,
        "actor": {"type": "user", "name": "bob"}, "created_at": NOW, **extra,
    })


@pytest.fixture
def loaded(tmp_path: Path) -> tuple[Store, Snapshot, SyncEngine]:
    snap = snapshot()
    store = Store(tmp_path / "cache.sqlite3", server_url="http://127.0.0.1:1", user="alice")
    with store.transaction() as tx:
        tx.load_snapshot(snap)
    engine = SyncEngine("http://127.0.0.1:1", None, store, offline=True)
    yield store, snap, engine
    store.close()


def test_one_cache_per_server_and_user_under_taskly_home(tmp_path: Path):
    alice = Store.for_account("http://127.0.0.1:8000", "alice")
    bob = Store.for_account("http://127.0.0.1:8000", "bob")
    other = Store.for_account("https://taskly.example.com", "alice")
    paths = {alice.path, bob.path, other.path}
    assert len(paths) == 3 and all(p.parent == tmp_path / "home" / "cache" for p in paths)
    with sqlite3.connect(alice.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    assert alice.user == "alice" and alice.rebuilt is None
    for store in (alice, bob, other):
        store.close()


def test_importing_the_store_and_the_engine_stays_light():
    code = ("import sys, taskly.store, taskly.sync.engine, taskly.core.paths, taskly.core.errors; "
            "print(sorted(m for m in ('httpx', 'websockets', 'pydantic', 'platformdirs') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_reads_find_cards_by_id_key_and_number(loaded):
    store, snap, _ = loaded
    board_id = str(snap.boards[0].id)
    first = snap.cards[0]
    assert store.card(str(first.id)).key == "WEB-1"
    assert store.card("web-1").id == first.id
    assert store.card("1", board_id=board_id).id == first.id
    assert store.card("1") is None and store.card("NOPE-1") is None
    assert [c.key for c in store.cards(board_id=board_id)] == ["WEB-1", "WEB-2", "WEB-3"]
    assert store.card_keys("we") == ["WEB-1", "WEB-2", "WEB-3"]
    assert store.board("web").id == snap.boards[0].id and store.board("Web").key == "WEB"
    assert [c.name for c in store.board("WEB").columns] == ["Todo", "Doing", "Done"]
    assert store.workspace("acme").role == "owner" and store.cursor(str(snap.workspace.id)) == 10


def test_local_writes_are_optimistic_and_queued(loaded):
    store, snap, engine = loaded
    created = engine.create_card("WEB", "offline card", column="Doing", priority="high")
    assert created.queued and created.reason == "offline mode"
    assert (created.entity.key, created.entity.number, created.entity.column) == ("", 0, "Doing")
    moved = engine.move_card("WEB-3", "Todo", before="WEB-1")
    assert [c.key for c in store.cards(column_id=str(moved.entity.column_id))] == ["WEB-3", "WEB-1", "WEB-2"]
    engine.move_card("WEB-2", "Todo", after="WEB-3")
    assert [c.key for c in store.cards(column_id=str(moved.entity.column_id))] == ["WEB-3", "WEB-2", "WEB-1"]
    engine.update_card(str(created.entity.id), title="renamed", points=None)
    engine.add_comment(str(created.entity.id), "first!")
    assert store.card(str(created.entity.id)).title == "renamed"
    assert [c.body for c in store.comments(str(created.entity.id))] == ["first!"]
    entries = store.outbox.pending()
    assert [e.operation for e in entries] == ["card.create", "card.move", "card.move", "card.update",
                                              "comment.add"]
    assert entries[1].body() == {"column": moved.entity.column_id.__str__(), "before": str(snap.cards[0].id),
                                 "base_version": 1}
    assert entries[3].body() == {"title": "renamed", "points": None, "base_version": 0}
    assert entries[0].payload["id"] == str(created.entity.id)
    with pytest.raises(NotFound):
        engine.update_card("WEB-99", title="x")
    assert engine.status().queued == 5


def test_pulled_changes_keep_pending_local_writes_on_top(loaded):
    store, snap, engine = loaded
    engine.update_card("WEB-1", title="mine")
    theirs = {**snap.cards[0].model_dump(mode="json"), "description": "theirs", "version": 2}
    with store.transaction() as tx:
        assert tx.apply_change(change(snap, 11, "card", theirs))
        assert not tx.apply_change(change(snap, 11, "card", theirs))  # already applied
    shown = store.card("WEB-1")
    assert (shown.title, shown.description, shown.version) == ("mine", "theirs", 2)
    [entry] = store.outbox.pending()
    with store.transaction() as tx:  # the server refuses the write: back to the server's state
        tx.reject(entry, "no", "validation_error")
    shown = store.card("WEB-1")
    assert (shown.title, shown.description) == ("card 1", "theirs")
    assert store.outbox.failed()[0].last_error == "no"


def test_feed_applies_every_entity_type_and_deletes(loaded):
    store, snap, _ = loaded
    workspace_id, board = str(snap.workspace.id), snap.boards[0]
    todo = board.columns[0].model_dump(mode="json")
    with store.transaction() as tx:
        tx.apply_change(change(snap, 11, "column", {**todo, "name": "Ready", "version": 2}))
        tx.apply_change(change(snap, 12, "card", None, op="delete", entity_id=str(snap.cards[1].id)))
        tx.apply_change(change(snap, 13, "sprint", {"id": str(uuid.uuid4()), "board_id": str(board.id), "name": "S1",
                                                    "start_date": "2030-01-01", "end_date": "2030-01-14",
                                                    "version": 1}, op="create"))
        tx.apply_change(change(snap, 14, "workspace", {"id": workspace_id, "name": "Acme 2", "version": 2,
                                                       "created_at": NOW, "updated_at": NOW}))
    assert store.card("WEB-1").column == "Ready"  # follows the rename
    assert store.card("WEB-2") is None
    assert [s["name"] for s in store.sprints_json(workspace_id=workspace_id)] == ["S1"]
    assert store.workspace(workspace_id).name == "Acme 2" and store.workspace(workspace_id).role == "owner"
    assert store.cursor(workspace_id) == 14
    with store.transaction() as tx:
        tx.apply_change(change(snap, 15, "board", None, op="delete", entity_id=str(board.id)))
    assert store.cards() == [] and store.boards() == [] and store.sprints_json() == []


def test_a_snapshot_replaces_the_workspace_but_not_queued_writes(loaded):
    store, snap, engine = loaded
    engine.update_card("WEB-1", title="mine")
    created = engine.create_card("WEB", "new")
    fresh = snapshot(cards=0, seq=50)
    fresh = fresh.model_copy(update={"workspace": snap.workspace, "boards": snap.boards,
                                     "cards": snap.cards[:1]})
    with store.transaction() as tx:
        tx.load_snapshot(fresh)
    assert [c.title for c in store.cards()] == ["mine", "new"]
    assert store.card(str(created.entity.id)).key == ""
    assert store.cursor(str(snap.workspace.id)) == 50 and store.outbox.count() == 2


def test_garbage_file_is_rebuilt_not_fatal(tmp_path: Path):
    path = tmp_path / "cache.sqlite3"
    path.write_bytes(b"\x00garbage" * 1000)
    store = Store(path)
    assert store.rebuilt.startswith("corrupt cache") and store.workspaces() == []
    store.close()
    assert Store(path).rebuilt is None
