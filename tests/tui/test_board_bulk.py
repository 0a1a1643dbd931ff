"""Selecting cards on the board (`space`, `esc`) and acting on all of them in one bulk write
(`H`/`L`, `d`, `x`, `t` labels, `a` assignees), and the `/` filter's grammar and sort.

The board (see conftest.CARDS) starts as: Backlog [WEB-5], Todo [WEB-2, WEB-3, WEB-4],
In Progress [WEB-1], In Review [WEB-6], Done [WEB-7]; the focus starts on WEB-5.
"""

from __future__ import annotations

import pytest
from taskly.tui.screens.bulk_form import NamesForm
from taskly.tui.screens.confirm import Confirm
from taskly.tui.screens.filter_form import FilterForm
from taskly.tui.widgets.card_list import SELECTED_MARK
from textual.widgets import Checkbox, Input, Select, Static

from tests.tui.conftest import SIZE, column_keys, current_key, online, settled, until

pytestmark = pytest.mark.timeout(120)


def server_card(seeded, key: str) -> dict:
    return seeded.owner.ok("GET", f"/cards/{key}")


def selected_keys(app) -> list[str]:
    return [card.key for card in app.board_screen.model.selection()]


def card_text(app, column: str, index: int) -> str:
    """The text of one card as the column draws it."""
    screen = app.board_screen
    column_id = next(str(c.id) for c in screen.model.columns if c.name == column)
    card_list = screen.columns[column_id].card_list
    strips = card_list._card_strips(index, card_list.scrollable_content_region.width)
    return "\n".join(strip.text for strip in strips)


async def typed(pilot, text: str) -> None:
    await pilot.press(*["space" if char == " " else char for char in text])


async def test_space_selects_and_the_bulk_keys_act_on_the_selection_in_one_write(seed, open_app):
    seeded = seed()
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: online(app))
        await pilot.press("l", "space", "down", "space")  # WEB-2 and WEB-3 in Todo
        assert selected_keys(app) == ["WEB-2", "WEB-3"] and current_key(app) == "WEB-3"
        assert SELECTED_MARK in card_text(app, "Todo", 0) and SELECTED_MARK not in card_text(app, "Todo", 2)
        assert "2 selected" in str(app.board_screen.query_one("#filter-bar", Static).render())
        await pilot.press("down", "space", "space")  # toggled on and off again
        assert selected_keys(app) == ["WEB-2", "WEB-3"]

        # a teammate's change arrives live: the selection stays, the card is repainted marked
        # (by id: maya is in every seeded workspace of the session, so WEB-3 is ambiguous to her)
        renamed = server_card(seeded, "WEB-3")["id"]
        seeded.teammates["maya"].ok("PATCH", f"/cards/{renamed}", json={"title": "Onboarding, renamed"})
        await until(pilot, lambda: app.board_screen.model.card(
            str(seeded.card("Onboarding checklist for new workspaces").id)).title == "Onboarding, renamed",
            what="the live change")
        assert selected_keys(app) == ["WEB-2", "WEB-3"] and SELECTED_MARK in card_text(app, "Todo", 1)

        await pilot.press("L")  # both a column to the right, at once on screen
        assert column_keys(app, "In Progress") == ["WEB-1", "WEB-2", "WEB-3"]
        await until(pilot, lambda: settled(app), what="the bulk write")
        assert [server_card(seeded, k)["column"] for k in ("WEB-2", "WEB-3")] == ["In Progress"] * 2
        changes = [seeded.owner.ok("GET", f"/cards/{k}/activity")[0] for k in ("WEB-2", "WEB-3")]
        assert changes[0]["mutation_id"] == changes[1]["mutation_id"]  # one request for both
        assert [c["op"] for c in changes] == ["move", "move"]

        await pilot.press("t")
        assert isinstance(app.screen, NamesForm)
        await typed(pilot, "+triage -feature")
        await pilot.press("enter")
        await pilot.press("a")
        await typed(pilot, "+lee")
        await pilot.press("enter")
        await pilot.press("d")
        assert column_keys(app, "Done")[-2:] == ["WEB-2", "WEB-3"]
        await until(pilot, lambda: settled(app), what="the bulk writes")
        web2, web3 = server_card(seeded, "WEB-2"), server_card(seeded, "WEB-3")
        assert (web2["labels"], web3["labels"]) == (["backend", "security", "triage"], ["triage"])
        assert (web2["assignees"], web3["assignees"]) == (["lee"], ["maya", "lee"])
        assert (web2["column"], web3["column"]) == ("Done", "Done")

        await pilot.press("escape")  # esc clears the selection first
        assert selected_keys(app) == []
        await pilot.press("space")
        await pilot.press("escape")
        assert selected_keys(app) == []

        # x deletes the selection after one confirmation
        app.board_screen.model.toggle(str(seeded.card("Rate-limit the public search endpoint").id))
        app.board_screen.model.toggle(str(seeded.card("Upgrade the Postgres driver").id))
        app.board_screen._refresh()
        await pilot.press("x")
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")
        assert "WEB-4" in column_keys(app, "Todo")
        await pilot.press("x", "y")
        assert "WEB-4" not in column_keys(app, "Todo") and "WEB-2" not in column_keys(app, "Done")
        assert selected_keys(app) == []
        await until(pilot, lambda: settled(app), what="the bulk delete")
        assert server_card(seeded, "WEB-2")["deleted_at"] and server_card(seeded, "WEB-4")["deleted_at"]
        assert server_card(seeded, "WEB-3")["deleted_at"] is None


async def test_slash_takes_the_filter_grammar_and_sorts_the_columns(seed, open_app):
    seeded = seed()
    app = open_app(seeded)

    async def apply(text: str = "", sort: str | None = None, desc: bool = False) -> None:
        await pilot.press("slash")
        form = app.screen
        assert isinstance(form, FilterForm)
        form.query_one("#filter-text", Input).value = text
        form.query_one("#filter-sort", Select).value = sort if sort else Select.NULL
        form.query_one("#filter-desc", Checkbox).value = desc
        await pilot.press("enter")

    def header(name: str) -> str:
        screen = app.board_screen
        column_id = next(str(c.id) for c in screen.model.columns if c.name == name)
        return str(screen.columns[column_id].header.render())

    async with app.run_test(size=SIZE) as pilot:
        assert column_keys(app, "Todo") == ["WEB-2", "WEB-3", "WEB-4"]  # by rank
        assert "sorted" not in header("Todo")
        await apply(sort="priority", desc=True)
        assert column_keys(app, "Todo") == ["WEB-4", "WEB-3", "WEB-2"]  # low, medium, high
        assert "sorted by priority ↓" in header("Todo")
        assert "not by rank" in str(app.board_screen.query_one("#filter-bar", Static).render())
        await pilot.press("l", "J")  # reordering by rank makes no sense in a sorted column
        assert any("J/K reorder by rank" in text for _, text in app.notes)

        await apply("overdue")  # WEB-1 is due 2031-03-10; today is 2031-03-14; WEB-7 is done
        assert [k for c in app.board_screen.model.columns for k in column_keys(app, c.name)] == ["WEB-1"]
        await apply("due-before:2031-03-15 no-done sort:-due")
        assert column_keys(app, "In Review") == ["WEB-6"] and column_keys(app, "In Progress") == ["WEB-1"]
        assert column_keys(app, "Done") == []
        await apply("unassigned label:feature")
        assert [k for c in app.board_screen.model.columns for k in column_keys(app, c.name)] == ["WEB-5"]
        await apply("lable:typo")  # a bad term: the form says so and stays open
        assert isinstance(app.screen, FilterForm)
        assert "unknown term" in str(app.screen.query_one("#form-error", Static).render())
        await pilot.press("escape", "escape")
        assert len([k for c in app.board_screen.model.columns for k in column_keys(app, c.name)]) == 7
        assert "sorted" not in header("Todo")
