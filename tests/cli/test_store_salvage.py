"""Salvaging the outbox of a damaged cache file (no server): by SQL where the file still answers, by
parsing its pages (and its WAL) where it does not; pushed writes are never revived."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import uuid
from pathlib import Path

from taskly.store import Op, Store
from taskly.store.salvage import Salvage, _by_pages

PAGE = 4096


def queue(store: Store, count: int, *, big: bool = False) -> list[Op]:
    ops = [Op("card.update", str(uuid.uuid4()), "card", str(uuid.uuid4()), "PATCH", f"/cards/{n}",
              payload={"title": f"write {n}", "description": ("long text " * 900) if big else ""},
              base_version=n)
           for n in range(count)]
    with store.transaction() as tx:
        for op in ops:
            tx.outbox.add(op)
    return ops


def reopen(path: Path) -> tuple[Store, list[str]]:
    said: list[str] = []
    return Store(path, report=said.append), said


def assert_kept(store: Store, ops: list[Op]) -> None:
    pending = store.outbox.pending()
    assert [(e.mutation_id, e.payload, e.base_version, e.path) for e in pending] == [
        (op.mutation_id, op.payload, op.base_version, op.path) for op in ops]


def test_a_destroyed_header_and_schema_page_are_read_around(tmp_path: Path) -> None:
    """The first two pages gone: no SQL works, the outbox's own pages (with overflow) still parse."""
    path = tmp_path / "cache.sqlite3"
    store = Store(path)
    ops = queue(store, 3, big=True)
    store.close()
    with path.open("r+b") as raw:
        raw.write(os.urandom(2 * PAGE))

    store, said = reopen(path)
    assert_kept(store, ops)
    assert store.rebuilt == "corrupt cache: file is not a database"
    assert said == [store.recovery] and said[0].endswith("3 queued writes recovered, 0 lost")
    assert store.meta("needs_snapshot") is not None
    [aside] = tmp_path.glob("cache.sqlite3.corrupt-*")
    assert stat.S_IMODE(aside.stat().st_mode) == 0o600 and stat.S_IMODE(path.stat().st_mode) == 0o600
    store.close()


def test_writes_only_in_the_wal_are_read_from_it(tmp_path: Path) -> None:
    """A process that died with its writes in the WAL, then the database file scribbled over: the
    WAL's committed frames (checksums verified) still hold the outbox, for SQLite and for the parser."""
    live = tmp_path / "live" / "cache.sqlite3"
    store = Store(live)
    store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the schema in the file, the writes in the WAL
    ops = queue(store, 2)
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for suffix in ("", "-wal"):  # copied while open: as a crash leaves them
        shutil.copy(f"{live}{suffix}", crashed / f"cache.sqlite3{suffix}")
    store.close()
    path = crashed / "cache.sqlite3"
    assert Path(f"{path}-wal").stat().st_size > 0
    path.write_bytes(os.urandom(path.stat().st_size))

    parsed = Salvage()
    _by_pages(path, parsed)  # the page parser alone: the WAL is all it can read
    assert [row["mutation_id"] for row in parsed.ordered()] == [op.mutation_id for op in ops]

    store, said = reopen(path)
    assert_kept(store, ops)
    assert said[0].endswith("2 queued writes recovered, 0 lost")
    store.close()


def test_pushed_writes_are_not_revived(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    store = Store(path)
    first, second = queue(store, 2)
    pushed = store.outbox.get(first.mutation_id)
    with store.transaction() as tx:  # what pushing the first one leaves: its row gone, a `pushed` record
        tx.outbox.remove(pushed.id)
        tx._exec("INSERT INTO pushed (mutation_id, entity_id, fields, version, pushed_at) VALUES (?, ?, '{}', 1, ?)",
                 (first.mutation_id, first.entity_id, "2031-01-01"))
    store.close()
    with path.open("r+b") as raw:
        raw.write(os.urandom(PAGE))

    store, _ = reopen(path)
    assert_kept(store, [second])
    store.close()


def test_damage_found_by_a_read_recovers_and_answers(tmp_path: Path) -> None:
    """The outbox's table is damaged, not what opening reads: the first read of it recovers the file,
    keeps what its pages still hold, and counts the rows its index knew of as lost."""
    path = tmp_path / "cache.sqlite3"
    store = Store(path)
    queue(store, 2)
    store.close()
    conn = sqlite3.connect(path)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'outbox'").fetchone()[0]
    conn.close()
    with path.open("r+b") as raw:
        raw.seek((root - 1) * PAGE)
        raw.write(b"\x00" * PAGE)

    store, said = reopen(path)
    assert store.rebuilt is None and said == []
    assert store.outbox.pending() == []
    assert store.rebuilt == "corrupt cache: database disk image is malformed"
    assert said == [store.recovery] and said[0].endswith("0 queued writes recovered, 2 lost")
    assert store.check() and store.outbox.count() == 0
    store.close()


def test_check_finds_damage_that_no_read_touched(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    store = Store(path)
    ops = queue(store, 1)
    store.close()
    conn = sqlite3.connect(path)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'conflicts'").fetchone()[0]
    conn.close()
    with path.open("r+b") as raw:
        raw.seek((root - 1) * PAGE)
        raw.write(b"\xa5" * PAGE)

    store, said = reopen(path)
    assert store.rebuilt is None and len(store.outbox.pending()) == 1
    assert not store.check()
    assert store.rebuilt.startswith("corrupt cache") and said[0].endswith("1 queued write recovered, 0 lost")
    assert_kept(store, ops)
    assert store.check()
    store.close()


def test_a_second_process_does_not_rebuild_a_rebuilt_cache_again(tmp_path: Path) -> None:
    """Two processes on one damaged file: the first to notice rebuilds it; the other joins the new
    file (it must not move the fresh cache aside, nor keep writing to the damaged one)."""
    path = tmp_path / "cache.sqlite3"
    store = Store(path)
    ops = queue(store, 1)
    store.close()
    first = Store(path)
    with path.open("r+b") as raw:
        raw.write(b"\x00" * 100)
    second, said = reopen(path)
    assert said[0].endswith("1 queued write recovered, 0 lost")
    more = queue(first, 1)  # the first write after that goes to the new file
    assert_kept(first, ops + more)
    assert_kept(second, ops + more)
    assert len([p for p in tmp_path.glob("cache.sqlite3.corrupt-*") if not p.name.endswith(("-wal", "-shm"))]) == 1
    first.close(), second.close()
