"""`taskly log [CARD]` (a card's activity) and `taskly log --workspace [--user U] [--since DATE]
[--until DATE] [--entity ENTITY]` (the workspace's audit log), both newest first, from the server.

`--workspace` is also the global flag naming a workspace: here, given bare (or followed by another
option), it means the current workspace's log; given a name, that workspace's log.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperCommand

from ..core.completion import complete_card, complete_user
from ..core.context import factory

app = typer.Typer()
"""The noun's commands: `log` (main's registry picks it by name)."""

WORKSPACE_NAMED = "taskly.log.workspace"


class LogCommand(TyperCommand):
    """`log` whose `--workspace` may come without a value (then: the current workspace's log)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        args = list(args)
        for index, arg in enumerate(args):
            if arg == "--":
                break
            if arg == "--workspace" and (index + 1 == len(args) or args[index + 1].startswith("-")):
                args[index] = "--workspace-log"
            elif arg == "--workspace" or arg.startswith("--workspace="):
                ctx.meta[WORKSPACE_NAMED] = True
        return super().parse_args(ctx, args)


@app.command("log", cls=LogCommand)
def log(
    ctx: typer.Context,
    card: str = typer.Argument(None, metavar="[CARD]", autocompletion=complete_card,
                               help="Card key or number; default: the current branch's."),
    workspace_log: bool = typer.Option(False, "--workspace-log", hidden=True),
    user: str = typer.Option(None, "--user", "-u", autocompletion=complete_user, help="Only changes by this user (me: yours)."),
    since: str = typer.Option(None, "--since", metavar="DATE", help="From this day (2026-12-01, today, yesterday, 7d, 2w)."),
    until: str = typer.Option(None, "--until", metavar="DATE", help="Up to this day, included."),
    entity: str = typer.Option(None, "--entity", help="card, column, board, sprint, comment, member, workspace or label."),
    limit: int = typer.Option(100, "--limit", "-n", min=1, max=10000, help="At most this many changes."),
) -> None:
    """Show a card's activity, or with --workspace the workspace's audit log (needs the server).

    The audit log shows who changed what, each field from what to what, and when; a card and
    filters give that card's (and its comments') changes."""
    from ..core.globals import GLOBALS
    from . import actions
    from .render import render_activity, render_log

    f = factory()
    filtered = any(value is not None for value in (user, since, until, entity))
    if workspace_log or ctx.meta.get(WORKSPACE_NAMED) or filtered:
        wanted = actions.LogFilter(user=user, since=since, until=until, entity=entity, limit=limit)
        named = GLOBALS.workspace if ctx.meta.get(WORKSPACE_NAMED) else None
        changes = actions.workspace_log(f, named, card, wanted)
        f.output.data(changes, lambda c: render_log(f.output, c, actions.names(f, c)))
        return
    from ..cards.actions import activity

    f.output.data(activity(f, card, min(limit, 1000)), lambda c: render_activity(f.output, c))
