"""`taskly status --prompt`: a short segment for shell prompts, from the cache only.

    WEB-12 ▸ In Progress  ✉ 3  ⇡ 1

The current git branch's card and its column, the unread notifications, the queued writes; parts
with nothing to say are left out (an empty line when there is nothing at all). A prompt runs it
before every command line, so `main` calls `run` before typer is imported, and this module imports
almost nothing: it reads the cache with sqlite3 directly (read-only, never creating it; no
pydantic, httpx or `taskly.store`), the branch from `.git/HEAD` (no `git` process), and finds the
cache file as `core.config` and `core.paths` do, with the standard library's lightest parts
(`tests/unit/test_prompt.py` checks that both find the same file).
"""

from __future__ import annotations

import os
import sqlite3
import sys

SEPARATOR = "  "
PROJECT_FILE = ".taskly.toml"


class Segment:
    __slots__ = ("card_key", "column", "queued", "unread")

    def __init__(self, card_key: str | None = None, column: str | None = None, unread: int = 0,
                 queued: int = 0) -> None:
        self.card_key, self.column, self.unread, self.queued = card_key, column, unread, queued


def printable(text: str) -> str:
    """`core.output.printable`, imported only for text that needs escaping (a column name is
    user text)."""
    if text.isprintable():
        return text
    from ..core.output import printable as escaped

    return escaped(text)


def format_segment(segment: Segment) -> str:
    """The prompt text: `KEY ▸ Column`, `✉ N`, `⇡ N`, each only when it says something."""
    parts = []
    if segment.card_key:
        parts.append(printable(segment.card_key)
                     + (f" ▸ {printable(segment.column)}" if segment.column else ""))
    if segment.unread:
        parts.append(f"✉ {segment.unread}")
    if segment.queued:
        parts.append(f"⇡ {segment.queued}")
    return SEPARATOR.join(parts)


def _walk_up(start: str) -> list[str]:
    folders, here = [], os.path.abspath(start)
    while True:
        folders.append(here)
        parent = os.path.dirname(here)
        if parent == here:
            return folders
        here = parent


def head_branch(start: str | None = None) -> str | None:
    """The checked-out branch, read from the nearest `.git` above `start` (a worktree's `gitdir:`
    file followed); None when detached or not in a repository."""
    root = next((folder for folder in _walk_up(start or os.getcwd())
                 if os.path.exists(os.path.join(folder, ".git"))), None)
    if root is None:
        return None
    git = os.path.join(root, ".git")
    try:
        if os.path.isfile(git):
            with open(git) as handle:
                text = handle.read().strip()
            if not text.startswith("gitdir:"):
                return None
            git = os.path.join(root, text.removeprefix("gitdir:").strip())
        with open(os.path.join(git, "HEAD")) as handle:
            head = handle.read().strip()
    except OSError:
        return None
    return head.removeprefix("ref: refs/heads/") if head.startswith("ref: refs/heads/") else None


ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
NAME_CHARS = ASCII_LETTERS | frozenset("0123456789._-")


def _word(char: str) -> bool:
    """A `\\w` character of `re` (str patterns)."""
    return char.isalnum() or char == "_"


def branch_key(branch: str | None) -> str | None:
    """The card key a branch starts with: `taskly_shared.keys.key_from_branch` (BRANCH_KEY_RE)
    without `re`'s import (~8 ms a prompt; tests/unit/test_prompt.py compares them). The key may
    follow `folder/` prefixes; the last place it matches wins, as the regex's greedy prefix does."""
    if not branch:
        return None
    segments = branch.split("/")
    prefixes_ok = 0  # segments[:i] are all `[\\w.-]+` for i <= prefixes_ok
    while prefixes_ok < len(segments) - 1 and segments[prefixes_ok] and all(
            _word(c) or c in ".-" for c in segments[prefixes_ok]):
        prefixes_ok += 1
    for start in range(prefixes_ok, -1, -1):
        key = _key_at("/".join(segments[start:]))
        if key is not None:
            return key
    return None


def _key_at(text: str) -> str | None:
    board, dash, rest = text.partition("-")
    if not dash or not 2 <= len(board) <= 10 or not all(c in ASCII_LETTERS for c in board):
        return None
    digits = 0
    while digits < len(rest) and rest[digits] in "0123456789":
        digits += 1
    if not 1 <= digits <= 9 or rest[0] == "0":
        return None
    after = rest[digits:digits + 1]
    if after and _word(after) and after != "_":
        return None
    return f"{board.upper()}-{int(rest[:digits])}"


def _name(text: str) -> str:
    """`re.sub(r"[^A-Za-z0-9._-]+", "_", text)` (core.paths' file name) without `re`."""
    out: list[str] = []
    for char in text:
        if char in NAME_CHARS:
            out.append(char)
        elif not out or out[-1] != "\0":
            out.append("\0")
    return "".join(out).replace("\0", "_")


def _read_json(path: str):
    """A JSON file, read with `json_loads`."""
    with open(path, encoding="utf-8") as handle:
        return json_loads(handle.read())


_scanner = None


def json_loads(text: str):
    """`json.loads` with the C scanner of `json` (whose import, through `re`, costs ~8 ms)."""
    global _scanner
    if _scanner is None:
        try:
            from _json import make_scanner
        except ImportError:
            import json

            return json.loads(text)

        class Context:  # what json.JSONDecoder hands its scanner
            strict, object_hook, object_pairs_hook, memo = True, None, None, {}
            parse_float, parse_int, parse_constant = float, int, float

        _scanner = make_scanner(Context())
    start = len(text) - len(text.lstrip())
    try:
        value, end = _scanner(text, start)
    except StopIteration as exc:
        raise ValueError("not JSON") from exc
    if text[end:].strip():
        raise ValueError("extra data")
    return value


def _dir(environ: dict[str, str], kind: str) -> str:
    """`core.paths.config_dir` / `cache_dir`: under TASKLY_HOME, else the platform's (XDG on Linux
    without platformdirs' import)."""
    home = environ.get("TASKLY_HOME")
    if home:
        return os.path.join(os.path.expanduser(home), kind)
    if sys.platform.startswith("linux"):
        xdg = environ.get("XDG_CONFIG_HOME" if kind == "config" else "XDG_CACHE_HOME", "").strip()
        base = xdg or os.path.expanduser("~/.config" if kind == "config" else "~/.cache")
        return os.path.join(base, "taskly")
    import platformdirs

    return platformdirs.user_config_dir("taskly") if kind == "config" else platformdirs.user_cache_dir("taskly")


def _simple_toml(text: str) -> dict | None:
    """A TOML file of only `key = "string"` lines (comments and blank lines aside), as taskly
    writes its config, read without tomllib's import (~10 ms); None for anything else."""
    values = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, equals, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if (not equals or not key.isascii() or not key.replace("_", "").replace("-", "").isalnum() or len(value) < 2
                or value[0] != '"' or value[-1] != '"' or '"' in value[1:-1] or "\\" in value
                or not value[1:-1].isprintable() or key in values):
            return None
        values[key] = value[1:-1]
    return values


def _toml(path: str) -> dict:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return {}
    except OSError:
        data = b"\xff"  # tomllib says what is wrong
    try:
        simple = _simple_toml(data.decode())
    except UnicodeDecodeError:
        simple = None
    if simple is not None:
        return simple
    import tomllib

    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except (tomllib.TOMLDecodeError, OSError) as exc:
        from ..core.errors import UsageError

        raise UsageError(f"cannot read {path}: {exc}") from None


def configured_server(environ: dict[str, str], cwd: str | None = None) -> str | None:
    """The server as `core.config.resolve` picks it: TASKLY_SERVER, the nearest .taskly.toml (in
    the nearest folder holding it or .git), the user config."""
    server = environ.get("TASKLY_SERVER")
    if not server:
        root = next((folder for folder in _walk_up(cwd or os.getcwd())
                     if os.path.isfile(os.path.join(folder, PROJECT_FILE))
                     or os.path.exists(os.path.join(folder, ".git"))), None)
        server = (_toml(os.path.join(root, PROJECT_FILE)) if root else {}).get("server") \
            or _toml(os.path.join(_dir(environ, "config"), "config.toml")).get("server")
    if not server:
        return None
    if not isinstance(server, str) or not server.strip().lower().startswith(("http://", "https://")):
        from ..core.errors import UsageError

        raise UsageError(f"server {server!r} is not a URL: give http://HOST or https://HOST")
    return server.rstrip("/")


def _sha256(text: str) -> str:
    try:
        from _sha256 import sha256  # the builtin module: hashlib would load OpenSSL first
    except ImportError:
        from hashlib import sha256
    return sha256(text.encode()).hexdigest()


def _account(server: str, environ: dict[str, str]) -> str | None:
    """`Factory.account`: a digest of TASKLY_TOKEN, else the username logged in to `server`."""
    token = environ.get("TASKLY_TOKEN")
    if token:
        return "token-" + _sha256(token)[:12]
    try:
        entry = _read_json(os.path.join(_dir(environ, "config"), "credentials.json")).get(server)
    except (OSError, ValueError, AttributeError, StopIteration):
        entry = None
    if isinstance(entry, dict) and entry.get("username"):
        return entry["username"]
    from ..core.credentials import Credentials  # a keyring login: the slow way

    return Credentials(None, environ, None).username(server)


def cache_path(environ: dict[str, str], cwd: str | None = None) -> str | None:
    """`core.paths.cache_db_path` of the configured server and account; None when there is none."""
    server = configured_server(environ, cwd)
    account = _account(server, environ) if server else None
    if server is None or account is None:
        return None
    scheme, _, rest = server.partition("://")
    netloc = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if "@" in netloc or "[" in netloc:  # user info or IPv6: urllib's parsing, as core.paths does
        from ..core.paths import cache_db_path

        return str(cache_db_path(server, account, environ))
    host, _, port = netloc.partition(":")
    number = int(port) if port.isdigit() else (443 if scheme.lower() == "https" else 80)
    digest = _sha256(f"{server}\n{account}")[:10]
    name = _name(f"{host.lower() or 'server'}-{number}-{account}")[:80]
    return os.path.join(_dir(environ, "cache"), f"{name}-{digest}.sqlite3")


def read_segment(cache: str | None, key: str | None) -> Segment:
    """What the cache says; a missing, locked or foreign cache says nothing (a prompt never fails)."""
    segment = Segment(card_key=key)
    if cache is None or not os.path.isfile(cache):
        return segment
    try:
        conn = sqlite3.connect(f"file:{cache}?mode=ro", uri=True, timeout=0.2)
    except sqlite3.Error:
        return segment
    try:
        if key is not None:
            row = conn.execute("SELECT col.name FROM cards c LEFT JOIN columns col ON col.id = c.column_id"
                               " WHERE c.key = ? AND c.deleted = 0 ORDER BY c.dirty DESC LIMIT 1", (key,)).fetchone()
            segment.column = row[0] if row else None
        segment.queued = conn.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
        segment.unread = conn.execute("SELECT count(*) FROM notifications WHERE read_at IS NULL").fetchone()[0]
    except sqlite3.Error:  # an older cache (no notifications table yet) or a damaged one
        pass
    finally:
        conn.close()
    return segment


def run(environ: dict[str, str] | None = None) -> int:
    """Print the segment; exit 0 always, except 2 for a configuration that cannot be read."""
    environ = dict(os.environ) if environ is None else environ
    try:
        cache = cache_path(environ)
    except Exception as exc:  # a broken config: one line, as every command says it
        from ..core.output import error_line

        error_line(exc)
        return 2
    segment = read_segment(cache, branch_key(head_branch()))
    sys.stdout.write(format_segment(segment) + "\n")
    return 0
