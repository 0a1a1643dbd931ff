"""`taskly start CARD` and `taskly done [CARD]`: a card's branch, and finishing the card;
`taskly hooks install`: the git hooks that tie commits and checkouts to cards."""

from __future__ import annotations

from pathlib import Path

import typer

from ..core.completion import complete_card
from ..core.context import factory

app = typer.Typer()
"""The noun's commands: `start`, `done` and the `hooks` group (main's registry picks them by name)."""

hooks_app = typer.Typer(no_args_is_help=True, help="Git hooks: install.")


@app.command("start")
def start(
    card: str = typer.Argument(..., metavar="CARD", autocompletion=complete_card,
                               help="Card key (WEB-12) or number in the current board (12)."),
    base: str = typer.Option(None, "--base", metavar="BRANCH", help="Branch to start from (default: the "
                                                                    "repository's default branch)."),
    worktree: Path = typer.Option(None, "--worktree", metavar="PATH", help="Check out in a new worktree here."),
    no_checkout: bool = typer.Option(False, "--no-checkout", help="Only create the branch; stay where you are."),
    wait_timeout: float = typer.Option(90.0, "--wait-timeout", metavar="SECONDS", min=0,
                                       help="Seconds to wait for GitHub (exit 8 when it is still working)."),
) -> None:
    """Create the card's branch on GitHub and switch to it (tracking origin); the card moves to in
    progress and is assigned to you. Offline, or without a connected repository, the branch is
    created locally and the card update is queued."""
    from .actions import Progress, StartOptions, start_card

    f = factory()

    def progress(step: Progress) -> None:
        f.output.note(step.message)

    options = StartOptions(base=base, worktree=worktree, checkout=not no_checkout, wait_timeout=wait_timeout)
    result = start_card(f, card, options, progress)
    if result.mode == "local" and result.queued:
        f.output.note(f"queued: the card update ({result.card.key}: branch, assignee, in progress) waits "
                      "for the server; the next command or `taskly sync` pushes it")
    elif result.mode == "local":
        f.output.note(f"{result.card.key} records {result.branch} and is in {result.card.column}")
    f.output.data(result.as_dict(), lambda r: f.output.line(str(result.worktree or result.branch)))


@app.command("done")
def done(card: str = typer.Argument(None, metavar="[CARD]", autocompletion=complete_card,
                                    help="Card key or number; default: the current branch's.")) -> None:
    """Move a card (default: the current branch's) to the board's done column."""
    from ..core.render import key, report_write
    from .actions import done_card

    f = factory()
    found, column, write = done_card(f, card)
    if write is None:
        f.output.note(f"{key(found)} is in {column.name} already")
    else:
        report_write(f.output, write, f"Moved {key(found)} to {column.name}")
    f.output.data(found, lambda c: f.output.line(key(c)))


# --- taskly hooks ---------------------------------------------------------------------------------


@hooks_app.command("install")
def install(force: bool = typer.Option(False, "--force", help="Rewrite Taskly's hooks even when present.")) -> None:
    """Install prepare-commit-msg (adds the card key), commit-msg (requires one when .taskly.toml sets
    require_key = true) and post-checkout (a card branch moves its card to in progress). Existing
    hooks keep running first, renamed to <hook>.local."""
    from . import hooks

    f = factory()
    installed = hooks.install(force=force)
    for item in installed:
        if item.chained and item.status != "unchanged":
            f.output.note(f"{item.hook}: the existing hook runs first, from {item.chained}")
    rows = [[item.hook, item.status, item.path] for item in installed]
    f.output.data([vars(item) for item in installed],
                  lambda _: f.output.table(["HOOK", "STATUS", "PATH"], rows, styles=["bold", None, "dim"]))


@hooks_app.command("run", hidden=True)
def run(hook: str = typer.Argument(...), args: list[str] = typer.Argument(None)) -> None:
    """What the installed hooks call (`main` answers it without typer, see taskly.branches.hooks)."""
    from . import hooks

    raise typer.Exit(hooks.run([hook, *(args or [])]))


app.add_typer(hooks_app, name="hooks")
