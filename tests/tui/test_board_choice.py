"""Bare `taskly board` with no current board: the board picks one instead of naming a command —
the only board there is, else the one chosen in a list — and remembers it as `taskly board use`
does (the user config's current workspace and board)."""

from __future__ import annotations

import pytest
from taskly.core.context import Factory, Globals
from taskly.tui.screens.board_picker import BoardPicker
from textual.widgets import OptionList

from tests.cli.support import ok
from tests.tui.conftest import SIZE, column_keys, online, until

pytestmark = pytest.mark.timeout(120)


def current(app) -> tuple[str | None, str | None]:
    """The current workspace and board in the user config, as the next `taskly` command reads them."""
    config = Factory(globals=Globals(), environ=app.factory.environ).config
    return config.workspace, config.board


async def test_several_boards_a_list_to_choose_from_and_the_choice_is_remembered(seed, open_app):
    seeded = seed()
    seeded.owner.board(seeded.workspace["id"], key="API", name="Public API")
    old = seeded.owner.board(seeded.workspace["id"], key="OLD", name="Archived")
    seeded.owner.ok("PATCH", f"/boards/{old['id']}", json={"archived": True})  # not offered
    app = open_app(seeded, board=None)
    assert current(app) == (None, None)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, BoardPicker), what="the board picker")
        options = app.screen.query_one(OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert prompts == [f"API  Public API  —  {seeded.workspace['name']}",
                           f"WEB  Web  —  {seeded.workspace['name']}"]
        assert app.board_screen.model is None and "taskly board use" not in app.board_screen.placeholder

        await pilot.press("down", "enter")
        await until(pilot, lambda: app.board_screen.model is not None, what="the chosen board")
        assert not isinstance(app.screen, BoardPicker)
        assert app.board_screen.model.board.key == "WEB"
        assert column_keys(app, "Todo") == ["WEB-2", "WEB-3", "WEB-4"]
        assert current(app) == (seeded.workspace["name"], "WEB")
        await until(pilot, lambda: online(app))
        await pilot.press("L")  # the board works as when it was named
        await until(pilot, lambda: seeded.owner.ok("GET", "/cards/WEB-5")["column"] == "Todo", within=10)

    # the next command uses it (`taskly ls` with no --board)
    listed = ok("ls", "--json", env={"TASKLY_HOME": app.factory.environ["TASKLY_HOME"],
                                      "TASKLY_SERVER": seeded.server_url})
    assert sorted(card["key"] for card in listed.json()) == [f"WEB-{n}" for n in range(1, 8)]


async def test_escape_leaves_the_choice_open(seed, open_app):
    seeded = seed(cards=[])
    seeded.owner.board(seeded.workspace["id"], key="API", name="Public API")
    app = open_app(seeded, board=None)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, BoardPicker), what="the board picker")
        await pilot.press("escape")
        await until(pilot, lambda: app.board_screen.placeholder.startswith("No board chosen"))
        assert app.board_screen.model is None and current(app) == (None, None)
        await pilot.press("B")  # the list again
        await until(pilot, lambda: isinstance(app.screen, BoardPicker), what="the board picker again")
        await pilot.press("enter")
        await until(pilot, lambda: app.board_screen.model is not None, what="the chosen board")
        assert app.board_screen.model.board.key == "API" and current(app)[1] == "API"


async def test_the_only_board_opens_and_becomes_current(seed, open_app):
    seeded = seed()
    other = seeded.owner.workspace(f"Side {seeded.workspace['name']}")  # a second workspace, no board
    app = open_app(seeded, board=None, workspace=None)  # no current workspace: two of them
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.board_screen.model is not None, what="the only board")
        assert not isinstance(app.screen, BoardPicker)
        assert app.board_screen.model.board.key == "WEB"
        assert column_keys(app, "Todo") == ["WEB-2", "WEB-3", "WEB-4"]
    assert current(app) == (seeded.workspace["name"], "WEB")
    assert other["name"] != seeded.workspace["name"]


async def test_B_switches_boards_and_esc_keeps_the_one_open(seed, open_app):
    seeded = seed()
    seeded.owner.board(seeded.workspace["id"], key="API", name="Public API")
    app = open_app(seeded)  # WEB, named
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.board_screen.model is not None, what="the board")
        await pilot.press("slash", *"auth", "enter")  # a filter: the other board starts without it
        await until(pilot, lambda: app.board_screen.model.filter.shown, what="the filter")
        await pilot.press("B")
        await until(pilot, lambda: isinstance(app.screen, BoardPicker), what="the board picker")
        options = app.screen.query_one(OptionList)
        assert options.get_option_at_index(options.highlighted).id == seeded.board["id"]  # the open one
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, BoardPicker), what="the picker closed")
        assert app.board_screen.model.board.key == "WEB" and app.board_screen.placeholder == ""

        await pilot.press("B")
        await until(pilot, lambda: isinstance(app.screen, BoardPicker), what="the board picker again")
        await pilot.press("up", "enter")
        await until(pilot, lambda: app.board_screen.model.board.key == "API", what="the API board")
        assert not app.board_screen.model.filter.shown
        assert column_keys(app, "Todo") == []
    assert current(app) == (seeded.workspace["name"], "API")
