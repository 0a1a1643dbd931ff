"""`taskly board automation show|set EVENT COLUMN|off EVENT|reset EVENT`: where pull-request events
move the current board's cards (needs the server)."""

from __future__ import annotations

import typer

from ..context import factory

app = typer.Typer(no_args_is_help=True, help="Where pull-request events move this board's cards: "
                                             "show, set EVENT COLUMN, off EVENT, reset EVENT.")

EVENT = typer.Argument(..., metavar="EVENT", help="opened, ready_for_review, review_requested, approved, "
                                                  "changes_requested, converted_to_draft, merged, closed.")


def _show(rules) -> None:
    from ..render import render_automation

    f = factory()
    f.output.data(rules, lambda r: render_automation(f.output, r))


@app.command("show")
def show() -> None:
    """The current board's rules (Taskly's defaults unless changed)."""
    from ..pulls import automation

    _show(automation(factory()))


@app.command("set")
def set_rule(event: str = EVENT,
             column: str = typer.Argument(..., metavar="COLUMN", help="Column name (any case).")) -> None:
    """Move linked cards to COLUMN when EVENT happens (admins)."""
    from ..pulls import set_rule as change

    _show(change(factory(), event, column))


@app.command("off")
def off(event: str = EVENT) -> None:
    """Move no card when EVENT happens (admins)."""
    from ..pulls import set_rule as change

    _show(change(factory(), event, enabled=False))


@app.command("reset")
def reset(event: str = EVENT) -> None:
    """Back to Taskly's default rule for EVENT (admins)."""
    from ..pulls import set_rule as change

    _show(change(factory(), event, reset=True))
