"""Reading the queued writes out of a damaged cache file, so that rebuilding it loses none it can read.

Two ways, the second only when the first could not read the whole outbox:

1. SQL on the damaged file: the outbox in rowid order; where a page breaks that, rowid by rowid
   from the last good one. The outbox's indexes say which rows existed (how many were lost).
2. Raw pages, like `sqlite3 .recover`: every b-tree page of the file (with the committed frames
   of its WAL on top) is parsed by hand and the records shaped like outbox rows are kept. This
   reads the outbox even when the header or the schema page is gone.

Only the outbox is salvaged: everything else comes back from the server with the next sync.
"""

from __future__ import annotations

import json
import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

COLUMNS = ("id", "mutation_id", "workspace_id", "operation", "entity_type", "entity_id", "method", "path",
           "payload", "base_version", "local", "state", "attempts", "last_error", "error_code",
           "created_at", "updated_at")
REQUIRED = {"mutation_id", "operation", "entity_id", "method", "path"}
STATES = ("pending", "failed")
METHODS = {"POST", "PATCH", "PUT", "DELETE"}
PROBE_LIMIT = 100_000
"""Rowids tried one by one past a broken page, at most."""


@dataclass
class Salvage:
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Readable outbox rows by mutation id."""
    known: dict[int, str] = field(default_factory=dict)
    """Outbox row ids the file's indexes show existed, with their state."""
    complete: bool = False
    """The whole outbox table was read: nothing was lost."""

    def add(self, row: dict[str, Any]) -> None:
        if _valid(row) and row["mutation_id"] not in self.rows:
            self.rows[row["mutation_id"]] = row

    @property
    def pending(self) -> list[dict[str, Any]]:
        return [row for row in self.ordered() if row["state"] == "pending"]

    def ordered(self) -> list[dict[str, Any]]:
        return sorted(self.rows.values(), key=lambda row: (row.get("id") or 0, row.get("created_at") or ""))

    @property
    def lost(self) -> int | None:
        """Queued writes the file had but that could not be read (None: cannot tell)."""
        if self.complete:
            return 0
        if not self.known:
            return None
        recovered = {row.get("id") for row in self.rows.values()}
        return sum(1 for row_id, state in self.known.items() if state == "pending" and row_id not in recovered)


def salvage(path: Path) -> Salvage:
    """The outbox rows still readable in the damaged cache at `path` (its `-wal` beside it)."""
    found = Salvage()
    _by_sql(path, found)
    if not found.complete:
        _by_pages(path, found)
    return found


def _valid(row: dict[str, Any]) -> bool:
    """A row that can be pushed again: the fields it needs, of the right kinds."""
    try:
        if not all(isinstance(row.get(name), str) and row[name] for name in REQUIRED):
            return False
        if row["method"] not in METHODS or not row["path"].startswith("/") or row.get("state") not in STATES:
            return False
        if row.get("payload") is not None:
            json.loads(row["payload"])
        json.loads(row.get("local") or "{}")
    except (TypeError, ValueError):
        return False
    return True


# --- 1. SQL ---------------------------------------------------------------------------------------


def _by_sql(path: Path, found: Salvage) -> None:
    try:
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=1)
    except sqlite3.Error:
        return
    try:
        conn.execute("PRAGMA query_only=ON")  # a copy kept for inspection: read, never written
        names = {row[1] for row in conn.execute("PRAGMA table_info(outbox)")}
        wanted = [name for name in COLUMNS if name in names]
        if not set(wanted) >= REQUIRED or "id" not in wanted:
            return
        _ids_from_indexes(conn, found)
        select = f"SELECT {', '.join(wanted)} FROM outbox"
        last = 0
        try:
            for values in conn.execute(f"{select} ORDER BY id"):
                found.add(dict(zip(wanted, values, strict=True)))
                last = values[0]
            found.complete = True
            return
        except sqlite3.DatabaseError:
            pass
        _walk_rowids(conn, select, wanted, last, _upper(conn, found), found)
    except sqlite3.DatabaseError:
        return
    finally:
        conn.close()


def _ids_from_indexes(conn: sqlite3.Connection, found: Salvage) -> None:
    """Which rows existed, from the indexes on (state, id) and (entity_id, state): read until a
    broken page stops them."""
    for sql in ("SELECT id, state FROM outbox INDEXED BY ix_outbox_state WHERE state IN ('pending', 'failed')",
                "SELECT id, state FROM outbox INDEXED BY ix_outbox_entity WHERE entity_id > ''"):
        try:
            for row_id, state in conn.execute(sql):
                found.known.setdefault(row_id, state)
        except sqlite3.DatabaseError:
            continue


def _upper(conn: sqlite3.Connection, found: Salvage) -> int:
    """The highest rowid the outbox may have used."""
    candidates = [max(found.known, default=0)]
    for sql in ("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'", "SELECT max(id) FROM outbox"):
        try:
            value = conn.execute(sql).fetchone()
            candidates.append(int(value[0]) if value and value[0] is not None else 0)
        except (sqlite3.DatabaseError, TypeError, ValueError):
            continue
    return max(candidates)


def _walk_rowids(conn: sqlite3.Connection, select: str, wanted: list[str], last: int, upper: int,
                 found: Salvage) -> None:
    """From the last good row on: the next row by rowid; past a broken page, one rowid further."""
    cursor, steps = last, 0
    while cursor < upper and steps < PROBE_LIMIT:
        steps += 1
        try:
            values = conn.execute(f"{select} WHERE id > ? ORDER BY id LIMIT 1", (cursor,)).fetchone()
        except sqlite3.DatabaseError:
            cursor += 1
            continue
        if values is None:
            return
        found.add(dict(zip(wanted, values, strict=True)))
        cursor = values[0]


# --- 2. raw pages -----------------------------------------------------------------------------------


def _by_pages(path: Path, found: Salvage) -> None:
    try:
        data = path.read_bytes()
    except OSError:
        return
    header_ok = data[:16] == b"SQLite format 3\x00"
    page_size = _page_size(data) if header_ok else 0
    wal = _wal_pages(Path(f"{path}-wal"), page_size)
    page_size = page_size or (len(next(iter(wal.values()))) if wal else 4096)
    pages = {number: data[(number - 1) * page_size: number * page_size]
             for number in range(1, len(data) // page_size + 1)}
    pages.update(wal)
    free = _freelist(pages) if header_ok else set()
    pushed: set[str] = set()
    rows: list[dict[str, Any]] = []
    for number, page in pages.items():
        if number in free or len(page) != page_size:
            continue
        for rowid, record in _records(pages, number, page, page_size):
            if rowid is not None and len(record) == len(COLUMNS):
                row = dict(zip(COLUMNS, record, strict=True))
                row["id"] = rowid
                rows.append(row)
            elif rowid is not None and len(record) == 5 and isinstance(record[0], str):
                pushed.add(record[0])  # pushed (mutation_id, entity_id, fields, version, pushed_at)
            elif rowid is None and len(record) == 3 and record[0] in STATES and isinstance(record[1], int):
                found.known.setdefault(record[1], record[0])  # ix_outbox_state (state, id, rowid)
    for row in rows:  # a write already pushed (a stale copy of a page) is never sent again
        if row["mutation_id"] not in pushed:
            found.add(row)


def _page_size(data: bytes) -> int:
    size = struct.unpack(">H", data[16:18])[0]
    size = 65536 if size == 1 else size
    return size if size >= 512 and size & (size - 1) == 0 else 4096


def _wal_pages(path: Path, page_size: int) -> dict[int, bytes]:
    """The pages of the WAL's committed frames (the newest copy of each), checksums verified."""
    try:
        wal = path.read_bytes()
    except OSError:
        return {}
    if len(wal) < 32 or wal[:4] not in (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83"):
        return {}
    order = ">" if wal[3] == 0x83 else "<"
    size = struct.unpack(">I", wal[8:12])[0] or page_size
    salts = wal[16:24]
    sums = _checksum(wal[:24], order, (0, 0))
    if sums != struct.unpack(">II", wal[24:32]):
        return {}
    pages: dict[int, bytes] = {}
    pending: dict[int, bytes] = {}
    offset = 32
    while offset + 24 + size <= len(wal):
        frame = wal[offset: offset + 24]
        page = wal[offset + 24: offset + 24 + size]
        if frame[8:16] != salts:
            break
        sums = _checksum(page, order, _checksum(frame[:8], order, sums))
        if sums != struct.unpack(">II", frame[16:24]):
            break
        number, commit = struct.unpack(">II", frame[:8])
        pending[number] = page
        if commit:  # a commit frame: the transaction's pages count
            pages.update(pending)
            pending = {}
        offset += 24 + size
    return pages


def _checksum(data: bytes, order: str, sums: tuple[int, int]) -> tuple[int, int]:
    s0, s1 = sums
    words = struct.unpack(f"{order}{len(data) // 4}I", data)
    for index in range(0, len(words), 2):
        s0 = (s0 + words[index] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[index + 1] + s0) & 0xFFFFFFFF
    return s0, s1


def _freelist(pages: dict[int, bytes]) -> set[int]:
    """Pages on the free list (their old content is not live data)."""
    free: set[int] = set()
    trunk = struct.unpack(">I", pages[1][32:36])[0] if 1 in pages else 0
    while trunk and trunk not in free and trunk in pages and len(free) < len(pages):
        page = pages[trunk]
        free.add(trunk)
        following, count = struct.unpack(">II", page[:8])
        count = min(count, (len(page) - 8) // 4)
        free.update(struct.unpack(f">{count}I", page[8: 8 + 4 * count]))
        trunk = following
    return free


def _records(pages: dict[int, bytes], number: int, page: bytes, page_size: int
             ) -> Iterator[tuple[int | None, list[Any]]]:
    """The records of a table leaf (rowid, values) or an index page (None, values); none when
    the page is not a b-tree page or a cell does not parse."""
    start = 100 if number == 1 else 0
    kind = page[start]
    if kind not in (0x0D, 0x0A, 0x02):
        return
    cells = struct.unpack(">H", page[start + 3: start + 5])[0]
    pointers = start + (12 if kind == 0x02 else 8)
    for index in range(cells):
        try:
            cell = struct.unpack(">H", page[pointers + 2 * index: pointers + 2 * index + 2])[0]
            offset = cell + (4 if kind == 0x02 else 0)
            size, offset = _varint(page, offset)
            rowid = None
            if kind == 0x0D:
                rowid, offset = _varint(page, offset)
            payload = _payload(pages, page, offset, size, page_size, table=kind == 0x0D)
            yield rowid, _record(payload)
        except (IndexError, ValueError, struct.error, UnicodeDecodeError):
            continue


def _payload(pages: dict[int, bytes], page: bytes, offset: int, size: int, page_size: int, *,
             table: bool) -> bytes:
    """A cell's payload, its overflow pages followed (SQLite's file format, section 1.6)."""
    usable = page_size
    most = usable - 35 if table else (usable - 12) * 64 // 255 - 23
    if size <= most:
        return page[offset: offset + size]
    least = (usable - 12) * 32 // 255 - 23
    local = least + (size - least) % (usable - 4)
    local = local if local <= most else least
    parts = [page[offset: offset + local]]
    overflow = struct.unpack(">I", page[offset + local: offset + local + 4])[0]
    remaining, seen = size - local, set()
    while remaining > 0:
        if overflow in seen or overflow not in pages:
            raise ValueError("broken overflow chain")
        seen.add(overflow)
        chunk = pages[overflow]
        parts.append(chunk[4: 4 + min(remaining, usable - 4)])
        remaining -= usable - 4
        overflow = struct.unpack(">I", chunk[:4])[0]
    return b"".join(parts)


def _record(payload: bytes) -> list[Any]:
    header_size, offset = _varint(payload, 0)
    if header_size > len(payload):
        raise ValueError("bad record header")
    types = []
    while offset < header_size:
        serial, offset = _varint(payload, offset)
        types.append(serial)
    values: list[Any] = []
    body = header_size
    for serial in types:
        if serial == 0:
            values.append(None)
        elif serial in (8, 9):
            values.append(serial - 8)
        elif 1 <= serial <= 6:
            width = (0, 1, 2, 3, 4, 6, 8)[serial]
            values.append(int.from_bytes(payload[body: body + width], "big", signed=True))
            body += width
        elif serial == 7:
            values.append(struct.unpack(">d", payload[body: body + 8])[0])
            body += 8
        elif serial >= 12:
            length = (serial - 12) // 2
            chunk = payload[body: body + length]
            values.append(chunk.decode("utf-8") if serial % 2 else chunk)
            body += length
        else:
            raise ValueError("reserved serial type")
    if body > len(payload):
        raise ValueError("record runs past its payload")
    return values


def _varint(data: bytes, offset: int) -> tuple[int, int]:
    value = 0
    for index in range(9):
        byte = data[offset + index]
        if index == 8:
            return (value << 8) | byte, offset + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, offset + index + 1
    raise ValueError("unreachable")
