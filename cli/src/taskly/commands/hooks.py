"""`taskly hooks install`: the git hooks that tie commits and checkouts to cards."""

from __future__ import annotations

import typer

from ..context import factory

app = typer.Typer(no_args_is_help=True, help="Git hooks: install.")


@app.command("install")
def install(force: bool = typer.Option(False, "--force", help="Rewrite Taskly's hooks even when present.")) -> None:
    """Install prepare-commit-msg (adds the card key), commit-msg (requires one when .taskly.toml sets
    require_key = true) and post-checkout (a card branch moves its card to in progress). Existing
    hooks keep running first, renamed to <hook>.local."""
    from .. import hooks

    f = factory()
    installed = hooks.install(force=force)
    for item in installed:
        if item.chained and item.status != "unchanged":
            f.output.note(f"{item.hook}: the existing hook runs first, from {item.chained}")
    rows = [[item.hook, item.status, item.path] for item in installed]
    f.output.data([vars(item) for item in installed],
                  lambda _: f.output.table(["HOOK", "STATUS", "PATH"], rows, styles=["bold", None, "dim"]))


@app.command("run", hidden=True)
def run(hook: str = typer.Argument(...), args: list[str] = typer.Argument(None)) -> None:
    """What the installed hooks call (`main` answers it without typer, see taskly.hooks)."""
    from .. import hooks

    raise typer.Exit(hooks.run([hook, *(args or [])]))
