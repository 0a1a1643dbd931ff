"""The cache database: opening (and rebuilding when corrupt or foreign), transactions, reads."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .feed import FeedTransaction
from .ops import APPLIERS, utcnow
from .outbox import Outbox
from .reads import Reads
from .schema import DDL, PRAGMAS, SCHEMA_VERSION
from .tx import SYNCED_TABLES

if TYPE_CHECKING:
    from .salvage import Salvage

_SALVAGED = ("mutation_id", "workspace_id", "operation", "entity_type", "entity_id", "method", "path",
             "payload", "base_version", "local", "state", "attempts", "last_error", "error_code",
             "created_at", "updated_at")
BROKEN = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}
KEEP_ASIDE = 3
"""Damaged cache files kept for inspection (`<name>.corrupt-<UTC time>`), newest first."""


def is_corruption(exc: BaseException) -> bool:
    """Whether an sqlite3 error means the file is damaged (as opposed to locked or misused)."""
    return isinstance(exc, sqlite3.DatabaseError) and getattr(exc, "sqlite_errorname", "") in BROKEN


class Store(Reads):
    """One SQLite cache (per server and user): synced entities, cursors, outbox and conflicts.

    Thread-safe (one connection behind a re-entrant lock), so the TUI's workers and its live
    listener can share it; several processes may open the same file (WAL, busy timeout).
    `rebuilt` says why the file was recreated (corrupt, other schema version), else None. A damaged
    file, found on opening or by a read, is moved aside and replaced; the queued writes that can
    be read from it are kept; `recovery` (also passed to `report`) says so in one line.
    The file is 0600 in a 0700 folder: it holds everything the user can see on the server.
    """

    def __init__(self, path: str | Path, *, server_url: str | None = None, user: str | None = None,
                 report: Callable[[str], None] | None = None) -> None:
        self.path = Path(path) if str(path) != ":memory:" else None
        self._lock = threading.RLock()
        self._depth = 0
        """Open transactions: a read that finds damage inside one leaves the recovery to the caller."""
        self.rebuilt: str | None = None
        self.recovery: str | None = None
        self.report = report
        self._salvaged: Salvage | None = None
        self._inode: int | None = None
        """The file the connection opened (another process may have replaced a damaged one since)."""
        self._conn = self._open()
        self.outbox = Outbox(self._conn, self._lock, guard=self._guarded)
        if self._salvaged is not None:
            self._recovered()
        if server_url is not None or user is not None:
            with self.transaction() as tx:
                for key, value in (("server_url", server_url), ("user", user)):
                    if value is not None and tx.meta(key) != value:
                        tx.set_meta(key, value)

    @classmethod
    def for_account(cls, server_url: str, user: str, environ: Mapping[str, str] | None = None, *,
                    report: Callable[[str], None] | None = None) -> Store:
        """The cache of `user` on `server_url`, under `<TASKLY_HOME>/cache` or the user cache dir."""
        from ..core.paths import cache_db_path

        return cls(cache_db_path(server_url, user, environ), server_url=server_url, user=user, report=report)

    @property
    def user(self) -> str | None:
        return self.meta("user")

    # --- opening ----------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self.path is not None:
            from ..core.paths import private_dir, private_file

            private_dir(self.path.parent)
            private_file(self.path)  # SQLite gives its -wal and -shm files the mode of the database
            self._inode = self.path.stat().st_ino
            for suffix in ("-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError, PermissionError):
                    if os.stat(f"{self.path}{suffix}").st_mode & 0o077:
                        os.chmod(f"{self.path}{suffix}", 0o600)
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
        """Open the cache with a cheap look at its schema version only (start-up stays fast)."""
        try:
            conn = self._connect()
        except sqlite3.DatabaseError as exc:
            if not self._damaged(exc):
                raise
            return self._recover(str(exc))
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables:
                self._create(conn)
                return conn
            version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() \
                if "meta" in tables else None
            if version is not None and version[0] == str(SCHEMA_VERSION):
                self._prune(conn)
                return conn
            salvaged = self._salvage(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            if not self._damaged(exc):
                raise
            return self._recover(str(exc))
        conn.close()
        self.rebuilt = f"schema version {version[0] if version else 'unknown'} (expected {SCHEMA_VERSION})"
        self._delete_files()
        conn = self._connect()
        self._create(conn)
        if salvaged:
            self._restore(conn, salvaged)
        return conn

    def _damaged(self, exc: sqlite3.DatabaseError) -> bool:
        """Whether an error means a damaged file: SQLite says so, or `PRAGMA quick_check` fails
        (run only now, when an error was hit)."""
        if self.path is None:
            return False
        if is_corruption(exc):
            return True
        try:
            conn = sqlite3.connect(str(self.path), timeout=1)
        except sqlite3.Error:
            return False
        try:
            result = conn.execute("PRAGMA quick_check(1)").fetchone()
            return result is None or result[0] != "ok"
        except sqlite3.DatabaseError as check:
            return is_corruption(check)
        finally:
            conn.close()

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
    def _restore(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> int:
        """Queue `rows` again (their ids kept, so their order is); returns how many were."""
        now, restored = utcnow(), 0
        for row in rows:
            values = {"workspace_id": "", "entity_type": row["operation"].split(".")[0], "local": "{}",
                      "state": "pending", "attempts": 0, "created_at": now, "updated_at": now,
                      **{name: value for name, value in row.items() if value is not None or name == "payload"}}
            with contextlib.suppress(sqlite3.DatabaseError):
                conn.execute(f"INSERT INTO outbox ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                             tuple(values.values()))
                restored += 1
        return restored

    def _delete_files(self) -> None:
        if self.path is None:
            return
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    # --- damage -----------------------------------------------------------------------------------

    def _guarded(self, read: Callable[[], Any]) -> Any:
        """Run a read; when it finds the file damaged (outside a transaction), recover and read again."""
        try:
            return read()
        except sqlite3.DatabaseError as exc:
            if self.path is None or self._depth or not is_corruption(exc):
                raise
            with self._lock:
                if self._depth:
                    raise
                self._recover(str(exc))
                self._recovered()
            return read()

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._guarded(lambda: Reads._all(self, sql, params))

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        return self._guarded(lambda: Reads._one(self, sql, params))

    def _recover(self, error: str) -> sqlite3.Connection:
        """Move the damaged file aside, read its queued writes, and start a fresh cache with them,
        marked for a full reload from the server (`needs_snapshot`)."""
        from .salvage import Salvage, salvage

        assert self.path is not None
        with self._lock:
            with contextlib.suppress(sqlite3.Error, AttributeError):
                self._conn.close()
            opened, self.rebuilt = self._inode, f"corrupt cache: {error}"
            with contextlib.suppress(OSError):
                if opened is not None and self.path.stat().st_ino != opened:  # rebuilt by another process
                    self._attach(self._connect())
                    self.recovery = f"the cache was damaged ({error}); another taskly process had rebuilt it"
                    return self._conn
            aside = self._move_aside()
            found = salvage(aside) if aside is not None else Salvage()
            conn = self._connect()
            self._create(conn)
            conn.execute("BEGIN")
            self._restore(conn, found.ordered())
            conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                             [("needs_snapshot", utcnow()), ("recovered_from", str(aside or ""))])
            conn.execute("COMMIT")
            self._attach(conn)
            self.recovery = recovery_line(error, aside, found)
            self._salvaged = found
        return conn

    def _attach(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        if "outbox" in self.__dict__:
            self.outbox._conn = conn

    def _follow(self) -> None:
        """Reopen the file when it was replaced (rebuilt by another process, or deleted): writes must
        never go to a file moved aside. One stat per transaction."""
        if self.path is None or self._inode is None or self._depth:
            return
        try:
            current = self.path.stat().st_ino
        except FileNotFoundError:
            current = None
        if current != self._inode:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._attach(self._connect())
            if current is None:
                self._create(self._conn)

    def _recovered(self) -> None:
        """After a recovery: the salvaged writes applied to the fresh cache again (a card created
        offline shows before it is pushed), and the one line said."""
        found, self._salvaged = self._salvaged, None
        if found is not None:
            with contextlib.suppress(sqlite3.DatabaseError, KeyError, TypeError, ValueError), \
                    self.transaction() as tx:
                for entry in self.outbox.pending():
                    if entry.entity_type in SYNCED_TABLES and entry.operation in APPLIERS:
                        tx.apply(entry)
        if self.recovery and self.report is not None:
            self.report(self.recovery)

    def _move_aside(self) -> Path | None:
        """`<name>.corrupt-<UTC time>` (with its -wal and -shm), 0600; the oldest beyond KEEP_ASIDE go."""
        from datetime import UTC, datetime

        assert self.path is not None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside, number = self.path.with_name(f"{self.path.name}.corrupt-{stamp}"), 1
        while aside.exists():
            number += 1
            aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}.{number}")
        moved = None
        for suffix in ("", "-wal", "-shm", "-journal"):
            source = Path(f"{self.path}{suffix}")
            with contextlib.suppress(FileNotFoundError):
                os.replace(source, f"{aside}{suffix}")
                os.chmod(f"{aside}{suffix}", 0o600)
                moved = moved or (aside if suffix == "" else None)
        kept = sorted(p for p in self.path.parent.glob(f"{self.path.name}.corrupt-*")
                      if not p.name.endswith(("-wal", "-shm", "-journal")))  # by name: by time
        for old in kept[:-KEEP_ASIDE]:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{old}{suffix}").unlink(missing_ok=True)
        return moved

    def check(self) -> bool:
        """`PRAGMA quick_check` (it reads the whole file: `status` and `sync` run it, start-up never
        does); a damaged file is recovered at once. Returns whether the file was sound."""
        if self.path is None:
            return True
        with self._lock:
            self._follow()
            try:
                row = self._conn.execute("PRAGMA quick_check(1)").fetchone()
                problem = None if row is not None and row[0] == "ok" else " ".join(str(row and row[0]).split())
            except sqlite3.DatabaseError as exc:
                if not is_corruption(exc):
                    raise
                problem = str(exc)
            if problem is None:
                return True
            self._recover(problem[:200])
        self._recovered()
        return False

    def reset(self, reason: str) -> None:
        """Recreate a damaged cache (queued writes kept when readable); the next sync loads snapshots."""
        with self._lock:
            if self.path is None:  # in memory: nothing to move aside, the outbox is read as it is
                salvaged = self._salvage(self._conn)
                self._conn.close()
                self._conn = self._connect()
                self._create(self._conn)
                self._restore(self._conn, salvaged)
                self.outbox._conn = self._conn
                self.rebuilt = reason
                return
            self._recover(reason.removeprefix("corrupt cache: "))
            self._recovered()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- transactions -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[StoreTransaction]:
        """`with store.transaction() as tx:` one SQLite write transaction (committed on exit)."""
        with self._lock:
            self._follow()
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield StoreTransaction(self._conn, self._lock, self.outbox)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            finally:
                self._depth -= 1
            self._conn.execute("COMMIT")

    def mark_conflicts_seen(self, ids: list[int] | None = None) -> None:
        """Conflicts are kept until seen; mark some (or all) as seen."""
        with self.transaction() as tx:
            tx.mark_conflicts_seen(ids)


def recovery_line(error: str, aside: Path | None, found: Salvage) -> str:
    """One line for people: what was rebuilt, where the damaged file is, which queued writes survived."""
    kept, lost = len(found.pending), found.lost
    plural = "s" if kept != 1 else ""
    if lost is None and not kept:
        writes = "no queued write could be read: any made offline since the last sync are lost"
    elif lost is None:
        writes = f"{kept} queued write{plural} recovered (any others could not be read)"
    else:
        writes = f"{kept} queued write{plural} recovered, {lost} lost"
    where = f"kept as {aside}" if aside is not None else "gone"
    return (f"the cache was damaged ({error}) and has been rebuilt: the damaged file is {where}; "
            f"the next sync reloads it from the server; {writes}")


class StoreTransaction(FeedTransaction):
    def set_meta(self, key: str, value: str) -> None:
        self._exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def clear_meta(self, key: str) -> None:
        self._exec("DELETE FROM meta WHERE key = ?", (key,))

    def meta_json(self, key: str) -> Any:
        value = self.meta(key)
        return json.loads(value) if value is not None else None
