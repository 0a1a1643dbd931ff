"""Where Taskly keeps its files: `$TASKLY_HOME/{config,cache,data}`, else the platform's dirs."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

APP = "taskly"


def _home(environ: Mapping[str, str] | None) -> Path | None:
    value = (environ if environ is not None else os.environ).get("TASKLY_HOME")
    return Path(value).expanduser() if value else None


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Settings and the token file."""
    home = _home(environ)
    if home is not None:
        return home / "config"
    import platformdirs  # ~13 ms; not needed when TASKLY_HOME is set

    return Path(platformdirs.user_config_dir(APP))


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The SQLite caches (safe to delete: they are rebuilt from the server)."""
    home = _home(environ)
    if home is not None:
        return home / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP))


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Data that must survive (the embedded server's database)."""
    home = _home(environ)
    if home is not None:
        return home / "data"
    import platformdirs

    return Path(platformdirs.user_data_dir(APP))


def cache_db_path(server_url: str, user: str, environ: Mapping[str, str] | None = None) -> Path:
    """One cache database per server and user: `<cache>/<host>-<port>-<user>-<hash>.sqlite3`."""
    parts = urlsplit(server_url.rstrip("/"))
    host = parts.hostname or "server"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    digest = hashlib.sha256(f"{server_url.rstrip('/')}\n{user}".encode()).hexdigest()[:10]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{host}-{port}-{user}")[:80]
    return cache_dir(environ) / f"{name}-{digest}.sqlite3"
