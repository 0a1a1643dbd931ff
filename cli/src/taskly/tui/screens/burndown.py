"""A sprint's burndown (`b`): remaining vs ideal points and the scope, drawn with textual-plotext.

The burndown is computed by the server from the change feed: the app fetches it in a worker and
hands the days to this screen (`show_days`), or says why there is none (`show_problem`: offline,
the server's error) in one line. The screen itself does no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual_plotext import PlotextPlot

from ...core.output import printable
from ..bindings import BURNDOWN

if TYPE_CHECKING:
    from taskly_shared.models import BurndownDay

MAX_TICKS = 8
"""Dates under the x axis at most (every n-th day is labelled on long sprints)."""


class BurndownScreen(Screen[None]):
    """The burndown of one sprint; `esc` goes back to the board."""

    BINDINGS = BURNDOWN

    def __init__(self, sprint_id: str, title: str, summary: str) -> None:
        super().__init__(id="burndown-screen")
        self.sprint_id = sprint_id
        self.title_text = title
        self.summary = summary
        """The sprint's line as the board's header shows it."""
        self.days: list[BurndownDay] | None = None
        self.problem: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="burndown"):
            yield Static(printable(self.title_text), id="burndown-title", markup=False)
            yield Static(printable(self.summary), id="burndown-summary", markup=False)
            yield Static("Loading the burndown from the server…", id="burndown-status", markup=False)
            yield PlotextPlot(id="burndown-chart")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(PlotextPlot).display = False

    def show_days(self, days: Sequence[BurndownDay], start_date: str) -> None:
        """Draw the chart (remaining, ideal, scope) and today's numbers under the title."""
        self.days, self.problem = list(days), None
        status = self.query_one("#burndown-status", Static)
        chart = self.query_one(PlotextPlot)
        if not days:
            status.update(f"The sprint starts on {start_date}: no burndown yet")
            chart.display = False
            return
        last = days[-1]
        status.update(f"{last.date}: {last.remaining_points} remaining of {last.scope_points} "
                      f"(ideal {last.ideal_points:g}), {last.completed_points} done")
        plt = chart.plt
        plt.clear_data()
        plt.clear_figure()
        x = list(range(1, len(days) + 1))
        plt.plot(x, [day.scope_points for day in days], label="scope", marker="braille", color="blue")
        plt.plot(x, [day.ideal_points for day in days], label="ideal", marker="dot", color="gray")
        plt.plot(x, [day.remaining_points for day in days], label="remaining", marker="hd", color="red")
        step = max(1, -(-len(x) // MAX_TICKS))
        plt.xticks(x[::step], [day.date.strftime("%m-%d") for day in days][::step])
        top = max([1, *(max(d.scope_points, d.ideal_points, d.remaining_points) for d in days)])
        plt.ylim(0, top * 1.1)
        plt.ylabel("points")
        chart.display = True
        chart.refresh()

    def show_problem(self, text: str) -> None:
        """Why there is no chart, in one line (offline: the burndown needs the server)."""
        self.days, self.problem = None, text
        self.query_one("#burndown-status", Static).update(printable(text))
        self.query_one(PlotextPlot).display = False

    def action_close(self) -> None:
        self.dismiss(None)
