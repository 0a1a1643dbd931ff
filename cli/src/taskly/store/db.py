"""The cache database: opening (and rebuilding when corrupt or foreign), transactions, reads."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .feed import FeedTransaction
from .ops import utcnow
from .outbox import Outbox
from .reads import Reads
from .schema import DDL, PRAGMAS, SCHEMA_VERSION

_SALVAGED = ("mutation_id", "workspace_id", "operation", "entity_type", "entity_id", "method", "path",
             "payload", "base_version", "local", "state", "attempts", "last_error", "error_code",
             "created_at", "updated_at")
BROKEN = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}


def is_corruption(exc: BaseException) -> bool:
    """Whether an sqlite3 error means the file is damaged (as opposed to locked or misused)."""
    return isinstance(exc, sqlite3.DatabaseError) and getattr(exc, "sqlite_errorname", "") in BROKEN


class Store(Reads):
    """One SQLite cache (per server and user): synced entities, cursors, outbox and conflicts.

    Thread-safe (one connection behind a re-entrant lock), so the TUI's workers and its live
    listener can share it; several processes may open the same file (WAL, busy timeout).
    `rebuilt` says why the file was recreated on open (corrupt, other schema version), else None.
    """

    def __init__(self, path: str | Path, *, server_url: str | None = None, user: str | None = None) -> None:
        self.path = Path(path) if str(path) != ":memory:" else None
        self._lock = threading.RLock()
        self.rebuilt: str | None = None
        self._conn = self._open()
        self.outbox = Outbox(self._conn, self._lock)
        if server_url is not None or user is not None:
            with self.transaction() as tx:
                for key, value in (("server_url", server_url), ("user", user)):
                    if value is not None and tx.meta(key) != value:
                        tx.set_meta(key, value)

    @classmethod
    def for_account(cls, server_url: str, user: str, environ: Mapping[str, str] | None = None) -> Store:
        """The cache of `user` on `server_url`, under `<TASKLY_HOME>/cache` or the user cache dir."""
        from ..paths import cache_db_path

        return cls(cache_db_path(server_url, user, environ), server_url=server_url, user=user)

    @property
    def user(self) -> str | None:
        return self.meta("user")

    # --- opening ----------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path) if self.path else ":memory:", isolation_level=None,
                               check_same_thread=False, timeout=10)
        try:
            for pragma in PRAGMAS:
                conn.execute(pragma)
            conn.execute("PRAGMA busy_timeout=10000")
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def _open(self) -> sqlite3.Connection:
        reason, salvaged = None, []
        try:
            conn = self._connect()
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables:
                self._create(conn)
                return conn
            version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() \
                if "meta" in tables else None
            if version is not None and version[0] == str(SCHEMA_VERSION):
                self._prune(conn)
                return conn
            reason = f"schema version {version[0] if version else 'unknown'} (expected {SCHEMA_VERSION})"
            salvaged = self._salvage(conn)
            conn.close()
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise
            reason = f"corrupt cache: {exc}"
        self.rebuilt = reason
        self._delete_files()
        conn = self._connect()
        self._create(conn)
        if salvaged:
            self._restore(conn, salvaged)
        return conn

    def _create(self, conn: sqlite3.Connection) -> None:
        conn.executescript(f"BEGIN;\n{DDL}\nCOMMIT;")
        conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                         [("schema_version", str(SCHEMA_VERSION)), ("created_at", utcnow())])

    @staticmethod
    def _prune(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM pushed WHERE pushed_at < datetime('now', '-30 days')")

    @staticmethod
    def _salvage(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        """Queued writes of a foreign-version cache, when its outbox is readable: they are not lost."""
        try:
            names = {row[1] for row in conn.execute("PRAGMA table_info(outbox)")}
            wanted = [name for name in _SALVAGED if name in names]
            if not {"mutation_id", "method", "path", "entity_id", "operation"} <= set(wanted):
                return []
            rows = conn.execute(f"SELECT {', '.join(wanted)} FROM outbox ORDER BY id").fetchall()
            return [dict(zip(wanted, row, strict=True)) for row in rows]
        except sqlite3.DatabaseError:
            return []

    @staticmethod
    def _restore(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
        now = utcnow()
        for row in rows:
            values = {"workspace_id": "", "entity_type": row["operation"].split(".")[0], "local": "{}",
                      "state": "pending", "attempts": 0, "created_at": now, "updated_at": now, **row}
            with contextlib.suppress(sqlite3.DatabaseError):
                conn.execute(f"INSERT INTO outbox ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                             tuple(values.values()))

    def _delete_files(self) -> None:
        if self.path is None:
            return
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def reset(self, reason: str) -> None:
        """Recreate the cache (queued writes are kept when readable); the next sync loads snapshots."""
        with self._lock:
            salvaged = self._salvage(self._conn)
            self._conn.close()
            self._delete_files()
            self._conn = self._connect()
            self._create(self._conn)
            self._restore(self._conn, salvaged)
            self.outbox = Outbox(self._conn, self._lock)
            self.rebuilt = reason

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- transactions -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[StoreTransaction]:
        """`with store.transaction() as tx:` one SQLite write transaction (committed on exit)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield StoreTransaction(self._conn, self._lock, self.outbox)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def mark_conflicts_seen(self, ids: list[int] | None = None) -> None:
        """Conflicts are kept until seen; mark some (or all) as seen."""
        with self.transaction() as tx:
            tx.mark_conflicts_seen(ids)


class StoreTransaction(FeedTransaction):
    def set_meta(self, key: str, value: str) -> None:
        self._exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def meta_json(self, key: str) -> Any:
        value = self.meta(key)
        return json.loads(value) if value is not None else None
