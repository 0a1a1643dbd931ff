"""The one request an online fast read pays: is there anything new in the workspace's change feed
since the cache's cursor? One HTTP/1.1 GET over a plain socket (http.client costs ~40 ms to
import, httpx ~150 ms; the socket module ~7 ms), with the same bearer token the API client sends.

`nothing_new` answers True only for an empty page the typer path's pull would have applied as a
no-op; anything else (changes, a refused token, an error, a timeout, https without ssl loaded …)
is False and the typer path pulls as usual.
"""

from __future__ import annotations

import json
import os
import sqlite3

from ..sync import prompt

TIMEOUT = 0.75
"""Seconds the delta request may take (an empty delta takes a few ms): past it the typer path
pulls with its own budget (`core.resolve.READ_TIMEOUT`, 1.5 s), so a hung server costs a read at
most this much more than it did."""
API = "/api/v1"


def access_token(server: str, environ: dict[str, str]) -> str | None:
    """TASKLY_TOKEN, else the stored login's access token from credentials.json (a keyring login:
    None, the typer path reads it)."""
    if environ.get("TASKLY_TOKEN"):
        return environ["TASKLY_TOKEN"]
    try:
        entry = prompt._read_json(os.path.join(prompt._dir(environ, "config"), "credentials.json")).get(server)
    except (OSError, ValueError, AttributeError):
        return None
    token = entry.get("access_token") if isinstance(entry, dict) else None
    return token if isinstance(token, str) and token.isprintable() else None


def get(server: str, path: str, token: str, timeout: float = TIMEOUT) -> tuple[int, bytes] | None:
    """(status, body) of `GET server+path`, or None when it could not be read."""
    import socket

    scheme, _, rest = server.partition("://")
    netloc, slash, prefix = rest.partition("/")
    host, colon, port = netloc.rpartition(":") if ":" in netloc and not netloc.endswith("]") else (netloc, "", "")
    if scheme.lower() != "http" or "@" in netloc or "[" in netloc or (colon and not port.isdigit()):
        return None
    request = (f"GET {'/' + prefix if slash else ''}{path} HTTP/1.1\r\nHost: {netloc}\r\n"
               f"Authorization: Bearer {token}\r\nAccept: application/json\r\nConnection: close\r\n\r\n")
    try:
        with socket.create_connection((host, int(port) if port else 80), timeout=timeout) as conn:
            conn.sendall(request.encode())
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
    except (OSError, UnicodeError, ValueError):
        return None
    return _response(b"".join(chunks))


def _response(raw: bytes) -> tuple[int, bytes] | None:
    head, separator, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if not separator or len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        return None
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    if headers.get(b"content-encoding", b"identity") != b"identity":
        return None
    if b"chunked" in headers.get(b"transfer-encoding", b""):
        decoded = []
        while True:
            size_line, _, body = body.partition(b"\r\n")
            try:
                size = int(size_line.split(b";")[0], 16)
            except ValueError:
                return None
            if size == 0:
                break
            decoded.append(body[:size])
            body = body[size + 2:]
        body = b"".join(decoded)
    elif b"content-length" in headers and len(body) != int(headers[b"content-length"]):
        return None
    return int(parts[1]), body


def nothing_new(conn: sqlite3.Connection, server: str, workspace_id: str, environ: dict[str, str]) -> str | None:
    """None when the server has no change past the cache's cursor of `workspace_id` (one request);
    else why the typer path must pull."""
    token = access_token(server, environ)
    row = conn.execute("SELECT seq FROM cursors WHERE workspace_id = ?", (workspace_id,)).fetchone()
    if token is None or row is None:
        return "no token in the environment or credentials.json" if token is None else "no cursor yet"
    since = row[0]
    answer = get(server, f"{API}/workspaces/{workspace_id}/changes?since={since}&limit=1", token)
    if answer is None or answer[0] != 200:
        return f"the delta request answered {answer[0] if answer else 'nothing readable'}"
    try:
        page = json.loads(answer[1])
    except ValueError:
        return "the delta is not JSON"
    empty = (isinstance(page, dict) and page.get("changes") == [] and page.get("has_more") is False
             and isinstance(page.get("seq"), int) and page["seq"] >= since
             and isinstance(page.get("next_since"), int) and page["next_since"] <= since)
    return None if empty else f"something new since {since}: {answer[1][:300]!r}"


def touch(path: str, workspace_id: str) -> None:
    """Record the pull as the typer path does (`touch_cursor`): the next read within
    TASKLY_FRESH_SECONDS needs no request."""
    from datetime import UTC, datetime

    try:
        conn = sqlite3.connect(path, timeout=10, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("UPDATE cursors SET synced_at = ? WHERE workspace_id = ?",
                         (datetime.now(UTC).isoformat(), workspace_id))
        finally:
            conn.close()
    except sqlite3.Error:
        pass
