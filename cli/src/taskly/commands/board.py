"""`taskly board create|ls|use`."""

from __future__ import annotations

import typer

from ..context import factory
from ..tui.group import BOARD_ARGUMENT, BoardGroup

app = typer.Typer(cls=BoardGroup, invoke_without_command=True,
                  help="Open the board (the current one, or BOARD), or: create, ls, use.")


@app.callback()
def board(ctx: typer.Context) -> None:
    """`taskly board [BOARD]` opens the Textual board; a subcommand runs instead when given."""
    if ctx.invoked_subcommand is None:
        from ..tui import open_board  # textual costs ~184 ms to import; only the board needs it

        open_board(factory(), ctx.meta.get(BOARD_ARGUMENT))


@app.command("create")
def create(
    name: str = typer.Argument(..., help="The board's name."),
    key: str = typer.Option(..., "--key", help="Card key prefix: 2-10 letters, e.g. WEB for WEB-12."),
) -> None:
    """Create a board in the current workspace and make it the current one (needs the server)."""
    from .. import manage

    f = factory()
    created = manage.create_board(f, name, key)
    f.output.note(f"Created board {created.key} ({created.name}); it is now the current board")
    f.output.data(created, lambda b: f.output.line(b.key))


@app.command("ls")
def ls() -> None:
    """List the boards of the current workspace (* marks the current board)."""
    from .. import resolve
    from ..errors import TasklyError
    from ..render import render_boards

    f = factory()
    store = resolve.fresh(f)
    try:
        boards = store.boards(str(resolve.workspace(f).id))
    except TasklyError:  # no current workspace: every cached board
        boards = store.boards()
    try:
        current = str(resolve.board(f).id)
    except TasklyError:
        current = None
    f.output.data(boards, lambda b: render_boards(f.output, b, current))


@app.command("use")
def use(key: str = typer.Argument(..., help="Board key (or name).")) -> None:
    """Make a board (and its workspace) the current one."""
    from .. import manage

    f = factory()
    chosen = manage.use_board(f, key)
    f.output.note(f"Current board: {chosen.key} ({chosen.name})")
    f.output.data(chosen, lambda b: None)


@app.command("set-repo")
def set_repo(name: str = typer.Argument(..., metavar="OWNER/NAME|none",
                                        help="A connected repository, or none to clear.")) -> None:
    """Set the current board's repository: where `taskly start` creates its cards' branches."""
    from .. import repos

    f = factory()
    board, repository = repos.set_default(f, name)
    shown = repository.full_name if repository else "no repository"
    f.output.note(f"Board {board.key} now uses {shown}")
    f.output.data(board, lambda b: None)


from . import automation  # noqa: E402  (`taskly board automation …`; light: typer only)

app.add_typer(automation.app, name="automation")
