"""Where Taskly keeps its files: `$TASKLY_HOME/{config,cache,data}`, else the platform's dirs."""

from __future__ import annotations

import contextlib
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


def private_dir(path: Path) -> Path:
    """Make sure `path` is a folder only its owner can read (0700): created so, with the parents
    it needs, or tightened when it exists. Caches and logins live in such folders."""
    created = [folder for folder in (path, *path.parents) if not folder.exists()]
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for folder in created[1:]:  # mkdir gives the parents the umask's mode
        os.chmod(folder, 0o700)
    if path.stat().st_mode & 0o077:
        with contextlib.suppress(PermissionError):  # someone else's folder stays theirs
            os.chmod(path, 0o700)
    return path


def private_file(path: Path) -> Path:
    """Make sure `path` exists and only its owner can read it (0600): created empty, or tightened."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            with contextlib.suppress(PermissionError):
                os.chmod(path, 0o600)
    return path
