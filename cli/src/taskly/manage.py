"""Management operations that need the server: workspaces, invitations, boards, columns, tokens.

Each one resolves names against the cache, makes its request (an unreachable server or
`--offline` is `Offline`, exit 6: "cannot … offline"), then pulls so the cache knows the result.
Card writes are different: they go through the sync engine and work offline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import resolve
from .errors import NotFound, UsageError

if TYPE_CHECKING:
    from taskly_shared.models import (
        ApiTokenCreated,
        ApiTokenOut,
        BoardOut,
        ColumnOut,
        InvitationOut,
        WorkspaceOut,
    )

    from .context import Factory

SETTLE_TIMEOUT = 5.0
"""Seconds to wait for the pull that brings a management change into the cache."""


def settle(f: Factory, *, discover: bool = False) -> None:
    """Pull after a change made through the API, so the next command sees it in the cache."""
    f.engine.pull(timeout=SETTLE_TIMEOUT, discover=discover)


def workspace_ref(f: Factory, workspace: WorkspaceOut) -> str:
    """How the user config names a workspace: its name, or its id when the name is ambiguous."""
    same = [w for w in f.store.workspaces() if w.name.lower() == workspace.name.lower()]
    return workspace.name if len(same) <= 1 else str(workspace.id)


# --- workspaces ---------------------------------------------------------------------------------


def create_workspace(f: Factory, name: str) -> WorkspaceOut:
    """A new workspace, made current (the current board is cleared)."""
    with resolve.needs_server(f, "create a workspace"):
        created = f.api.create_workspace(name)
        settle(f, discover=True)
    resolve.make_current(f, workspace=workspace_ref(f, created), board=None)
    return created


def use_workspace(f: Factory, ref: str) -> WorkspaceOut:
    resolve.fresh(f, discover=True)
    chosen = resolve.workspace(f, ref)
    resolve.make_current(f, workspace=workspace_ref(f, chosen), board=None)
    return chosen


def invite(f: Factory, role: str, expires_in_hours: int | None) -> tuple[WorkspaceOut, InvitationOut]:
    with resolve.needs_server(f, "create an invitation"):
        resolve.fresh(f, note_stale=False)
        current = resolve.workspace(f)
        return current, f.api.create_invitation(str(current.id), role, expires_in_hours=expires_in_hours)


def join(f: Factory, token: str) -> WorkspaceOut:
    """Accept an invitation; its workspace becomes the current one."""
    with resolve.needs_server(f, "join a workspace"):
        joined = f.api.accept_invitation(token.strip())
        settle(f, discover=True)
    resolve.make_current(f, workspace=workspace_ref(f, joined), board=None)
    return joined


# --- boards -------------------------------------------------------------------------------------


def create_board(f: Factory, name: str, key: str) -> BoardOut:
    """A new board in the current workspace (with the server's default columns), made current."""
    from taskly_shared.keys import BOARD_KEY_RE

    key = key.strip().upper()
    if not BOARD_KEY_RE.match(key):
        raise UsageError(f"board key {key!r}: use 2 to 10 letters, like WEB")
    with resolve.needs_server(f, "create a board"):
        resolve.fresh(f, note_stale=False)
        current = resolve.workspace(f)
        created = f.api.create_board(str(current.id), name, key)
        settle(f)
    resolve.make_current(f, workspace=workspace_ref(f, current), board=created.key)
    return f.store.board(str(created.id)) or created


def use_board(f: Factory, ref: str) -> BoardOut:
    resolve.fresh(f, discover=True)
    chosen = resolve.board(f, ref)
    owner = f.store.workspace(str(chosen.workspace_id))
    resolve.make_current(f, workspace=workspace_ref(f, owner) if owner else None, board=chosen.key)
    return chosen


# --- columns (of the current board) --------------------------------------------------------------


def _board_for_columns(f: Factory, action: str) -> BoardOut:
    resolve.online(f, action)
    resolve.fresh(f, note_stale=False)
    return resolve.board(f)


def add_column(f: Factory, name: str, kind: str | None, wip_limit: int | None,
               position: int | None) -> ColumnOut:
    """A new column; `position` is 1-based (1 = first), the end when None."""
    board = _board_for_columns(f, "add a column")
    if position is not None and position < 1:
        raise UsageError("--position counts from 1 (the first column)")
    with resolve.needs_server(f, "add a column"):
        created = f.api.add_column(str(board.id), name, kind=kind, wip_limit=wip_limit,
                                   position=None if position is None else position - 1)
        settle(f)
    return created


def rename_column(f: Factory, old: str, new: str) -> ColumnOut:
    board = _board_for_columns(f, "rename a column")
    column = resolve.column(board, old)
    with resolve.needs_server(f, "rename a column"):
        renamed = f.api.update_column(str(column.id), name=new)
        settle(f)
    return renamed


def move_column(f: Factory, name: str, position: int) -> ColumnOut:
    """Move a column to a 1-based place among the board's columns."""
    board = _board_for_columns(f, "move a column")
    column = resolve.column(board, name)
    if position < 1:
        raise UsageError("POSITION counts from 1 (the first column)")
    with resolve.needs_server(f, "move a column"):
        moved = f.api.update_column(str(column.id), position=min(position, len(board.columns)) - 1)
        settle(f)
    return moved


def remove_column(f: Factory, name: str, move_to: str | None) -> ColumnOut:
    """Delete a column; its cards go to `move_to` (the server refuses a non-empty column without it)."""
    board = _board_for_columns(f, "remove a column")
    column = resolve.column(board, name)
    target = resolve.column(board, move_to) if move_to else None
    if target is not None and target.id == column.id:
        raise UsageError("--move-to must be another column")
    with resolve.needs_server(f, "remove a column"):
        f.api.delete_column(str(column.id), move_to=str(target.id) if target else None)
        settle(f)
    return column


# --- API tokens -----------------------------------------------------------------------------------


def create_token(f: Factory, name: str, expires_in_days: int | None) -> ApiTokenCreated:
    with resolve.needs_server(f, "create a token"):
        return f.api.create_token(name, expires_in_days=expires_in_days)


def list_tokens(f: Factory) -> list[ApiTokenOut]:
    with resolve.needs_server(f, "list tokens"):
        return f.api.list_tokens()


def revoke_token(f: Factory, ref: str) -> ApiTokenOut:
    """Revoke a token named by id or name (an active one when several share the name)."""
    with resolve.needs_server(f, "revoke a token"):
        tokens = f.api.list_tokens()
        matches = [t for t in tokens if str(t.id) == ref.strip()] or [
            t for t in tokens if t.name == ref and t.revoked_at is None]
        if not matches:
            raise NotFound(f"no active token {ref!r}" + resolve.choices(
                sorted({t.name for t in tokens if t.revoked_at is None}), "active"))
        if len(matches) > 1:
            raise UsageError(f"{len(matches)} active tokens are named {ref!r}: revoke one by id"
                             + resolve.choices([str(t.id) for t in matches], "ids"))
        return f.api.revoke_token(str(matches[0].id))
