"""What a fast read needs before it reads: its flags, the configured server/workspace/board, the
cache file (read-only), and whether the cache may answer without asking the server.

Everything here answers `None` (or raises `Defer`) when it is not sure to match the typer path,
which then runs instead: a fast read never guesses.
"""

from __future__ import annotations

import os
import sqlite3
import time

from ..sync import prompt

SCHEMA_VERSION = "4"
"""`taskly.store.schema.SCHEMA_VERSION` (tests/unit/test_fast_reads.py holds them together): a
cache of another version is rebuilt by the store, so the typer path opens it."""

FRESH_SECONDS = 2.0
"""Default of TASKLY_FRESH_SECONDS: a pull this recent needs no other before a read."""

GLOBAL_FLAGS = {"--json": "json", "--quiet": "quiet", "-q": "quiet", "--offline": "offline",
                "--no-input": "no_input"}
GLOBAL_VALUES = {"--server": "server", "--workspace": "workspace", "--board": "board"}


class Defer(Exception):
    """The typer path must run this command (a flag, a state or an error the fast path does not
    reproduce exactly)."""


def parse(args: list[str], flags: dict[str, str], values: dict[str, str], lists: dict[str, str],
          positionals: int = 0) -> dict:
    """Options as click parses them for the few shapes the fast commands use (`--name VALUE`,
    `--name=VALUE`, repeatable options, the global flags anywhere); anything else defers."""
    flags, values = {**GLOBAL_FLAGS, **flags}, {**GLOBAL_VALUES, **values}
    parsed: dict = {name: False for name in flags.values()}
    parsed.update({name: None for name in values.values()})
    parsed.update({name: [] for name in lists.values()})
    parsed["args"] = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        name, equals, attached = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if arg in flags:
            parsed[flags[arg]] = True
        elif name in values or name in lists:
            if equals:
                value = attached
            elif index < len(args):
                value, index = args[index], index + 1
            else:
                raise Defer("missing value")
            if not value or value.startswith("-") or not value.isprintable():
                raise Defer("a value click may read differently")
            if name in lists:
                parsed[lists[name]].append(value)
            else:
                parsed[values[name]] = value
        elif arg.startswith("-") or len(parsed["args"]) >= positionals:
            raise Defer(f"not a fast option: {arg}")
        else:
            parsed["args"].append(arg)
    return parsed


class Config:
    """`core.config.resolve` for server, workspace and board: flag > env > .taskly.toml > user."""

    def __init__(self, parsed: dict, environ: dict[str, str], cwd: str | None = None) -> None:
        root = next((folder for folder in prompt._walk_up(cwd or os.getcwd())
                     if os.path.isfile(os.path.join(folder, prompt.PROJECT_FILE))
                     or os.path.exists(os.path.join(folder, ".git"))), None)
        project = prompt._toml(os.path.join(root, prompt.PROJECT_FILE)) if root else {}
        user = prompt._toml(os.path.join(prompt._dir(environ, "config"), "config.toml"))
        self.sources: dict[str, str] = {}
        for key in ("server", "workspace", "board"):
            candidates = (("flag", parsed.get(key)), ("env", environ.get(f"TASKLY_{key.upper()}")),
                          ("project", project.get(key)), ("user", user.get(key)))
            value = None
            for source, candidate in candidates:
                if candidate:
                    if not isinstance(candidate, str):
                        raise Defer("a config value that is not a string")
                    value = candidate
                    self.sources[key] = source
                    break
            setattr(self, key, value)
        if self.server is None or not self.server.strip().lower().startswith(("http://", "https://")):
            raise Defer("no server, or not a URL")
        self.server = self.server.rstrip("/")


def open_cache(config: Config, environ: dict[str, str]) -> tuple[sqlite3.Connection, str]:
    """The account's cache, read-only, as the store would open it (same version, not rebuilt)."""
    try:
        path = prompt.cache_path({**environ, "TASKLY_SERVER": config.server})
    except Exception as exc:
        raise Defer("no cache path") from exc
    if path is None or not os.path.isfile(path):
        raise Defer("no cache yet")
    if (os.stat(path).st_mode | os.stat(os.path.dirname(path) or ".").st_mode) & 0o077:
        raise Defer("a cache to make private again (the store chmods it)")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        conn.execute("PRAGMA busy_timeout=10000")
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        rebuild = conn.execute("SELECT 1 FROM meta WHERE key = 'needs_snapshot'").fetchone()
    except sqlite3.Error as exc:
        raise Defer("a cache the store must look at") from exc
    if version is None or version[0] != SCHEMA_VERSION or rebuild is not None:
        conn.close()
        raise Defer("a cache the store rebuilds")
    return conn, path


def fresh_enough(conn: sqlite3.Connection, workspace_id: str, environ: dict[str, str],
                 now: float | None = None) -> bool:
    """Whether the cache may answer a read without a pull: the workspace pulled less than
    TASKLY_FRESH_SECONDS ago, or followed by a live listener (see also `queued`)."""
    try:
        window = float(environ.get("TASKLY_FRESH_SECONDS", FRESH_SECONDS))
    except ValueError:
        window = FRESH_SECONDS
    row = conn.execute("SELECT synced_at FROM cursors WHERE workspace_id = ?", (workspace_id,)).fetchone()
    live = conn.execute("SELECT value FROM meta WHERE key = 'live'").fetchone()
    now = time.time() if now is None else now
    if live is not None and live_listener(live[0], workspace_id, now):
        return True
    if window <= 0 or row is None or not row[0]:
        return False
    return now - _epoch(row[0]) < window


def queued(conn: sqlite3.Connection) -> bool:
    """Whether writes wait in the outbox: a read online pushes them first (the typer path)."""
    return conn.execute("SELECT 1 FROM outbox WHERE state = 'pending' LIMIT 1").fetchone() is not None


def live_listener(value: str, workspace_id: str, now: float) -> bool:
    """`meta.live` (`PID EPOCH WORKSPACE,…`, written by a connected listener): that process still
    runs and follows this workspace."""
    try:
        pid, _since, workspaces = value.split(" ", 2)
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError, PermissionError):
        return False
    return workspace_id in workspaces.split(",")


def _epoch(iso: str) -> float:
    """Seconds since the epoch of `utcnow()`'s ISO text (`2026-12-07T14:01:19.123456+00:00`),
    without importing datetime's parser."""
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()
