"""`taskly label ls|create|edit|rm`: the current workspace's label catalogue, with colours.

Cards name labels (`taskly edit WEB-12 --label bug`); a name no label has yet joins the catalogue
with a palette colour. Renaming a label renames it on every card; deleting it takes it off every
card (both on the server, in one transaction).
"""

from __future__ import annotations

import typer

from ..core.completion import complete_label
from ..core.context import factory

app = typer.Typer()
"""The noun's commands: the `label` group (main's registry picks it by name)."""

label_app = typer.Typer(no_args_is_help=True, help="Labels of the current workspace: ls, create, edit, rm.")

NAME = typer.Argument(..., metavar="NAME", autocompletion=complete_label, help="The label's name.")


@label_app.command("ls")
def ls() -> None:
    """List the workspace's labels: name (in its colour), colour, cards that have it, description."""
    from .actions import listing
    from .render import render_labels

    f = factory()
    f.output.data(listing(f), lambda labels: render_labels(f.output, labels))


@label_app.command("create")
def create(
    name: str = typer.Argument(..., help="The label's name (at most 50 characters)."),
    color: str = typer.Option(None, "--color", help="#rrggbb (default: a palette colour)."),
    description: str = typer.Option(None, "--description", help="What the label means."),
) -> None:
    """Add a label to the workspace's catalogue (needs the server)."""
    from . import actions

    f = factory()
    created = actions.create(f, name, color, description)
    f.output.note(f"Created label {created.name} ({created.color})")
    f.output.data(created, lambda x: f.output.line(x.name))


@label_app.command("edit")
def edit(
    name: str = NAME,
    new_name: str = typer.Option(None, "--name", help="Rename it (on every card that has it)."),
    color: str = typer.Option(None, "--color", help="#rrggbb."),
    description: str = typer.Option(None, "--description", help="What the label means (\"\" clears it)."),
) -> None:
    """Rename, recolour or describe a label (needs the server)."""
    from . import actions

    f = factory()
    changed = actions.edit(f, name, new_name, color, description)
    renamed = f" (renamed on {changed.cards} card{'s' * (changed.cards != 1)})" if new_name else ""
    f.output.note(f"Updated label {changed.label.name}{renamed}")
    f.output.data(changed, lambda x: f.output.line(x.label.name))


@label_app.command("rm")
def rm(name: str = NAME,
       yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")) -> None:
    """Delete a label: it leaves every card that has it (needs the server; asks first unless --yes)."""
    from . import actions

    f = factory()
    removed = actions.remove(f, name, yes)
    f.output.note(f"Deleted label {removed.label.name} (removed from {removed.cards} "
                  f"card{'s' * (removed.cards != 1)})")
    f.output.data(removed, lambda x: None)


app.add_typer(label_app, name="label")
