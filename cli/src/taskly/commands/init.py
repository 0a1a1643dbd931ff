"""`taskly init`: write `.taskly.toml` (server, workspace, board) in the repository root."""

from __future__ import annotations

import typer

from ..context import factory

app = typer.Typer()


@app.command("init")
def init(force: bool = typer.Option(False, "--force", help="Overwrite an existing .taskly.toml.")) -> None:
    """Pin this repository to the current server, workspace and board (--workspace/--board override).

    The file is meant to be committed: everyone working in the repository uses the same board.
    """
    from ..project import init_project

    f = factory()
    written = init_project(f, force=force)
    f.output.note(f"Wrote {written['path']}")
    f.output.data(written, lambda w: f.output.line(w["path"]))
