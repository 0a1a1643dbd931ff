"""Shell completion of card keys, column names, board keys, usernames, priorities, labels and sprints, read
from the local cache; and the bash, zsh and fish glue that quotes what it inserts (`ShellGlue`).

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
    """Keys of the cached cards (`WEB-12`) starting with `incomplete`, then the handles of cards
    made offline (`WEB-?3f2a9c1b`, or `?3f2a9c1b` when that is what was typed), current board first."""
    try:
        with _reads() as (reads, config):
            keys = reads.card_keys(incomplete)
            pending = reads._all("SELECT b.key, c.id FROM cards c JOIN boards b ON b.id = c.board_id"
                                 " WHERE c.key IS NULL AND c.deleted = 0 ORDER BY c.board_id, c.rank, c.id")
    except Exception:
        return []
    keys += _handles(incomplete, pending)
    board = (config.board or "").upper() if config is not None else ""
    if board:
        keys.sort(key=lambda key: not key.upper().startswith(f"{board}-"))  # stable: numbers stay in order
    return [_in_case_of(incomplete, key) for key in keys[:LIMIT]]


def _handles(incomplete: str, pending: list[tuple[str, str]]) -> list[str]:
    """The handles (first 8 hex digits of the id) of cards not numbered yet that match what was
    typed: `WEB-?3f2a9c1b` (as `ls` shows them), or the bare `?3f2a9c1b`/`3f2a9c1b` typed so."""
    wanted = incomplete.casefold()
    found = []
    for board_key, card_id in pending:
        handle = card_id.replace("-", "")[:8].lower()
        for form in (f"{board_key}-?{handle}", f"?{handle}", handle):
            if form.casefold().startswith(wanted):  # "" and `W…` get the first form, `?…` the second
                found.append(form)
                break
    return found


def complete_card_then_column(ctx, incomplete: str) -> list[str]:
    """`taskly mv [CARD]... COLUMN`, whose cards take every word but the last: card keys for the
    first word (unless --where chose the cards), then column names (card keys when no column
    matches what was typed, for another card)."""
    params = getattr(ctx, "params", None) or {}
    return cards_then_column(bool(params.get("cards") or params.get("column") or params.get("where")), incomplete)


def cards_then_column(typed: bool, incomplete: str) -> list[str]:
    """Card keys while no card is `typed`, then column names (card keys when none matches)."""
    if not typed:
        return complete_card(incomplete)
    return complete_column(incomplete) or complete_card(incomplete)


def complete_card_then_user(ctx, incomplete: str) -> list[str]:
    """`taskly assign CARD... USER...`: card keys for the first word (unless --where chose the
    cards), then usernames (card keys when no user matches, for another card)."""
    params = getattr(ctx, "params", None) or {}
    if not (params.get("args") or params.get("where")):
        return complete_card(incomplete)
    return complete_user(incomplete) or complete_card(incomplete)


def complete_column(incomplete: str) -> list[str]:
    """Column names of the current board (of every cached board when none is set)."""
    try:
        with _reads() as (reads, config):
            names = _column_names(reads, config)
    except Exception:
        return []
    wanted = incomplete.casefold()
    return [_in_case_of(incomplete, name) for name in names
            if name.isprintable() and name.casefold().startswith(wanted)]  # a shell reads no control


PRIORITIES = ("none", "low", "medium", "high", "urgent")
"""taskly_shared.models.Priority's values (importing it would import pydantic on every TAB)."""


def complete_board(incomplete: str) -> list[str]:
    """Keys of the cached boards (of the current workspace first)."""
    try:
        with _reads() as (reads, config):
            rows = reads._all("SELECT key, workspace_id FROM boards WHERE archived = 0 ORDER BY key")
            workspace_id = reads.workspace_id(config.workspace) if config is not None and config.workspace else None
    except Exception:
        return []
    keys = [key for key, workspace in sorted(rows, key=lambda row: row[1] != workspace_id)]
    return _matching(incomplete, list(dict.fromkeys(keys)))


def complete_user(incomplete: str) -> list[str]:
    """Usernames of the cached members (of the current workspace when one is set), and `me`."""
    try:
        with _reads() as (reads, config):
            workspace_id = reads.workspace_id(config.workspace) if config is not None and config.workspace else None
            rows = (reads._all("SELECT username FROM members WHERE workspace_id = ? ORDER BY lower(username)",
                               (workspace_id,)) if workspace_id
                    else reads._all("SELECT username FROM members ORDER BY lower(username)"))
    except Exception:
        return []
    return _matching(incomplete, ["me", *dict.fromkeys(name for (name,) in rows)])


def complete_priority(incomplete: str) -> list[str]:
    return _matching(incomplete, list(PRIORITIES))


def complete_label(incomplete: str) -> list[str]:
    """Labels of the cached live cards, most used first; then the catalogue's unused ones."""
    try:
        with _reads() as (reads, _config):
            rows = reads._all("SELECT value, count(*) FROM cards, json_each(cards.json, '$.labels') "
                              "WHERE deleted = 0 AND json_valid(cards.json) GROUP BY value "
                              "ORDER BY count(*) DESC, value")
            catalogue = reads._all("SELECT json_extract(json, '$.name') FROM entities WHERE entity_type = 'label'"
                                   " AND json_valid(json) ORDER BY 1")
    except Exception:
        return []
    names = [str(label) for label, _ in rows if isinstance(label, str)]
    names += [str(name) for (name,) in catalogue if isinstance(name, str) and name not in names]
    return _matching(incomplete, names)


def complete_sprint(incomplete: str) -> list[str]:
    """Names of the cached sprints not closed yet (of the current board first), then `current`
    and `none` (what `--sprint` also accepts)."""
    try:
        with _reads() as (reads, config):
            board = _current_board(reads, config)
            rows = reads._all("SELECT name, board_id FROM sprints WHERE deleted = 0 AND "
                              "json_extract(json, '$.closed_at') IS NULL ORDER BY lower(name)")
    except Exception:
        return []
    names = [name for name, board_id in sorted(rows, key=lambda row: board is None or row[1] != board["id"])]
    return _matching(incomplete, [*dict.fromkeys(names), "current", "none"])


def _matching(incomplete: str, names: list[str]) -> list[str]:
    """The printable names starting with `incomplete` in any case, returned in its case."""
    wanted = incomplete.casefold()
    return [_in_case_of(incomplete, name) for name in names
            if name.isprintable() and name.casefold().startswith(wanted)][:LIMIT]


def _in_case_of(typed: str, candidate: str) -> str:
    return typed + candidate[len(typed):] if typed else candidate


def _current_board(reads, config) -> dict | None:
    if config is None or not config.board:
        return None
    workspace_id = reads.workspace_id(config.workspace) if config.workspace else None
    return reads.board_json(config.board, workspace_id) or reads.board_json(config.board)


def _column_names(reads, config) -> list[str]:
    board = _current_board(reads, config)
    if board is not None:
        return [column["name"] for column in board["columns"]]
    rows = reads._all("SELECT name FROM columns ORDER BY board_id, rank")
    return list(dict.fromkeys(name for (name,) in rows))


@contextmanager
def _reads() -> Iterator[tuple[object, object]]:
    """The current account's cache, read-only, as `taskly.store.reads.Reads` (and the config)."""
    import sqlite3
    import threading

    from ..store.reads import Reads
    from .config import resolve
    from .globals import GLOBALS

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


# --- the shell side: scripts and typer's `_TASKLY_COMPLETE` protocol --------------------------------

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_TASKLY_COMPLETE"

ZSH_SCRIPT = """
#compdef %(prog_name)s

%(complete_func)s() {
  local -a candidates
  candidates=("${(@f)$(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" %(autocomplete_var)s=complete_zsh %(prog_name)s)}")
  candidates=(${candidates:#})
  if (( ${#candidates} )); then
    compadd -- "${candidates[@]}"
  else
    _files
  fi
}

compdef %(complete_func)s %(prog_name)s
"""
"""zsh gets one raw candidate a line and `compadd` quotes what it inserts (typer's `_arguments` eval
splits and re-joins them)."""

_BASH_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_")


def bash_escape(value: str) -> str:
    """A backslash before each character bash would split or expand (`In\\ Progress`): bash inserts
    COMPREPLY as it is, and a common prefix of escaped candidates is still valid input."""
    return "".join(c if c in _BASH_SAFE or not c.isascii() else f"\\{c}" for c in value)


def script_request(args: list[str]) -> tuple[str, str | None] | None:
    """`("show"|"install", SHELL or None)` when the arguments before the command are
    `--show-completion [SHELL]`, `--show-completion=SHELL` (or `--install-completion` alike)."""
    for index, arg in enumerate(args):
        if not arg.startswith("-"):
            return None
        for action in ("show", "install"):
            flag = f"--{action}-completion"
            if arg == flag:
                following = args[index + 1] if index + 1 < len(args) else None
                return action, following if following and not following.startswith("-") else None
            if arg.startswith(flag + "="):
                return action, arg.split("=", 1)[1]
    return None


def script_command(action: str, shell: str | None, environ: dict[str, str]) -> int:
    """Print (or install) the completion script of `shell` (default: $SHELL's, else bash); exit 2
    for a shell taskly cannot complete in."""
    import sys

    if shell is None:
        shell = Path(environ.get("SHELL", "")).name
        shell = shell if shell in SHELLS else "bash"
    if shell not in SHELLS:
        sys.stderr.write(f"taskly: --{action}-completion: unsupported shell {shell!r}: use bash, zsh or fish\n")
        return 2
    from typer import _completion_shared as shared

    scripts = {**shared._completion_scripts, "zsh": ZSH_SCRIPT}
    if action == "show":
        text = (scripts[shell] % {"complete_func": "_taskly_completion", "prog_name": "taskly",
                                  "autocomplete_var": COMPLETE_VAR}).strip()
        sys.stdout.write(text + "\n")
        return 0
    saved = dict(shared._completion_scripts)
    shared._completion_scripts.update(scripts)
    try:
        _, path = shared.install(shell=shell, prog_name="taskly", complete_var=COMPLETE_VAR)
    finally:
        shared._completion_scripts.clear()
        shared._completion_scripts.update(saved)
    sys.stderr.write(f"{shell} completion installed in {path}; it takes effect in a new shell\n")
    return 0


def shell_complete(cli, ctx_args, prog_name: str, instruction: str) -> int:
    """Answer one `_TASKLY_COMPLETE=complete_bash|bash_complete|…` request (typer's order and
    click's both): bash gets escaped candidates, zsh raw lines for `compadd`, fish typer's lines."""
    import sys

    first, _, second = instruction.partition("_")
    action, shell = (first, second) if first in ("complete", "source") else (second, first)
    classes = _shell_classes()
    if shell not in classes or action not in ("complete", "source"):
        sys.stderr.write(f"taskly: unsupported completion request {instruction!r}: "
                         "use complete_bash, complete_zsh or complete_fish\n")
        return 2
    if action == "source":
        return script_command("show", shell, dict(os.environ))
    sys.stdout.write(classes[shell](cli, ctx_args, prog_name, COMPLETE_VAR).complete() + "\n")
    return 0


def _shell_classes() -> dict[str, type]:
    from typer._completion_classes import BashComplete, FishComplete, ZshComplete

    class Bash(BashComplete):
        def format_completion(self, item) -> str:
            return bash_escape(item.value)

    class Zsh(ZshComplete):
        def complete(self) -> str:
            args, incomplete = self.get_completion_args()
            return "\n".join(item.value for item in self.get_completions(args, incomplete)
                             if item.value and item.value.isprintable())

    class Fish(FishComplete):
        def format_completion(self, item) -> str:
            return item.value

    return {"bash": Bash, "zsh": Zsh, "fish": Fish}
