"""Names to things: the current workspace and board, columns, cards, users, dates and card fields.

Everything resolves against the local cache (call `fresh(f)` first to pull what changed). An
unknown name is `NotFound` (exit 3) listing the valid ones; a missing choice is a `UsageError` (2).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from .errors import NotFound, Offline, TasklyError, UsageError

if TYPE_CHECKING:
    from taskly_shared.models import BoardOut, CardOut, ColumnOut, WorkspaceOut

    from .context import Factory
    from .store import Store
    from .sync.results import SyncResult

READ_TIMEOUT = 1.5
"""Seconds a read waits for the delta pull before showing cached data."""


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


def stale_reason(error: str | None, server: str) -> str:
    text = error or ""
    if text.startswith(("cannot reach", "server error")) or "unavailable" in text:
        return f"server unreachable ({server})"
    if "timed out" in text:
        return f"server did not answer within {READ_TIMEOUT:g} s"
    return text or "not synced"


def report_sync(f: Factory, result: SyncResult, *, note_stale: bool = True) -> None:
    """Notes for what a sync did besides pulling: pushed, refused and conflicting queued writes."""
    out = f.output
    if result.push.pushed:
        out.note(f"pushed {len(result.push.pushed)} queued write(s)")
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


def _configured_workspace(f: Factory) -> WorkspaceOut | None:
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
        scope = _configured_workspace(f)
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


# --- cards ----------------------------------------------------------------------------------------


def branch_card_key() -> str:
    """The key of the card whose branch is checked out (`web-12-fix-login` → WEB-12)."""
    from taskly_shared.keys import format_card_key, key_from_branch

    from .git import current_branch

    branch = current_branch()
    if branch is None:
        raise UsageError("no CARD given, and not on a git branch to take it from")
    parsed = key_from_branch(branch)
    if parsed is None:
        raise UsageError(f"no CARD given, and branch {branch!r} does not start with a card key")
    return format_card_key(*parsed)


def card(f: Factory, ref: str | None) -> CardOut:
    """A cached card by key (`WEB-12`), id, or number within the current board (`12`).

    Without `ref`, the card of the current git branch.
    """
    ref = (ref or branch_card_key()).strip().lstrip("#")
    store = f.store
    if ref.isdigit():
        current = board(f)
        found = store.card(ref, board_id=str(current.id))
        ref = f"{current.key}-{ref}"
    else:
        scope = _configured_workspace(f)
        found = (store.card(ref, workspace_id=str(scope.id)) if scope else None) or store.card(ref)
    if found is None:
        raise NotFound(f"no card {ref}")
    return found


def card_id(f: Factory, ref: str | None) -> str:
    return str(card(f, ref).id)


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


# --- card fields ----------------------------------------------------------------------------------

CLEAR = {"none", "-", ""}


def due_date(text: str, today: date | None = None) -> date | None:
    """`YYYY-MM-DD`, `today`, `tomorrow`, `+3d`, `+2w`; `none` clears (None)."""
    value = text.strip().lower()
    today = today or date.today()
    if value in CLEAR:
        return None
    if value == "today":
        return today
    if value == "tomorrow":
        return today + timedelta(days=1)
    relative = re.fullmatch(r"\+(\d{1,4})([dw]?)", value)
    if relative:
        days = int(relative[1]) * (7 if relative[2] == "w" else 1)
        return today + timedelta(days=days)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--due {text!r}: use YYYY-MM-DD, today, tomorrow, +3d or +2w") from None


def card_fields(values: dict[str, Any]) -> dict[str, Any]:
    """Checks the fields of a card write locally (a clear usage error instead of a server 422)."""
    from pydantic import ValidationError
    from taskly_shared.models import CardFields

    try:
        CardFields.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise UsageError(f"invalid card fields: {problems}") from None
    return values


def priority(value: str) -> str:
    from taskly_shared.models import Priority

    names = [p.value for p in Priority]
    if value.strip().lower() not in names:
        raise UsageError(f"unknown priority {value!r}" + choices(names))
    return value.strip().lower()


def sprint_id(f: Factory, workspace_id: str, ref: str) -> str:
    """A cached sprint by name (case-insensitive) or id."""
    sprints = f.store.entities("sprint", workspace_id)
    for sprint in sprints:
        if str(sprint.get("id")) == ref or str(sprint.get("name", "")).lower() == ref.strip().lower():
            return str(sprint["id"])
    raise NotFound(f"no sprint {ref!r}" + choices([str(s.get("name")) for s in sprints], "known"))


# --- the current choice in the user config --------------------------------------------------------


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
