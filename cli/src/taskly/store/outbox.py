"""The outbox: local writes waiting to be pushed, in the order they were made."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from .ops import BULK, Op, OutboxEntry, utcnow

_IN_BULK = (f"(operation = '{BULK}' AND EXISTS (SELECT 1 FROM json_each(outbox.local, '$.ids')"
            " WHERE json_each.value = ?)) OR (operation = 'sprint.close' AND EXISTS"
            " (SELECT 1 FROM json_each(outbox.local, '$.cards') WHERE json_each.value = ?))")
"""A write that changes the card besides its own entity: a bulk write that names it (`local["ids"]`),
a sprint close that carries it over (`local["cards"]`); few rows, the pending ones only."""
PENDING = "pending"
FAILED = "failed"

_COLUMNS = ("id, mutation_id, workspace_id, operation, entity_type, entity_id, method, path, payload, "
            "base_version, local, state, attempts, last_error, error_code, created_at, updated_at")


def _entry(row: tuple[Any, ...]) -> OutboxEntry:
    (id_, mutation_id, workspace_id, operation, entity_type, entity_id, method, path, payload,
     base_version, local, state, attempts, last_error, error_code, created_at, updated_at) = row
    return OutboxEntry(
        operation=operation, workspace_id=workspace_id, entity_type=entity_type, entity_id=entity_id,
        method=method, path=path, payload=json.loads(payload) if payload is not None else None,
        base_version=base_version, local=json.loads(local), mutation_id=mutation_id,
        created_at=created_at, id=id_, state=state, attempts=attempts, last_error=last_error,
        error_code=error_code, updated_at=updated_at,
    )


class Outbox:
    """Outbox rows of one cache; every method takes the store's lock (re-entrant inside a transaction).

    Reads go through `guard` (the store's: a damaged file is recovered and the read retried).
    """

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock,
                 guard: Callable[[Callable[[], Any]], Any] | None = None) -> None:
        self._conn = conn
        self._lock = lock
        self._guard = guard or (lambda read: read())

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        def read() -> list[tuple[Any, ...]]:
            with self._lock:
                return self._conn.execute(sql, params).fetchall()

        return self._guard(read)

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[OutboxEntry]:
        return [_entry(row) for row in self._read(sql, params)]

    def add(self, op: Op) -> None:
        """Append `op` (call inside `store.transaction()`, with the `apply` of the same op)."""
        now = utcnow()
        with self._lock:
            self._conn.execute(
                "INSERT INTO outbox (mutation_id, workspace_id, operation, entity_type, entity_id, method,"
                " path, payload, base_version, local, state, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (op.mutation_id, op.workspace_id, op.operation, op.entity_type, op.entity_id, op.method,
                 op.path, json.dumps(op.payload) if op.payload is not None else None, op.base_version,
                 json.dumps(op.local), PENDING, op.created_at, now),
            )

    def get(self, mutation_id: str) -> OutboxEntry | None:
        rows = self._rows(f"SELECT {_COLUMNS} FROM outbox WHERE mutation_id = ?", (mutation_id,))
        return rows[0] if rows else None

    def next_pending(self, after_id: int = 0) -> OutboxEntry | None:
        """The oldest pending entry after `after_id` (re-read each time: another process may push too)."""
        rows = self._rows(f"SELECT {_COLUMNS} FROM outbox WHERE state = ? AND id > ? ORDER BY id LIMIT 1",
                          (PENDING, after_id))
        return rows[0] if rows else None

    def pending(self, workspace_id: str | None = None) -> list[OutboxEntry]:
        if workspace_id is None:
            return self._rows(f"SELECT {_COLUMNS} FROM outbox WHERE state = ? ORDER BY id", (PENDING,))
        return self._rows(f"SELECT {_COLUMNS} FROM outbox WHERE state = ? AND workspace_id = ? ORDER BY id",
                          (PENDING, workspace_id))

    def pending_for(self, entity_id: str) -> list[OutboxEntry]:
        """The pending writes of an entity, its own and the bulk writes that name it, in order."""
        return self._rows(f"SELECT {_COLUMNS} FROM outbox WHERE state = ? AND (entity_id = ? OR ({_IN_BULK}))"
                          " ORDER BY id", (PENDING, entity_id, entity_id, entity_id))

    def has_pending(self, entity_id: str) -> bool:
        return bool(self._read(f"SELECT 1 FROM outbox WHERE state = ? AND (entity_id = ? OR ({_IN_BULK}))"
                               " LIMIT 1", (PENDING, entity_id, entity_id, entity_id)))

    def pending_entities(self, workspace_id: str | None = None) -> list[tuple[str, str]]:
        """(entity_type, entity_id) of every entity with pending writes (each card of a bulk write,
        the cards a sprint close carries over)."""
        where, params = "state = ?", [PENDING]
        if workspace_id is not None:
            where, params = where + " AND workspace_id = ?", [PENDING, workspace_id]
        sql = (f"SELECT entity_type, entity_id FROM outbox WHERE {where} AND operation != '{BULK}'"
               f" UNION SELECT entity_type, ids.value FROM outbox, json_each(outbox.local, '$.ids') AS ids"
               f" WHERE {where} AND operation = '{BULK}'"
               f" UNION SELECT 'card', ids.value FROM outbox, json_each(outbox.local, '$.cards') AS ids"
               f" WHERE {where} AND operation = 'sprint.close'")
        return [tuple(row) for row in self._read(sql, (*params, *params, *params))]

    def failed(self) -> list[OutboxEntry]:
        return self._rows(f"SELECT {_COLUMNS} FROM outbox WHERE state = ? ORDER BY id", (FAILED,))

    def count(self, state: str = PENDING) -> int:
        return self._read("SELECT count(*) FROM outbox WHERE state = ?", (state,))[0][0]

    def record_attempt(self, entry_id: int, error: str) -> None:
        """A push that did not reach the server (or got a 5xx): the entry stays queued."""
        with self._lock:
            self._conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, updated_at = ? WHERE id = ?",
                (error[:1000], utcnow(), entry_id))

    def mark_failed(self, entry_id: int, error: str, code: str | None) -> None:
        """The server refused the write: kept (not retried) so it can be shown, then discarded."""
        with self._lock:
            self._conn.execute(
                "UPDATE outbox SET state = ?, attempts = attempts + 1, last_error = ?, error_code = ?,"
                " updated_at = ? WHERE id = ?", (FAILED, error[:1000], code, utcnow(), entry_id))

    def remove(self, entry_id: int) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM outbox WHERE id = ?", (entry_id,))

    def discard(self, mutation_id: str | None = None) -> int:
        """Forget failed entries (one, or all); returns how many."""
        with self._lock:
            if mutation_id is None:
                return self._conn.execute("DELETE FROM outbox WHERE state = ?", (FAILED,)).rowcount
            return self._conn.execute("DELETE FROM outbox WHERE state = ? AND mutation_id = ?",
                                      (FAILED, mutation_id)).rowcount

    def rebase(self, entity_id: str, after_id: int, seen: int | None, version: int) -> None:
        """Later writes of an entity that saw the state our own pushed write started from have now
        seen its result too (our own write is not a conflict)."""
        with self._lock:
            self._conn.execute(
                "UPDATE outbox SET base_version = ? WHERE entity_id = ? AND state = ? AND id > ?"
                " AND base_version IS ?", (version, entity_id, PENDING, after_id, seen))
