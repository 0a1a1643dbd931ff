"""Sprints on the board, driven by Pilot against a board seeded on a real server: the header's
sprint, `S` (the sprint picker, a filter through the `/` filter), `b` (the burndown screen, offline
too), the card form's sprint field and the sprint's name on full cards.

The board (see conftest.CARDS) is WEB-1..WEB-7; "today" is conftest.TODAY (2031-03-14).
"""

from __future__ import annotations

import pytest
from taskly.tui.screens.burndown import BurndownScreen
from taskly.tui.screens.card_form import CardForm
from taskly.tui.screens.filter_form import FilterForm
from taskly.tui.screens.sprint_picker import SprintPicker
from textual.widgets import Input, OptionList, Select, Static

from tests.tui.conftest import SIZE, noted, until

pytestmark = pytest.mark.timeout(120)


def plan(seeded, name: str, start: str, end: str, cards: list[str], capacity: int = 40) -> dict:
    """A sprint on the seeded board with these cards (by title), made on the server."""
    sprint = seeded.owner.ok("POST", f"/boards/{seeded.board['id']}/sprints",
                             json={"name": name, "start_date": start, "end_date": end,
                                   "capacity_points": capacity})
    for title in cards:
        seeded.owner.ok("PATCH", f"/cards/{seeded.card(title).id}", json={"sprint_id": sprint["id"]})
    return sprint


def visible_keys(app) -> set[str]:
    model = app.board_screen.model
    return {card.key for column in model.columns for card in model.visible(str(column.id))}


def header(app) -> str:
    bar = app.board_screen.query_one("#board-sprint", Static)
    return str(bar.render()) if bar.display else ""


LOGIN, SEARCH, ONBOARDING, POSTGRES, DARK, AUDIT, STAGING = (
    "Fix login redirect loop on expired sessions", "Rate-limit the public search endpoint",
    "Onboarding checklist for new workspaces", "Upgrade the Postgres driver", "Dark mode for the dashboard",
    "Audit log in workspace settings", "Set up a staging environment")


@pytest.fixture
def sprinted(seed):
    """The board with Sprint 12 (active on TODAY: WEB-1 3 pt, WEB-2 5, WEB-6 8, WEB-7 5 done) and
    Sprint 13 (planned: WEB-3 5, WEB-4 2); and a closed Sprint 11 (WEB-5)."""
    seeded = seed()
    old = plan(seeded, "Sprint 11", "2031-02-24", "2031-03-07", [DARK])
    seeded.owner.ok("POST", f"/sprints/{old['id']}/close", json={"carry_over_to": None})
    twelve = plan(seeded, "Sprint 12", "2031-03-10", "2031-03-17", [LOGIN, SEARCH, AUDIT, STAGING])
    thirteen = plan(seeded, "Sprint 13", "2031-03-18", "2031-03-31", [ONBOARDING, POSTGRES])
    return seeded, twelve, thirteen


async def test_the_header_shows_the_active_sprint(sprinted, open_app):
    seeded, _, _ = sprinted
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert header(app) == "Sprint 12 · 5/21 pts of 40 · 3 days left"
        await pilot.press("l", "l", "L")  # WEB-1 to In Review: nothing done yet; then to Done
        await pilot.press("L")
        await until(pilot, lambda: header(app) == "Sprint 12 · 8/21 pts of 40 · 3 days left", what="3 more done")


@pytest.mark.parametrize(("today", "expected"), [
    ("2031-03-17", "Sprint 12 · 5/21 pts of 40 · last day"),
    ("2031-03-19", "Sprint 13 · 0/7 pts of 40 · 12 days left"),
])
async def test_the_header_follows_today(sprinted, open_app, today, expected):
    from datetime import date

    seeded, _, _ = sprinted
    app = open_app(seeded, today=date.fromisoformat(today))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert header(app) == expected


async def test_an_overdue_sprint_says_so(seed, open_app):
    seeded = seed()
    plan(seeded, "Sprint 9", "2031-03-01", "2031-03-12", [LOGIN])
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert header(app) == "Sprint 9 · 0/3 pts of 40 · 2 days overdue"
        assert app.board_screen.query_one("#board-sprint").has_class("-overdue")


async def test_no_sprint_no_header(seed, open_app):
    app = open_app(seed())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert header(app) == ""
        await pilot.press("b")
        assert noted(app, "no active sprint", "warning")
        assert not isinstance(app.screen, BurndownScreen)


async def test_S_picks_a_sprint_and_the_board_shows_only_its_cards(sprinted, open_app):
    seeded, _, _ = sprinted
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert len(visible_keys(app)) == 7
        await pilot.press("S")
        picker = app.screen
        assert isinstance(picker, SprintPicker)
        options = picker.query_one(OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert prompts[0] == "No sprint filter"
        assert [p.split(" · ")[0] for p in prompts[1:]] == ["Sprint 12", "Sprint 13"]  # closed 11 left out
        await pilot.press("down", "down", "enter")  # Sprint 13
        assert visible_keys(app) == {"WEB-3", "WEB-4"}
        assert header(app) == "Sprint 13 · 0/7 pts of 40 · starts in 4 days"
        bar = str(app.board_screen.query_one("#filter-bar", Static).render())
        assert "sprint Sprint 13" in bar

        # one filter: `/` narrows within the sprint and keeps it
        await pilot.press("slash")
        assert isinstance(app.screen, FilterForm)
        app.screen.query_one("#filter-text", Input).value = "postgres"
        await pilot.press("enter")
        assert visible_keys(app) == {"WEB-4"}
        assert app.board_screen.model.filter.sprint_id is not None

        await pilot.press("escape")  # clears the whole filter, the sprint too
        assert len(visible_keys(app)) == 7
        assert header(app).startswith("Sprint 12 ")

        await pilot.press("S", "down", "enter")  # Sprint 12
        assert visible_keys(app) == {"WEB-1", "WEB-2", "WEB-6", "WEB-7"}
        await pilot.press("S")
        assert app.screen.query_one(OptionList).highlighted == 1  # the sprint in force
        await pilot.press("home", "enter")  # No sprint filter
        assert len(visible_keys(app)) == 7
        assert not app.board_screen.model.filter.active


async def test_sprint_keys_can_be_remapped(sprinted, open_app):
    seeded, _, _ = sprinted
    app = open_app(seeded, keys={"board": {"sprint": "ctrl+t", "burndown": "ctrl+b"}})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("S")
        assert not isinstance(app.screen, SprintPicker)
        await pilot.press("ctrl+t")
        assert isinstance(app.screen, SprintPicker)
        await pilot.press("escape")
        await pilot.press("ctrl+b")
        assert isinstance(app.screen, BurndownScreen)


async def test_the_card_form_lists_the_open_sprints(sprinted, open_app):
    seeded, twelve, thirteen = sprinted
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("n")
        form = app.screen
        assert isinstance(form, CardForm)
        select = form.query_one("#sprint_id", Select)
        assert [s["name"] for s in form.sprints] == ["Sprint 12", "Sprint 13"]  # not the closed Sprint 11
        assert [str(prompt) for prompt, value in select._options if value != Select.NULL] == ["Sprint 12",
                                                                                             "Sprint 13"]
        await pilot.press("escape")

        await pilot.press("l", "e")  # WEB-2, in Sprint 12
        form = app.screen
        select = form.query_one("#sprint_id", Select)
        assert select.value == twelve["id"]
        select.value = thirteen["id"]
        await pilot.press("ctrl+s")
        await until(pilot, lambda: seeded.owner.ok("GET", "/cards/WEB-2")["sprint_id"] == thirteen["id"],
                    what="WEB-2 in Sprint 13 on the server")


async def test_a_card_names_its_sprint_in_full_density(sprinted, open_app):
    seeded, _, _ = sprinted
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        todo = app.board_screen.card_lists[1]  # WEB-2 (Sprint 12), WEB-3 and WEB-4 (Sprint 13)
        lines = [todo.render_line(y).text for y in range(todo.size.height)]
        borders = [line.strip() for line in lines if line.strip().startswith("╰")]
        assert [border.split(" ")[1:3] for border in borders] == [["Sprint", "12"], ["Sprint", "13"],
                                                                    ["Sprint", "13"]]
        await pilot.press("z")  # compact: no sprint names on the cards
        await pilot.pause()
        lines = [todo.render_line(y).text for y in range(todo.size.height)]
        assert not any("Sprint" in line for line in lines)


async def test_the_burndown_offline_says_it_needs_the_server(sprinted, open_app):
    seeded, _, _ = sprinted
    app = open_app(seeded, offline=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("b")
        screen = app.screen
        assert isinstance(screen, BurndownScreen)
        await until(pilot, lambda: screen.problem is not None, what="the offline note")
        assert screen.problem == "The burndown chart needs the server: this board is in offline mode (--offline)"
        assert not [note for note in app.notes if note[0] == "error"]
        await pilot.press("escape")
        assert not isinstance(app.screen, BurndownScreen)


async def test_the_header_follows_live_changes(seed, open_app):
    """A teammate's sprint and card changes arrive over the live connection: the header appears
    and its points follow; a sprint name is shown as written, never read as markup."""
    from tests.tui.conftest import online

    seeded = seed()
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: online(app), what="online")
        assert header(app) == ""
        maya = seeded.teammates["maya"]
        sprint = maya.ok("POST", f"/boards/{seeded.board['id']}/sprints",
                         json={"name": "[red]Q2[/red]", "start_date": "2031-03-01", "end_date": "2031-03-20"})
        await until(pilot, lambda: header(app) == "[red]Q2[/red] · 0/0 pts of 40 · 6 days left",
                    what="the new sprint in the header")
        maya.ok("PATCH", f"/cards/{seeded.card(STAGING).id}", json={"sprint_id": sprint["id"]})
        maya.ok("PATCH", f"/cards/{seeded.card(LOGIN).id}", json={"sprint_id": sprint["id"], "points": 8})
        await until(pilot, lambda: header(app) == "[red]Q2[/red] · 5/13 pts of 40 · 6 days left",
                    what="the cards' points in the header")
