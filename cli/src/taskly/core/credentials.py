"""Tokens: TASKLY_TOKEN → the OS keyring when a real backend exists → a 0600 file (one-time note).

Where logins are kept; signing in and out (`taskly login`, `logout`) is `taskly.auth.actions`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVICE = "taskly"


@dataclass
class StoredLogin:
    server: str
    username: str
    access_token: str
    refresh_token: str | None = None

    def __repr__(self) -> str:
        return f"StoredLogin({self.server!r}, {self.username!r})"


class Credentials:
    """Reads and writes the login of each server; the env token wins and is never stored."""

    def __init__(self, config: Any, environ: dict[str, str], output: Any) -> None:
        self.config = config
        self.environ = environ
        self.output = output

    @property
    def file(self) -> Path:
        from .paths import config_dir

        return config_dir(self.environ) / "credentials.json"

    def env_token(self) -> str | None:
        return self.environ.get("TASKLY_TOKEN") or None

    def load(self, server: str) -> StoredLogin | None:
        # The file first: a login kept there never imports keyring (~60 ms on every command).
        entry = self._read_file().get(server)
        raw = entry if isinstance(entry, dict) and entry.get("access_token") else self._keyring_get(server)
        if not raw:
            return None
        try:
            data = json.loads(raw) if isinstance(raw, str) else raw
            return StoredLogin(server=server, **{k: data.get(k) for k in
                               ("username", "access_token", "refresh_token")})
        except (ValueError, TypeError):
            return None

    def username(self, server: str) -> str | None:
        """Who is logged in to `server`, from the file or its index of keyring logins when it can:
        reading the cache offline needs the account, not the secret (nor keyring's import)."""
        entry = self._read_file().get(server)
        if isinstance(entry, dict) and entry.get("username"):
            return entry["username"]
        login = self.load(server)
        return login.username if login else None

    def save(self, login: StoredLogin) -> str:
        """Store a login; answers where it went ("keyring" or the file path)."""
        payload = json.dumps({"username": login.username, "access_token": login.access_token,
                              "refresh_token": login.refresh_token})
        if self._keyring_set(login.server, payload):
            data = self._read_file()  # an index without secrets, for `username()`
            data[login.server] = {"username": login.username, "keyring": True}
            self._write_file(data, note=False)
            return "keyring"
        data = self._read_file()
        data[login.server] = json.loads(payload)
        self._write_file(data)
        return str(self.file)

    def clear(self, server: str) -> bool:
        removed = self._keyring_delete(server)
        data = self._read_file()
        if server in data:
            del data[server]
            self._write_file(data)
            removed = True
        return removed

    # --- keyring, only when a real backend exists (keyring costs ~100 ms to import) ---------

    def _keyring(self):
        if self.environ.get("TASKLY_NO_KEYRING"):
            return None
        try:
            import keyring
            from keyring.backends import fail
        except Exception:
            return None
        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring) or (type(backend).__name__ in {"ChainerBackend"} and not getattr(
                backend, "backends", None)):
            return None
        return keyring

    def _keyring_get(self, server: str) -> str | None:
        keyring = self._keyring()
        if keyring is None:
            return None
        try:
            return keyring.get_password(SERVICE, server)
        except Exception:
            return None

    def _keyring_set(self, server: str, payload: str) -> bool:
        keyring = self._keyring()
        if keyring is None:
            return False
        try:
            keyring.set_password(SERVICE, server, payload)
            return True
        except Exception:
            return False

    def _keyring_delete(self, server: str) -> bool:
        keyring = self._keyring()
        if keyring is None:
            return False
        try:
            keyring.delete_password(SERVICE, server)
            return True
        except Exception:
            return False

    # --- the 0600 file ---------------------------------------------------------------------

    def _read_file(self) -> dict[str, Any]:
        try:
            return json.loads(self.file.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def _write_file(self, data: dict[str, Any], note: bool = True) -> None:
        from .paths import private_dir

        path = self.file
        first = not path.exists()
        private_dir(path.parent)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
        os.chmod(tmp, 0o600)
        tmp.replace(path)
        if note and first and data:
            self.output.note(f"note: no system keyring found; credentials are stored in {path} (mode 0600)")
