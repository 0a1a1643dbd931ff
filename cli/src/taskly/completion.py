"""Shell completion of card keys and column names, read from the local cache.

    @app.command("show")
    def show(card: str = typer.Argument(None, autocompletion=complete_card)): ...

A completion runs on every TAB, so it stays cheap: stdlib only (no pydantic, keyring or httpx),
the cache opened read-only, and never the network. Anything missing (no server configured, no
cache yet, a locked or damaged file) completes nothing instead of failing.

typer keeps only the candidates that start with what was typed (case-sensitively), so each
candidate is returned in the case the user started typing: `web-1` completes to `web-12`, which
every command accepts because keys and column names match case-insensitively.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Command modules import this one for their parameters: what a completion needs (sqlite3,
# hashlib, json) is imported when a completion runs, not with every command.

LIMIT = 200


def complete_card(incomplete: str) -> list[str]:
    """Keys of the cached cards (`WEB-12`) starting with `incomplete`, current board first."""
    try:
        with _reads() as (reads, config):
            keys = reads.card_keys(incomplete)
    except Exception:
        return []
    board = (config.board or "").upper() if config is not None else ""
    if board:
        keys.sort(key=lambda key: not key.startswith(f"{board}-"))  # stable: numbers stay in order
    return [_in_case_of(incomplete, key) for key in keys[:LIMIT]]


def complete_column(incomplete: str) -> list[str]:
    """Column names of the current board (of every cached board when none is set)."""
    try:
        with _reads() as (reads, config):
            names = _column_names(reads, config)
    except Exception:
        return []
    wanted = incomplete.casefold()
    return [_in_case_of(incomplete, name) for name in names if name.casefold().startswith(wanted)]


def _in_case_of(typed: str, candidate: str) -> str:
    return typed + candidate[len(typed):] if typed else candidate


def _column_names(reads, config) -> list[str]:
    board = None
    if config is not None and config.board:
        workspace_id = reads.workspace_id(config.workspace) if config.workspace else None
        board = reads.board_json(config.board, workspace_id) or reads.board_json(config.board)
    if board is not None:
        return [column["name"] for column in board["columns"]]
    rows = reads._all("SELECT name FROM columns ORDER BY board_id, rank")
    return list(dict.fromkeys(name for (name,) in rows))


@contextmanager
def _reads() -> Iterator[tuple[object, object]]:
    """The current account's cache, read-only, as `taskly.store.reads.Reads` (and the config)."""
    import sqlite3
    import threading

    from .config import resolve
    from .context import GLOBALS
    from .store.reads import Reads

    environ = dict(os.environ)
    config = resolve(GLOBALS, environ)  # --server/--workspace/--board typed before the TAB count
    path = _cache_path(config.server, environ)
    if path is None or not path.exists():
        raise FileNotFoundError("no cache")
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=0.5)
    try:
        reads = Reads.__new__(Reads)
        reads._conn, reads._lock = conn, threading.RLock()
        yield reads, config
    finally:
        conn.close()


def _cache_path(server: str | None, environ: dict[str, str]) -> Path | None:
    """The cache of the account the other commands would use, found without keyring or network."""
    import hashlib
    import json

    from .paths import cache_db_path, cache_dir, config_dir

    if not server:
        return None
    token = environ.get("TASKLY_TOKEN")
    if token:
        account = "token-" + hashlib.sha256(token.encode()).hexdigest()[:12]
        return cache_db_path(server, account, environ)
    try:
        logins = json.loads((config_dir(environ) / "credentials.json").read_text())
        username = logins[server]["username"]
    except (OSError, ValueError, KeyError, TypeError):
        username = None
    if username:
        return cache_db_path(server, username, environ)
    # The login lives in the keyring: the newest cache of this server is the one in use.
    caches = [path for path in cache_dir(environ).glob("*.sqlite3") if _server_of(path) == server]
    return max(caches, key=lambda path: path.stat().st_mtime, default=None)


def _server_of(path: Path) -> str | None:
    import sqlite3

    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=0.5)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'server_url'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return row[0].rstrip("/") if row else None
