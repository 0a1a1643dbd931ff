"""Board and column operations that need the server: create and use boards; add, rename, move and
remove the current board's columns.

Each one resolves names against the cache, makes its request (an unreachable server or
`--offline` is `Offline`, exit 6: "cannot … offline"), then pulls so the cache knows the result.
Card writes are different: they go through the sync engine and work offline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core import resolve
from ..core.errors import Conflict, UsageError

if TYPE_CHECKING:
    from taskly_shared.models import BoardOut, ColumnOut

    from ..core.context import Factory


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
        resolve.settle(f)
    resolve.make_current(f, workspace=resolve.workspace_ref(f, current), board=created.key)
    return f.store.board(str(created.id)) or created


def use_board(f: Factory, ref: str) -> BoardOut:
    resolve.fresh(f, discover=True)
    chosen = resolve.board(f, ref)
    owner = f.store.workspace(str(chosen.workspace_id))
    resolve.make_current(f, workspace=resolve.workspace_ref(f, owner) if owner else None, board=chosen.key)
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
        resolve.settle(f)
    return created


def rename_column(f: Factory, old: str, new: str) -> ColumnOut:
    board = _board_for_columns(f, "rename a column")
    column = resolve.column(board, old)
    with resolve.needs_server(f, "rename a column"):
        renamed = f.api.update_column(str(column.id), name=new)
        resolve.settle(f)
    return renamed


def move_column(f: Factory, name: str, position: int) -> ColumnOut:
    """Move a column to a 1-based place among the board's columns."""
    board = _board_for_columns(f, "move a column")
    column = resolve.column(board, name)
    if position < 1:
        raise UsageError("POSITION counts from 1 (the first column)")
    with resolve.needs_server(f, "move a column"):
        moved = f.api.update_column(str(column.id), position=min(position, len(board.columns)) - 1)
        resolve.settle(f)
    return moved


def remove_column(f: Factory, name: str, move_to: str | None) -> ColumnOut:
    """Delete a column; its cards go to `move_to` (the server refuses a non-empty column without it)."""
    board = _board_for_columns(f, "remove a column")
    column = resolve.column(board, name)
    target = resolve.column(board, move_to) if move_to else None
    if target is not None and target.id == column.id:
        raise UsageError("--move-to must be another column")
    with resolve.needs_server(f, "remove a column"):
        try:
            f.api.delete_column(str(column.id), move_to=str(target.id) if target else None)
        except Conflict as exc:
            if exc.code != "column_not_empty":
                raise
            raise Conflict(f"the column {column.name!r} still has cards: give --move-to COLUMN",
                           status=exc.status, code=exc.code, problem=exc.problem) from None
        resolve.settle(f)
    return column


# --- administration: rename, archive, delete (admins; need the server) -----------------------------


def rename_board(f: Factory, ref: str, name: str) -> BoardOut:
    resolve.online(f, "rename a board")
    resolve.fresh(f, note_stale=False)
    board = resolve.board(f, ref)
    with resolve.needs_server(f, "rename a board"):
        renamed = f.api.update_board(str(board.id), name=name)
        resolve.settle(f)
    return renamed


def set_archived(f: Factory, ref: str, archived: bool) -> tuple[BoardOut, bool]:
    """Archive (read-only, hidden from `board ls`) or unarchive a board; (board, whether it changed)."""
    action = "archive a board" if archived else "unarchive a board"
    resolve.online(f, action)
    resolve.fresh(f, note_stale=False)
    board = resolve.board(f, ref)
    if board.archived == archived:
        return board, False
    with resolve.needs_server(f, action):
        changed = f.api.update_board(str(board.id), archived=archived)
        resolve.settle(f)
    return changed, True


def remove_board(f: Factory, ref: str, yes: bool) -> BoardOut:
    """Delete a board and its cards (admins; asks first unless `yes`); a current board stops being current."""
    from ..core.confirm import confirm

    resolve.online(f, "delete a board")
    resolve.fresh(f, note_stale=False)
    board = resolve.board(f, ref)
    cards = len(f.store.cards(board_id=str(board.id)))
    confirm(f, f"Delete board {board.key} ({board.name}) and its {cards} card{'s' * (cards != 1)}?", yes)
    with resolve.needs_server(f, "delete a board"):
        f.api.delete_board(str(board.id))
        resolve.settle(f)
    if f.config.board and f.config.board.upper() in (board.key, str(board.id).upper()):
        resolve.make_current(f, board=None)
    return board


# --- columns: WIP limits, and the listing with card counts --------------------------------------------


def set_wip(f: Factory, name: str, limit: str) -> ColumnOut:
    """A column's WIP limit: a number from 1 to 999, or `none` to clear it."""
    text = limit.strip().lower()
    if text in ("none", "off", "0"):
        value = None
    elif text.isdigit() and 1 <= int(text) <= 999:
        value = int(text)
    else:
        raise UsageError(f"WIP limit {limit!r}: give a number from 1 to 999, or none")
    board = _board_for_columns(f, "set a WIP limit")
    column = resolve.column(board, name)
    with resolve.needs_server(f, "set a WIP limit"):
        changed = f.api.update_column(str(column.id), wip_limit=value)
        resolve.settle(f)
    return changed


def column_listing(f: Factory) -> list[dict]:
    """The current board's columns in order, each with its live cards counted (ColumnOut JSON plus
    `cards` and `position`)."""
    resolve.fresh(f)
    board = resolve.board(f)
    counts: dict[str, int] = {}
    for card in f.store.cards(board_id=str(board.id)):
        counts[str(card.column_id)] = counts.get(str(card.column_id), 0) + 1
    return [{**column.model_dump(mode="json"), "position": index, "cards": counts.get(str(column.id), 0)}
            for index, column in enumerate(board.columns, start=1)]
