"""Sprint commands: create, ls, show, burndown, add, remove, close, edit, rm.

Sprints belong to the current board and are named by name (any case); where NAME is optional it
defaults to the board's active sprint. Everything but the burndown works offline: reads come from
the cache, writes are queued (exit 0, "queued" on stderr).
"""

from __future__ import annotations

import typer

from ..core.completion import complete_card, complete_sprint
from ..core.context import factory

app = typer.Typer()
sprint_app = typer.Typer(no_args_is_help=True, help="Sprints of the current board.")
app.add_typer(sprint_app, name="sprint")

NEW_NAME = typer.Argument(..., metavar="NAME", help="Sprint name (any case).")
NAME = typer.Argument(..., metavar="NAME", autocompletion=complete_sprint, help="Sprint name (any case).")
OPTIONAL_NAME = typer.Argument(None, metavar="[NAME]", autocompletion=complete_sprint,
                               help="Sprint name; default: the board's active sprint.")
CARDS = typer.Argument(..., metavar="CARD...", autocompletion=complete_card,
                       help="Card keys (WEB-12) or numbers in the current board (12).")
DATES = "YYYY-MM-DD, today, tomorrow, +3d or +2w"


def _json_sprint(sprint: dict) -> dict:
    """The shared model's JSON (SprintOut) of a cached sprint with its stats."""
    from taskly_shared.models import SprintOut

    return SprintOut.model_validate(sprint).model_dump(mode="json")


def _report(f, result, done: str) -> None:
    from ..core import sprints
    from ..core.render import report_write

    report_write(f.output, result, done)
    sprint = sprints.with_stats(result.entity, f.store.cards_json(board_id=result.entity["board_id"]),
                                sprints.today())
    f.output.data(_json_sprint(sprint), lambda s: f.output.line(s["name"]))


@sprint_app.command("create")
def create(
    name: str = NEW_NAME,
    start: str = typer.Option(..., "--start", metavar="DATE", help=f"First day: {DATES}."),
    end: str = typer.Option(..., "--end", metavar="DATE", help=f"Last day: {DATES}."),
    goal: str = typer.Option(None, "--goal", metavar="TEXT", help="What the sprint is for (≤ 500 characters)."),
    capacity: int = typer.Option(None, "--capacity", metavar="N", min=0, max=9999,
                                 help="Capacity in points (default 40)."),
) -> None:
    """Create a sprint on the current board."""
    from .actions import create as create_sprint

    f = factory()
    result = create_sprint(f, name, start, end, goal, capacity)
    _report(f, result, f"Created sprint {result.entity['name']} ({result.entity['start_date']} → "
                       f"{result.entity['end_date']})")


@sprint_app.command("ls")
def ls(active: bool = typer.Option(False, "--open", help="Only sprints not closed yet.")) -> None:
    """List the current board's sprints: status, dates, points committed of capacity."""
    from .actions import listing
    from .render import render_sprints

    f = factory()
    found = listing(f, include_completed=not active)
    if f.output.json:
        f.output.data([_json_sprint(s) for s in found])
    else:
        render_sprints(f.output, found)


@sprint_app.command("show")
def show(name: str = OPTIONAL_NAME) -> None:
    """Show a sprint: status, dates, points committed of capacity, the goal and its cards by column
    (JSON: the sprint with its cards and, when the server answers, its burndown days)."""
    from .actions import maybe_burndown, view
    from .render import render_sprint

    f = factory()
    found = view(f, name)
    if not f.output.json:
        render_sprint(f.output, found)
        return
    from ..cards.actions import as_cards
    from ..core.output import to_jsonable

    days = maybe_burndown(f, found.sprint)
    f.output.data({**_json_sprint(found.sprint), "cards": to_jsonable(as_cards(found.cards)),
                   "burndown": to_jsonable(days.days) if days is not None else None})


@sprint_app.command("burndown")
def burndown(name: str = OPTIONAL_NAME) -> None:
    """Draw a sprint's burndown (remaining vs ideal points, and the scope) in the terminal; needs
    the server (JSON: the sprint and its days)."""
    from .actions import burndown_of
    from .render import render_burndown

    f = factory()
    found = burndown_of(f, name)
    f.output.data(found, lambda b: render_burndown(f.output, b.sprint.model_dump(mode="json"), b.days))


@sprint_app.command("add")
def add(name: str = NAME, cards: list[str] = CARDS) -> None:
    """Put cards in a sprint (past its capacity: done, with a warning)."""
    from .actions import add_cards

    f = factory()
    done = add_cards(f, name, cards)
    _report_cards(f, done, f"to sprint {done.sprint['name']}")


@sprint_app.command("remove")
def remove(cards: list[str] = CARDS) -> None:
    """Take cards out of their sprint."""
    from .actions import remove_cards

    f = factory()
    _report_cards(f, remove_cards(f, cards), "out of their sprint")


def _report_cards(f, done, where: str) -> None:
    from ..core.render import key, report_write

    for result in done.results:
        report_write(f.output, result, f"Moved {key(result.entity)} {where}")
    if not done.results:
        f.output.note("nothing to change")
    if done.overflow:
        f.output.warn(done.overflow)

    def lines(cards) -> None:
        for card in cards:
            f.output.line(key(card))

    f.output.data([r.entity for r in done.results], lines)


@sprint_app.command("close")
def close(
    name: str = OPTIONAL_NAME,
    carry_over_to: str = typer.Option(None, "--carry-over-to", metavar="NAME", autocompletion=complete_sprint,
                                      help="Sprint that takes the unfinished cards (none: they leave the sprint)."),
) -> None:
    """Close a sprint (default: the active one); its unfinished cards move to --carry-over-to."""
    from .actions import close as close_sprint

    f = factory()
    closing = close_sprint(f, name, carry_over_to)
    moved = ", ".join(closing.unfinished)
    where = f"move to sprint {closing.carry_over_to['name']}" if closing.carry_over_to else "leave the sprint"
    _report(f, closing.result, f"Closed sprint {closing.result.entity['name']}"
            + (f"; its unfinished cards {where}: {moved}" if moved else "; every card was done"))


@sprint_app.command("edit")
def edit(
    name: str = NAME,
    new_name: str = typer.Option(None, "--name", metavar="NAME", help="New name."),
    start: str = typer.Option(None, "--start", metavar="DATE", help=f"First day: {DATES}."),
    end: str = typer.Option(None, "--end", metavar="DATE", help=f"Last day: {DATES}."),
    goal: str = typer.Option(None, "--goal", metavar="TEXT", help="The goal (none clears it)."),
    capacity: int = typer.Option(None, "--capacity", metavar="N", min=0, max=9999, help="Capacity in points."),
) -> None:
    """Change a sprint's name, dates, goal or capacity (only those given)."""
    from .actions import edit as edit_sprint

    f = factory()
    result = edit_sprint(f, name, name=new_name, start=start, end=end, goal=goal, capacity=capacity)
    _report(f, result, f"Updated sprint {result.entity['name']}")


@sprint_app.command("rm")
def rm(name: str = NAME) -> None:
    """Delete a sprint; its cards stay on the board and leave the sprint."""
    from .actions import delete

    f = factory()
    result = delete(f, name)
    _report(f, result, f"Deleted sprint {result.entity['name']}")
