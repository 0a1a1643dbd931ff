"""Text views of sprints for people (`sprint ls`, `show`, `burndown`); `--json` bypasses all of this.

Sprints and cards arrive as wire JSON (dicts): `sprint show --offline` never loads pydantic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..core import sprints
from ..core.output import printable
from ..core.render import handle, short

if TYPE_CHECKING:
    from taskly_shared.models import BurndownDay

    from ..core.output import Output
    from .actions import SprintView


def status_text(sprint: dict[str, Any]) -> str:
    return f"{sprint['status']} (overdue)" if sprint.get("overdue") else str(sprint["status"])


def points_text(sprint: dict[str, Any]) -> str:
    """`23/40`: points committed of the capacity."""
    return f"{sprint['committed_points']}/{sprint['capacity_points']}"


def render_sprints(out: Output, found: Sequence[dict[str, Any]]) -> None:
    """`taskly sprint ls`: one row per sprint, by start date."""
    rows = [[s["name"], status_text(s), s["start_date"], s["end_date"], points_text(s),
             s["completed_points"], s["card_count"], "over capacity" if s["over_capacity"] else ""]
            for s in found]
    headers = ["NAME", "STATUS", "START", "END", "POINTS", "DONE", "CARDS", ""]
    if not any(s["over_capacity"] for s in found):
        headers, rows = headers[:-1], [row[:-1] for row in rows]
    out.table(headers, rows, styles=["bold cyan", "magenta", None, None, "yellow", "green", None, "red"])


def _card_key(card: dict[str, Any], board_key: str) -> str:
    return card["key"] or f"{board_key}-?{handle(card['id'])}"


def render_sprint(out: Output, view: SprintView) -> None:
    """`taskly sprint show`: status, dates, points against capacity, the goal, then the cards by column."""
    sprint = view.sprint
    out.line(f"{printable(sprint['name'])}  {status_text(sprint)}")
    left = sprints.days_left(sprint, sprints.today())
    dates = f"{sprint['start_date']} → {sprint['end_date']}"
    if sprint["status"] == sprints.ACTIVE:
        dates += f" ({left} day{'s' if left != 1 else ''} left)"
    out.line(f"  {'dates':<11}{dates}")
    over = sprints.overflow(sprint, sprint["committed_points"])
    out.line(f"  {'points':<11}{sprint['committed_points']} committed of {sprint['capacity_points']}"
             + (f" (over by {over})" if over else ""))
    out.line(f"  {'progress':<11}{sprint['completed_points']} done, {sprint['remaining_points']} remaining, "
             f"{sprint['card_count']} card{'s' if sprint['card_count'] != 1 else ''}")
    if sprint.get("goal"):
        goal = printable(sprint["goal"].rstrip(), multiline=True).split("\n")
        out.line(f"  {'goal':<11}{goal[0]}")
        for line in goal[1:]:
            out.line(f"  {'':<11}{line}")
    for column in view.columns:
        cards = [c for c in view.cards if c["column_id"] == column["id"]]
        if not cards:
            continue
        out.line()
        out.line(f"{printable(column['name'])} ({len(cards)}, {sprints.points(cards)} points)")
        out.table(["KEY", "TITLE", "POINTS", "ASSIGNEES"],
                  [[_card_key(c, view.board_key), short(c["title"], 60), "" if c.get("points") is None else c["points"],
                    ", ".join(c.get("assignees") or [])] for c in cards],
                  styles=["bold cyan", None, "yellow", "green"])


def chart(title: str, days: Sequence[BurndownDay], *, width: int, height: int, color: bool) -> str:
    """The burndown as a terminal chart: remaining and ideal points, and the scope as a second line."""
    import plotext as plt  # ~100 ms; only the chart needs it

    labels = [day.date.strftime("%m-%d") for day in days]
    x = list(range(1, len(days) + 1))
    plt.clf()
    plt.plotsize(width, height)
    plt.theme("pro" if color else "clear")
    plt.title(title)
    plt.plot(x, [day.scope_points for day in days], label="scope", marker="braille",
             color="blue" if color else "default")
    plt.plot(x, [day.ideal_points for day in days], label="ideal", marker="dot",
             color="gray" if color else "default")
    plt.plot(x, [day.remaining_points for day in days], label="remaining", marker="hd",
             color="red" if color else "default")
    step = max(1, len(x) // 8)
    plt.xticks(x[::step], labels[::step])
    plt.ylim(0, max([1, *(max(d.scope_points, d.ideal_points, d.remaining_points) for d in days)]) * 1.1)
    plt.ylabel("points")
    text = plt.build()
    return text if color else plt.uncolorize(text)


def render_burndown(out: Output, sprint: dict[str, Any], days: Sequence[BurndownDay]) -> None:
    """`taskly sprint burndown`: the chart, then today's numbers in one line."""
    import shutil

    name = printable(sprint["name"])
    if not days:
        out.line(f"{name} starts on {sprint['start_date']}: no burndown yet")
        return
    size = shutil.get_terminal_size((100, 30))
    width, height = max(40, min(size.columns, 120)), max(12, min(size.lines - 4, 24))
    out.stdout.write(chart(f"{name} burndown", days, width=width, height=height, color=out.color).rstrip() + "\n")
    last = days[-1]
    out.line(f"{last.date}: {last.remaining_points} remaining of {last.scope_points} "
             f"(ideal {last.ideal_points:g}), {last.completed_points} done")
