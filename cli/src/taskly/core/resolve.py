"""Names to things every noun uses: the current workspace and board, columns, users.

Everything resolves against the local cache (call `fresh(f)` first to pull what changed). An
unknown name is `NotFound` (exit 3) listing the valid ones; a missing choice is a `UsageError` (2).
Cards and their fields are named in `taskly.cards.resolve`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .errors import NotFound, Offline, TasklyError, UsageError

if TYPE_CHECKING:
    from taskly_shared.models import BoardOut, ColumnOut, WorkspaceOut

    from ..store import Store
    from ..sync.results import SyncResult
    from .context import Factory

READ_TIMEOUT = 1.5
"""Seconds a read waits for the delta pull before showing cached data."""
SETTLE_TIMEOUT = 5.0
"""Seconds to wait for the pull that brings a management change into the cache."""
CLEAR = {"none", "-", ""}
"""What clears an optional value (`--due none`, `board set-repo none`)."""


def choices(names: list[str], label: str = "valid") -> str:
    return f" ({label}: {', '.join(names)})" if names else ""


# --- freshness ------------------------------------------------------------------------------------


def fresh(f: Factory, *, discover: bool = False, note_stale: bool = True) -> Store:
    """The cache after a quick sync (queued writes pushed, deltas pulled, ≤ 1.5 s); notes stale data.

    `--offline` skips the network entirely.
    """
    if f.globals.offline:
        return f.store
    result = f.engine.sync(timeout=READ_TIMEOUT, discover=discover)
    report_sync(f, result, note_stale=note_stale)
    return f.store


def settle(f: Factory, *, discover: bool = False) -> None:
    """Pull after a change made through the API, so the next command sees it in the cache."""
    f.engine.pull(timeout=SETTLE_TIMEOUT, discover=discover)


def stale_reason(error: str | None, server: str) -> str:
    """What kept a read from the server, in a few words (the budget counts only network time)."""
    text = error or ""
    lowered = text.lower()
    if text == "timed out" or "timeout" in lowered or "timed out" in lowered:
        return f"server did not answer within {READ_TIMEOUT:g} s"
    if "refused" in lowered:
        return "server not reachable (connection refused)"
    if "name or service not known" in lowered or "nodename nor servname" in lowered \
            or "name resolution" in lowered or "getaddrinfo" in lowered:
        return f"server not reachable (unknown host in {server})"
    if "unavailable (http" in lowered or text.startswith("server error"):
        status = re.search(r"HTTP (\d+)", text)
        return f"server unavailable ({'HTTP ' + status.group(1) if status else text}: {server})"
    if text.startswith("cannot reach"):
        detail = text.split(": ", 1)[1] if ": " in text else text
        return f"server not reachable ({detail})"
    return text or "not synced"


def report_sync(f: Factory, result: SyncResult, *, note_stale: bool = True) -> None:
    """Notes for what a sync did besides pulling: pushed, refused and conflicting queued writes."""
    out = f.output
    if result.push.pushed:
        from .render import report_numbered

        out.note(f"pushed {len(result.push.pushed)} queued write(s)")
        report_numbered(out, result.push.numbered)
    for entry, error in result.push.failed:
        out.warn(f"queued {entry.operation} was refused by the server: {error.detail}")
    for conflicts in result.push.conflicts.values():
        fields = ", ".join(sorted({c.field for c in conflicts}))
        out.warn(f"conflict: a queued write overwrote newer values of {fields}")
    if note_stale and result.stale:
        out.note(f"showing cached data: {stale_reason(result.pull.error, f.engine.server_url)}")


def online(f: Factory, action: str) -> None:
    """Refuse, as Offline (exit 6), a command that needs the server when `--offline` is set."""
    if f.globals.offline:
        raise Offline(f"cannot {action} offline")


@contextmanager
def needs_server(f: Factory, action: str) -> Iterator[None]:
    """Turns an unreachable server (or `--offline`) into `Offline("cannot ACTION offline: …")` (exit 6)."""
    online(f, action)
    try:
        yield
    except Offline as exc:
        raise Offline(f"cannot {action} offline: {exc}") from exc


# --- workspaces and boards ------------------------------------------------------------------------


SOURCE_RANK = {"flag": 0, "env": 1, "project": 2, "user": 3}


def configured_workspace(f: Factory) -> WorkspaceOut | None:
    """The configured workspace (NotFound when it names none), or None when none is configured."""
    return workspace(f) if f.config.workspace else None


def _board_outranks_workspace(f: Factory) -> bool:
    """Whether the board was given more directly than the workspace (`--board` over user config)."""
    sources = f.config.sources
    return SOURCE_RANK.get(sources.get("board", "user"), 3) < SOURCE_RANK.get(sources.get("workspace", "user"), 3)


def workspace(f: Factory, ref: str | None = None) -> WorkspaceOut:
    """A workspace by name or id; without one, the current one (config, else the only one cached)."""
    store = f.store
    ref = ref or f.config.workspace
    if ref:
        found = store.workspace(ref)
        if found is None and not f.globals.offline:  # joined elsewhere since the last discovery?
            f.engine.pull(timeout=READ_TIMEOUT, discover=True)
            found = store.workspace(ref)
        if found is None:
            raise NotFound(f"no workspace {ref!r}" + choices([w.name for w in store.workspaces()], "known"))
        return found
    known = store.workspaces()
    if len(known) == 1:
        return known[0]
    if not known:
        raise UsageError("no workspace yet: `taskly workspace create NAME` or `taskly workspace join TOKEN`")
    raise UsageError("no current workspace: choose one with `taskly workspace use NAME`"
                     + choices([w.name for w in known], "one of"))


def board(f: Factory, ref: str | None = None) -> BoardOut:
    """A board by key or name; without one, the current board (config, else the workspace's only one)."""
    store = f.store
    explicit, ref = bool(ref), ref or f.config.board
    if ref:
        scope = configured_workspace(f)
        found = store.board(ref, str(scope.id)) if scope else store.board(ref)
        if found is None and scope is not None and (explicit or _board_outranks_workspace(f)):
            found = store.board(ref)
        if found is None:
            known = store.boards(str(scope.id) if scope else None)
            raise NotFound(f"no board {ref!r}" + choices([b.key for b in known], "known"))
        return found
    current = workspace(f)
    boards = store.boards(str(current.id))
    if len(boards) == 1:
        return boards[0]
    if not boards:
        raise UsageError(f"workspace {current.name} has no board yet: `taskly board create NAME --key KEY`")
    raise UsageError("no current board: choose one with `taskly board use KEY`"
                     + choices([b.key for b in boards], "one of"))


def board_json(f: Factory, ref: str | None = None) -> dict[str, Any]:
    """`board()` as the cached wire JSON (with its columns), without pydantic when the board is named."""
    explicit, ref = bool(ref), ref or f.config.board
    if ref:
        store = f.store
        scope = store.workspace_id(f.config.workspace) if f.config.workspace else None
        if scope is not None or not f.config.workspace:  # an unknown workspace is board()'s to report
            found = store.board_json(ref, scope) if scope else store.board_json(ref)
            if found is not None:
                return found
    # the other cases (fallbacks by precedence, and the errors) as board() has them
    return board(f, ref if explicit else None).model_dump(mode="json")


def column_json(board: dict[str, Any], name: str) -> dict[str, Any]:
    """`column()` on a board's wire JSON."""
    wanted = name.strip().lower()
    for candidate in board["columns"]:
        if candidate["name"].lower() == wanted or candidate["id"] == wanted:
            return candidate
    raise NotFound(f"board {board['key']} has no column {name!r}"
                   + choices([c["name"] for c in board["columns"]]))


def column(board: BoardOut, name: str) -> ColumnOut:
    """A column of `board` by name (case-insensitive) or id; NotFound lists the valid names."""
    wanted = name.strip().lower()
    for candidate in board.columns:
        if candidate.name.lower() == wanted or str(candidate.id) == wanted:
            return candidate
    raise NotFound(f"board {board.key} has no column {name!r}"
                   + choices([c.name for c in board.columns]))


# --- users ----------------------------------------------------------------------------------------


def me(f: Factory) -> str:
    """The signed-in username (asks the server once when only TASKLY_TOKEN is known)."""
    if f.login is not None:
        return f.login.username
    with needs_server(f, "tell who you are with only TASKLY_TOKEN"):
        return f.api.me(timeout=READ_TIMEOUT).username


def usernames(f: Factory, workspace_id: str, names: list[str]) -> list[str]:
    """Members of the workspace by username (case-insensitive, `@` optional, `me` for yourself)."""
    members = {m.username.lower(): m.username for m in f.store.members(workspace_id)}
    found: list[str] = []
    for raw in names:
        name = raw.strip().lstrip("@")
        if name.lower() == "me":
            name = me(f)
        username = members.get(name.lower())
        if username is None:
            raise NotFound(f"no member {name!r} in this workspace" + choices(sorted(members.values()), "members"))
        if username not in found:
            found.append(username)
    return found


# --- the current choice in the user config --------------------------------------------------------


def workspace_ref(f: Factory, workspace: WorkspaceOut) -> str:
    """How the user config names a workspace: its name, or its id when the name is ambiguous."""
    same = [w for w in f.store.workspaces() if w.name.lower() == workspace.name.lower()]
    return workspace.name if len(same) <= 1 else str(workspace.id)


def make_current(f: Factory, **values: str | None) -> None:
    """Remember the current workspace/board in the user config; notes what overrides it here."""
    from .config import save_user

    path = f.config.user_path
    if path is None:
        raise TasklyError("no user config path")
    save_user(path, **values)
    for key, value in values.items():
        source = f.config.sources.get(key)
        if value is not None and source in ("flag", "env", "project"):
            where = {"flag": f"--{key}", "env": f"TASKLY_{key.upper()}", "project": ".taskly.toml"}[source]
            f.output.note(f"note: {where} overrides the current {key} here")
