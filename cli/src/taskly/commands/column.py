"""`taskly column ls|add|rename|mv|rm` on the current board.

Positions count from 1 (the leftmost column), for people; the API's are 0-based.
"""

from __future__ import annotations

import typer

from ..completion import complete_column
from ..context import factory

app = typer.Typer(no_args_is_help=True, help="Columns of the current board: ls, add, rename, mv, rm.")

KINDS = ["backlog", "todo", "in_progress", "review", "done"]


@app.command("ls")
def ls() -> None:
    """List the current board's columns in order."""
    from .. import resolve
    from ..render import render_columns

    f = factory()
    resolve.fresh(f)
    f.output.data(resolve.board(f).columns, lambda c: render_columns(f.output, c))


@app.command("add")
def add(
    name: str = typer.Argument(..., help="The column's name."),
    kind: str = typer.Option(None, "--kind", help="backlog, todo, in_progress, review or done (default todo)."),
    wip: int = typer.Option(None, "--wip", min=1, max=999, help="WIP limit."),
    position: int = typer.Option(None, "--position", min=1, help="1-based place (default: last)."),
) -> None:
    """Add a column to the current board."""
    from .. import manage, resolve
    from ..errors import UsageError

    if kind is not None and kind.lower() not in KINDS:
        raise UsageError(f"unknown kind {kind!r}" + resolve.choices(KINDS))
    f = factory()
    created = manage.add_column(f, name, kind and kind.lower(), wip, position)
    f.output.note(f"Added column {created.name}")
    f.output.data(created, lambda c: f.output.line(c.name))


@app.command("rename")
def rename(old: str = typer.Argument(..., autocompletion=complete_column, help="Current name (any case)."),
           new: str = typer.Argument(..., help="New name.")) -> None:
    """Rename a column."""
    from .. import manage

    f = factory()
    renamed = manage.rename_column(f, old, new)
    f.output.note(f"Renamed column {old} to {renamed.name}")
    f.output.data(renamed, lambda c: f.output.line(c.name))


@app.command("mv")
def mv(name: str = typer.Argument(..., autocompletion=complete_column, help="Column name (any case)."),
       position: int = typer.Argument(..., help="1-based place: 1 is the leftmost column.")) -> None:
    """Move a column to another place on the board."""
    from .. import manage

    f = factory()
    moved = manage.move_column(f, name, position)
    f.output.note(f"Moved column {moved.name} to position {position}")
    f.output.data(moved, lambda c: f.output.line(c.name))


@app.command("rm")
def rm(name: str = typer.Argument(..., autocompletion=complete_column, help="Column name (any case)."),
       move_to: str = typer.Option(None, "--move-to", metavar="COLUMN", autocompletion=complete_column,
                                   help="Move its cards here (needed when it has cards).")) -> None:
    """Delete a column (its cards go to --move-to)."""
    from .. import manage

    f = factory()
    removed = manage.remove_column(f, name, move_to)
    f.output.note(f"Removed column {removed.name}" + (f"; its cards moved to {move_to}" if move_to else ""))
    f.output.data(removed, lambda c: None)
