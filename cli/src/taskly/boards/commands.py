"""`taskly board [BOARD]|create|ls|use|rename|archive|unarchive|rm|set-repo|automation` and
`taskly column ls|add|rename|mv|wip|rm`.

Column positions count from 1 (the leftmost column), for people; the API's are 0-based.
"""

from __future__ import annotations

import typer

from ..core.completion import complete_board, complete_column
from ..core.context import factory
from ..pulls.commands import automation  # `taskly board automation …`; light: typer only
from ..tui.group import BOARD_ARGUMENT, BoardGroup

app = typer.Typer()
"""The noun's commands: the `board` and `column` groups (main's registry picks them by name)."""

board_app = typer.Typer(cls=BoardGroup, invoke_without_command=True,
                        help="Open the board (the current one, or BOARD), or: create, ls, use, rename, archive, "
                             "unarchive, rm.")
column_app = typer.Typer(no_args_is_help=True, help="Columns of the current board: ls, add, rename, mv, wip, rm.")
YES = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")

KINDS = ["backlog", "todo", "in_progress", "review", "done"]


# --- taskly board ---------------------------------------------------------------------------------


@board_app.callback()
def board(ctx: typer.Context) -> None:
    """`taskly board [BOARD]` opens the Textual board; a subcommand runs instead when given."""
    if ctx.invoked_subcommand is None:
        from ..tui.run import open_board  # textual costs ~184 ms to import; only the board needs it

        open_board(factory(), ctx.meta.get(BOARD_ARGUMENT))


@board_app.command("create")
def create(
    name: str = typer.Argument(..., help="The board's name."),
    key: str = typer.Option(..., "--key", help="Card key prefix: 2-10 letters, e.g. WEB for WEB-12."),
) -> None:
    """Create a board in the current workspace and make it the current one (needs the server)."""
    from . import actions

    f = factory()
    created = actions.create_board(f, name, key)
    f.output.note(f"Created board {created.key} ({created.name}); it is now the current board")
    f.output.data(created, lambda b: f.output.line(b.key))


@board_app.command("ls")
def ls(all_boards: bool = typer.Option(False, "--all", help="Archived boards too.")) -> None:
    """List the boards of the current workspace (* marks the current board); archived ones with --all."""
    from ..core import resolve
    from ..core.errors import TasklyError
    from .render import render_boards

    f = factory()
    store = resolve.fresh(f)
    try:
        boards = store.boards(str(resolve.workspace(f).id))
    except TasklyError:  # no current workspace: every cached board
        boards = store.boards()
    if not all_boards:
        boards = [b for b in boards if not b.archived]
    try:
        current = str(resolve.board(f).id)
    except TasklyError:
        current = None
    f.output.data(boards, lambda b: render_boards(f.output, b, current))


@board_app.command("rename")
def rename(key: str = typer.Argument(..., metavar="BOARD", autocompletion=complete_board, help="Board key (or name)."),
           name: str = typer.Argument(..., help="The new name.")) -> None:
    """Rename a board (admins; needs the server). Its key stays."""
    from . import actions

    f = factory()
    renamed = actions.rename_board(f, key, name)
    f.output.note(f"Renamed board {renamed.key} to {renamed.name}")
    f.output.data(renamed, lambda b: f.output.line(b.name))


@board_app.command("archive")
def archive(key: str = typer.Argument(..., metavar="BOARD", autocompletion=complete_board, help="Board key (or name).")) -> None:
    """Archive a board (admins): read-only, and hidden from `board ls` unless --all."""
    from . import actions

    f = factory()
    board, changed = actions.set_archived(f, key, True)
    f.output.note(f"Archived board {board.key}: it is read-only until `taskly board unarchive {board.key}`"
                  if changed else f"Board {board.key} is already archived")
    f.output.data(board, lambda b: None)


@board_app.command("unarchive")
def unarchive(key: str = typer.Argument(..., metavar="BOARD", autocompletion=complete_board, help="Board key (or name).")) -> None:
    """Unarchive a board (admins): it takes writes again and shows in `board ls`."""
    from . import actions

    f = factory()
    board, changed = actions.set_archived(f, key, False)
    f.output.note(f"Unarchived board {board.key}" if changed else f"Board {board.key} is not archived")
    f.output.data(board, lambda b: None)


@board_app.command("rm")
def rm(key: str = typer.Argument(..., metavar="BOARD", autocompletion=complete_board, help="Board key (or name)."),
       yes: bool = YES) -> None:
    """Delete a board and its cards (admins; asks first unless --yes)."""
    from . import actions

    f = factory()
    removed = actions.remove_board(f, key, yes)
    f.output.note(f"Deleted board {removed.key} ({removed.name})")
    f.output.data(removed, lambda b: None)


@board_app.command("use")
def use(key: str = typer.Argument(..., metavar="BOARD", autocompletion=complete_board, help="Board key (or name).")) -> None:
    """Make a board (and its workspace) the current one."""
    from . import actions

    f = factory()
    chosen = actions.use_board(f, key)
    f.output.note(f"Current board: {chosen.key} ({chosen.name})")
    f.output.data(chosen, lambda b: None)


@board_app.command("set-repo")
def set_repo(name: str = typer.Argument(..., metavar="OWNER/NAME|none",
                                        help="A connected repository, or none to clear.")) -> None:
    """Set the current board's repository: where `taskly start` creates its cards' branches."""
    from ..repos.actions import set_default

    f = factory()
    board, repository = set_default(f, name)
    shown = repository.full_name if repository else "no repository"
    f.output.note(f"Board {board.key} now uses {shown}")
    f.output.data(board, lambda b: None)


board_app.add_typer(automation, name="automation")


# --- taskly column --------------------------------------------------------------------------------


@column_app.command("ls")
def column_ls() -> None:
    """List the current board's columns in order: name, kind, WIP limit and live cards."""
    from .actions import column_listing
    from .render import render_columns

    f = factory()
    f.output.data(column_listing(f), lambda c: render_columns(f.output, c))


@column_app.command("wip")
def column_wip(name: str = typer.Argument(..., metavar="COLUMN", autocompletion=complete_column, help="Column name (any case)."),
               limit: str = typer.Argument(..., metavar="N|none", help="The WIP limit (1-999), or none to clear it.")) -> None:
    """Set or clear a column's WIP limit (admins; needs the server)."""
    from . import actions

    f = factory()
    changed = actions.set_wip(f, name, limit)
    f.output.note(f"Column {changed.name}: WIP limit {changed.wip_limit}" if changed.wip_limit
                  else f"Column {changed.name}: no WIP limit")
    f.output.data(changed, lambda c: f.output.line(c.name))


@column_app.command("add")
def column_add(
    name: str = typer.Argument(..., help="The column's name."),
    kind: str = typer.Option(None, "--kind", help="backlog, todo, in_progress, review or done (default todo)."),
    wip: int = typer.Option(None, "--wip", min=1, max=999, help="WIP limit."),
    position: int = typer.Option(None, "--position", min=1, help="1-based place (default: last)."),
) -> None:
    """Add a column to the current board."""
    from ..core import resolve
    from ..core.errors import UsageError
    from . import actions

    if kind is not None and kind.lower() not in KINDS:
        raise UsageError(f"unknown kind {kind!r}" + resolve.choices(KINDS))
    f = factory()
    created = actions.add_column(f, name, kind and kind.lower(), wip, position)
    f.output.note(f"Added column {created.name}")
    f.output.data(created, lambda c: f.output.line(c.name))


@column_app.command("rename")
def column_rename(old: str = typer.Argument(..., metavar="COLUMN", autocompletion=complete_column, help="Current name (any case)."),
                  new: str = typer.Argument(..., help="New name.")) -> None:
    """Rename a column."""
    from . import actions

    f = factory()
    renamed = actions.rename_column(f, old, new)
    f.output.note(f"Renamed column {old} to {renamed.name}")
    f.output.data(renamed, lambda c: f.output.line(c.name))


@column_app.command("mv")
def column_mv(name: str = typer.Argument(..., metavar="COLUMN", autocompletion=complete_column, help="Column name (any case)."),
              position: int = typer.Argument(..., min=1, max=999, help="1-based place: 1 is the leftmost column.")) -> None:
    """Move a column to another place on the board."""
    from . import actions

    f = factory()
    moved = actions.move_column(f, name, position)
    f.output.note(f"Moved column {moved.name} to position {position}")
    f.output.data(moved, lambda c: f.output.line(c.name))


@column_app.command("rm")
def column_rm(name: str = typer.Argument(..., metavar="COLUMN", autocompletion=complete_column, help="Column name (any case)."),
              move_to: str = typer.Option(None, "--move-to", metavar="COLUMN", autocompletion=complete_column,
                                          help="Move its cards here (needed when it has cards).")) -> None:
    """Delete a column (its cards go to --move-to)."""
    from . import actions

    f = factory()
    removed = actions.remove_column(f, name, move_to)
    f.output.note(f"Removed column {removed.name}" + (f"; its cards moved to {move_to}" if move_to else ""))
    f.output.data(removed, lambda c: None)


app.add_typer(board_app, name="board")
app.add_typer(column_app, name="column")
