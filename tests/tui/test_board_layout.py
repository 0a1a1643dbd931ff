"""The board from 80x24 up: columns scroll with the focus, compact cards, a footer that keeps its ends.

The board (see conftest.CARDS) starts as: Backlog [WEB-5], Todo [WEB-2, WEB-3, WEB-4],
In Progress [WEB-1], In Review [WEB-6], Done [WEB-7]; the focus starts on WEB-5. At 80 columns
three board columns fit.
"""

from __future__ import annotations

import pytest
from taskly.tui.layout import column_layout, compact_by_default, fit_keys, more_text
from taskly.tui.screens.detail import CardDetail
from taskly.tui.widgets.card_list import COMPACT_HEIGHT, CardList
from taskly.tui.widgets.columns import Columns
from textual.widgets import Static

from tests.tui.conftest import current_key, online, until

pytestmark = pytest.mark.timeout(120)

SMALL = (80, 24)


def in_view(app) -> bool:
    """Whether the active column lies wholly inside the columns' visible area."""
    screen = app.board_screen
    columns = screen.query_one(Columns)
    column = screen.columns[screen.active.column_id]
    return columns.region.contains_region(column.region)


def title_bar(app) -> str:
    return str(app.board_screen.query_one("#board-more", Static).render())


def footer(app) -> str:
    screen = app.board_screen
    return f"{screen.query_one('#key-bar').render()} {screen.query_one('#sync-indicator').render()}"


# --- the pure rules ---------------------------------------------------------------------------------


def test_columns_share_the_width_when_they_fit_and_scroll_by_whole_columns_otherwise():
    assert column_layout(5, 160).width is None
    small = column_layout(5, 80)
    assert (small.width, small.fits) == (25, 3)
    assert small.first_shown(0, 2) == 0
    assert small.first_shown(0, 3) == 1
    assert small.first_shown(2, 4) == 2
    assert small.first_shown(2, 0) == 0
    assert small.hidden(0, 80) == (0, 2)
    assert small.hidden(2 * small.step, 80) == (2, 0)
    assert more_text(2, 0) == "◀ 2 more" and more_text(1, 3) == "◀ 1 more  3 more ▶"


def test_compact_cards_on_short_or_narrow_terminals():
    assert compact_by_default(80, 24) and compact_by_default(120, 29) and compact_by_default(99, 50)
    assert not compact_by_default(120, 40) and not compact_by_default(200, 50)


def test_the_footer_drops_keys_by_priority_and_keeps_help_and_quit():
    parts = [("card.new", 5, "n New"), ("card.delete", 8, "x Delete"), ("app.quit", 6, "q Quit"),
             ("app.help", 6, "? Help")]
    assert fit_keys(parts, 100) == ["n New", "x Delete", "q Quit", "? Help"]
    assert fit_keys(parts, 21) == ["n New", "q Quit", "? Help"]
    assert fit_keys(parts, 3) == ["q Quit", "? Help"]


# --- the board at 80x24 -----------------------------------------------------------------------------


async def test_l_keeps_the_focused_column_in_view_at_80x24(seed, open_app):
    app = open_app(seed())
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        assert current_key(app) == "WEB-5" and in_view(app)
        assert title_bar(app) == "2 more ▶"
        for expected in ("WEB-2", "WEB-1", "WEB-6", "WEB-7"):
            await pilot.press("l")
            await pilot.pause()
            assert current_key(app) == expected
            assert in_view(app), f"{expected}'s column is off screen"
        assert title_bar(app) == "◀ 2 more"
        await pilot.press("l")  # at the last column: stays
        assert current_key(app) == "WEB-7" and in_view(app)
        for _ in range(4):
            await pilot.press("h")
            await pilot.pause()
            assert in_view(app)
        assert current_key(app) == "WEB-5" and title_bar(app) == "2 more ▶"


async def test_moving_a_card_right_follows_it_off_screen(seed, open_app):
    app = open_app(seed())
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: online(app), what="online")
        await pilot.press("l", "l")  # In Progress, WEB-1
        for _ in range(2):
            await pilot.press("L")
            await pilot.pause()
            assert current_key(app) == "WEB-1" and in_view(app)
        assert app.board_screen.active.column_id == str(app.board_screen.model.columns[-1].id)


async def test_enter_opens_the_focused_card_that_is_on_screen(seed, open_app):
    seeded = seed()
    app = open_app(seeded)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("l", "l", "l")
        await pilot.pause()
        screen = app.board_screen
        assert current_key(app) == "WEB-6" and in_view(app)
        card_list = screen.active
        assert card_list.region.contains_region(card_list.region.intersection(screen.region))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, CardDetail), what="the details")
        assert app.screen.card_id == str(seeded.card("Audit log in workspace settings").id)


async def test_z_toggles_compact_cards(seed, open_app):
    app = open_app(seed())
    async with app.run_test(size=SMALL) as pilot:
        lists = list(app.board_screen.query(CardList))
        assert all(card_list.compact for card_list in lists)  # 80x24: compact by default
        todo = lists[1]
        assert todo.virtual_size.height == 3 * COMPACT_HEIGHT
        await pilot.press("z")
        assert not any(card_list.compact for card_list in lists)
        assert todo.virtual_size.height == 3 * 6
        await pilot.press("z")
        assert all(card_list.compact for card_list in lists)


async def test_the_density_key_can_be_remapped(seed, open_app):
    app = open_app(seed(), keys={"board.toggle_density": "D"})
    async with app.run_test(size=(200, 50)) as pilot:
        card_list = app.board_screen.query_one(CardList)
        assert not card_list.compact  # full cards where they fit
        await pilot.press("D")
        assert card_list.compact


async def test_the_footer_keeps_help_quit_and_the_state_at_80_wide(seed, open_app):
    app = open_app(seed())
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: online(app), what="online")
        await pilot.pause()
        text = footer(app)
        assert "? Help" in text and "q Quit" in text and "● online" in text
        assert "x Delete" not in text  # dropped first
        key_bar = app.board_screen.query_one("#key-bar")
        assert len(str(key_bar.render())) <= key_bar.content_size.width


async def test_resizing_reflows_at_once(seed, open_app):
    app = open_app(seed())
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("l", "l", "l", "l")
        await pilot.pause()
        await pilot.resize_terminal(200, 50)
        await pilot.pause()
        screen = app.board_screen
        assert not screen.query_one(CardList).compact
        assert screen.query_one(Columns).scroll_x == 0 and title_bar(app) == ""
        assert "x Delete" in footer(app)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert screen.query_one(CardList).compact and in_view(app)
        assert current_key(app) == "WEB-7" and title_bar(app) == "◀ 2 more"


async def test_the_view_follows_the_focus_after_the_board_is_laid_out_anew(seed, open_app):
    seeded = seed()
    app = open_app(seeded)
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: online(app), what="online")
        await pilot.press("l", "l", "l", "l")
        columns = {c["name"]: c for c in seeded.owner.ok("GET", f"/boards/{seeded.board['id']}")["columns"]}
        seeded.owner.ok("PATCH", f"/columns/{columns['Backlog']['id']}", json={"name": "Ideas"})
        # the model changes first, then the board is laid out anew (recompose) and the view follows
        await until(pilot, lambda: app.board_screen.model.columns[0].name == "Ideas", what="the rename")
        await until(pilot, lambda: current_key(app) == "WEB-7" and in_view(app) and title_bar(app) == "◀ 2 more",
                    within=5, what="the view to follow the focus in the new layout")
