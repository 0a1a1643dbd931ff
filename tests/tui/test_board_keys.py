"""Every binding of the board, driven by Pilot against a board seeded on a real server.

The board (see conftest.CARDS) starts as: Backlog [WEB-5], Todo [WEB-2, WEB-3, WEB-4],
In Progress [WEB-1], In Review [WEB-6], Done [WEB-7]; the focus starts on WEB-5.
"""

from __future__ import annotations

import io
import subprocess
from datetime import timedelta

import pytest
from rich.console import Console
from taskly.tui.bindings import binding_ids
from taskly.tui.screens.card_form import CardForm
from taskly.tui.screens.comment_form import CommentForm
from taskly.tui.screens.confirm import Confirm
from taskly.tui.screens.detail import CardDetail
from taskly.tui.screens.filter_form import FilterForm
from taskly.tui.screens.help import HelpScreen
from textual.widgets import Checkbox, Input, Select, SelectionList, Static, TextArea

from tests.cli.support import ok
from tests.tui.conftest import (
    SIZE,
    TODAY,
    column_keys,
    current_key,
    make_factory,
    noted,
    online,
    settled,
    until,
)

pytestmark = pytest.mark.timeout(120)


def server_card(seeded, key: str) -> dict:
    return seeded.owner.ok("GET", f"/cards/{key}")


def server_column(seeded, column: str) -> list[str]:
    """Keys of a column on the server, in rank order."""
    cards = seeded.owner.ok("GET", f"/boards/{seeded.board['id']}/cards")
    return [c["key"] for c in sorted(cards, key=lambda c: (c["rank"], c["id"])) if c["column"] == column]


async def typed(pilot, text: str) -> None:
    await pilot.press(*["space" if char == " " else char for char in text])


async def test_arrows_and_hjkl_move_the_focus(seed, open_app):
    app = open_app(seed())
    async with app.run_test(size=SIZE) as pilot:
        assert current_key(app) == "WEB-5"
        await pilot.press("right")
        assert current_key(app) == "WEB-2"
        await pilot.press("down")
        assert current_key(app) == "WEB-3"
        await pilot.press("j")
        assert current_key(app) == "WEB-4"
        await pilot.press("k", "up")
        assert current_key(app) == "WEB-2"
        await pilot.press("end")
        assert current_key(app) == "WEB-4"
        await pilot.press("home")
        assert current_key(app) == "WEB-2"
        await pilot.press("G")
        assert current_key(app) == "WEB-4"
        await pilot.press("g", "pagedown")
        assert current_key(app) == "WEB-4"
        await pilot.press("pageup")
        assert current_key(app) == "WEB-2"
        await pilot.press("l")
        assert current_key(app) == "WEB-1"
        await pilot.press("l", "l")
        assert current_key(app) == "WEB-7"
        await pilot.press("l")  # the last column: stays
        assert current_key(app) == "WEB-7"
        await pilot.press("h", "left", "h", "h")
        assert current_key(app) == "WEB-5"


async def test_H_L_and_shift_arrows_move_the_card_between_columns(seed, open_app):
    seeded = seed()
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: online(app), what="online")
        await pilot.press("H")  # Backlog is the first column: nothing to do
        assert column_keys(app, "Backlog") == ["WEB-5"]

        await pilot.press("L")  # to the bottom of the column, as `taskly mv`
        assert column_keys(app, "Todo")[-1] == "WEB-5" and current_key(app) == "WEB-5"  # at once
        await until(pilot, lambda: settled(app), what="the move to be pushed")
        assert server_card(seeded, "WEB-5")["column"] == "Todo"
        assert server_column(seeded, "Todo")[-1] == "WEB-5"

        await pilot.press("shift+right")
        assert column_keys(app, "In Progress") == ["WEB-1", "WEB-5"]
        await until(pilot, lambda: settled(app))
        assert server_card(seeded, "WEB-5")["column"] == "In Progress"

        await pilot.press("H")
        assert column_keys(app, "Todo")[-1] == "WEB-5"
        await pilot.press("shift+left")
        assert column_keys(app, "Backlog") == ["WEB-5"] and current_key(app) == "WEB-5"
        await until(pilot, lambda: settled(app))
        assert server_card(seeded, "WEB-5")["column"] == "Backlog"
        assert column_keys(app, "Todo") == ["WEB-2", "WEB-3", "WEB-4"]
        assert not [note for note in app.notes if note[0] == "error"]


async def test_H_L_put_the_card_where_taskly_mv_does(seed, open_app, tmp_path):
    """`taskly mv CARD COLUMN` and `H`/`L` both put the card at the bottom of the target column."""
    seeded = seed()
    app = open_app(seeded)
    cli_home = tmp_path / "cli"  # another terminal, with the same user
    make_factory(seeded.server_url, seeded.owner, cli_home)  # signed in there
    env = {"TASKLY_HOME": str(cli_home), "TASKLY_SERVER": seeded.server_url,
           "TASKLY_WORKSPACE": seeded.workspace["name"], "TASKLY_BOARD": "WEB"}
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: online(app), what="online")
        ok("mv", "WEB-2", "In Review", env=env)
        await until(pilot, lambda: column_keys(app, "In Review") == ["WEB-6", "WEB-2"], within=10,
                    what="the CLI's move to arrive")
        await pilot.press("l", "l", "L")  # WEB-1, from In Progress
        assert column_keys(app, "In Review") == ["WEB-6", "WEB-2", "WEB-1"] and current_key(app) == "WEB-1"
        await pilot.press("l", "H")  # WEB-7, back from Done
        assert column_keys(app, "In Review") == ["WEB-6", "WEB-2", "WEB-1", "WEB-7"]
        await until(pilot, lambda: settled(app), what="the moves to be pushed")
        ok("mv", "WEB-3", "In Review", env=env)
        expected = ["WEB-6", "WEB-2", "WEB-1", "WEB-7", "WEB-3"]
        assert server_column(seeded, "In Review") == expected
        await until(pilot, lambda: column_keys(app, "In Review") == expected, within=10)


async def test_J_K_reorder_within_the_column(seed, open_app):
    seeded = seed()
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await pilot.press("J")
        assert column_keys(app, "Todo") == ["WEB-3", "WEB-2", "WEB-4"] and current_key(app) == "WEB-2"
        await pilot.press("shift+down")
        assert column_keys(app, "Todo") == ["WEB-3", "WEB-4", "WEB-2"]
        await pilot.press("J")  # already last
        await until(pilot, lambda: settled(app))
        assert server_column(seeded, "Todo") == ["WEB-3", "WEB-4", "WEB-2"]
        await pilot.press("K", "shift+up")
        assert column_keys(app, "Todo") == ["WEB-2", "WEB-3", "WEB-4"]
        await until(pilot, lambda: settled(app))
        assert server_column(seeded, "Todo") == ["WEB-2", "WEB-3", "WEB-4"]
        assert column_keys(app, "Todo") == ["WEB-2", "WEB-3", "WEB-4"]  # the cache agrees


async def test_n_creates_a_card_in_the_focused_column(seed, open_app):
    seeded = seed()
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l", "n")
        form = app.screen
        assert isinstance(form, CardForm)
        assert form.query_one("#column", Select).value == str(app.board_screen.model.columns[1].id)
        await typed(pilot, "Write the release notes")
        form.query_one("#priority", Select).value = "high"
        form.query_one("#labels", Input).value = "docs, release"
        form.query_one("#points", Input).value = "2"
        form.query_one("#due", Input).value = "+3d"
        await pilot.press("ctrl+s")
        assert not isinstance(app.screen, CardForm)
        await until(pilot, lambda: "WEB-8" in column_keys(app, "Todo"), what="the new card")
        assert current_key(app) == "WEB-8"
        await until(pilot, lambda: settled(app))
        card = server_card(seeded, "WEB-8")
        assert (card["title"], card["column"], card["priority"], card["labels"], card["points"], card["due"]) == \
            ("Write the release notes", "Todo", "high", ["docs", "release"], 2, str(TODAY + timedelta(days=3)))


async def test_e_edits_every_field_and_checks_them(seed, open_app):
    seeded = seed()
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l", "e")
        form = app.screen
        assert isinstance(form, CardForm)
        assert form.query_one("#title", Input).value == "Rate-limit the public search endpoint"
        form.query_one("#title", Input).value = ""
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, CardForm)  # refused: the title is empty
        assert "title is empty" in str(form.query_one("#form-error", Static).render())
        form.query_one("#title", Input).value = "Rate-limit search per user and per IP"
        form.query_one("#description", TextArea).text = "Answer **429** with `Retry-After`."
        form.query_one("#column", Select).value = next(
            str(c.id) for c in app.board_screen.model.columns if c.name == "In Review")
        form.query_one("#priority", Select).value = "urgent"
        form.query_one("#points", Input).value = "8"
        form.query_one("#due", Input).value = "2031-04-01"
        form.query_one("#remind_at", Input).value = "2031-03-31 09:30"
        form.query_one("#recurrence", Select).value = "weekly"
        form.query_one("#recurrence_interval", Input).value = "2"
        form.query_one("#labels", Input).value = "backend, security, api"
        assignees = form.query_one("#assignees", SelectionList)
        assignees.deselect("lee")
        assignees.select("maya")
        await pilot.press("ctrl+s")
        assert not isinstance(app.screen, CardForm)
        await until(pilot, lambda: settled(app) and "WEB-2" in column_keys(app, "In Review"))
        card = server_card(seeded, "WEB-2")
        assert card["title"] == "Rate-limit search per user and per IP"
        assert card["description"] == "Answer **429** with `Retry-After`."
        assert (card["column"], card["priority"], card["points"], card["due"]) == ("In Review", "urgent", 8,
                                                                                     "2031-04-01")
        assert (card["recurrence"], card["recurrence_interval"]) == ("weekly", 2)
        assert card["remind_at"] is not None and card["remind_at"].startswith("2031-03-31")
        assert card["labels"] == ["backend", "security", "api"] and card["assignees"] == ["maya"]

        await pilot.press("e")  # unchanged fields are not written
        versions = server_card(seeded, "WEB-2")["version"]
        await pilot.press("ctrl+s")
        await until(pilot, lambda: settled(app))
        assert server_card(seeded, "WEB-2")["version"] == versions
        await pilot.press("e", "escape")
        assert not isinstance(app.screen, CardForm)


async def test_enter_shows_details_with_comments_and_activity(seed, open_app):
    seeded = seed()
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l", "l", "enter")
        detail = app.screen
        assert isinstance(detail, CardDetail)
        assert "Fix login redirect loop" in str(detail.query_one("#detail-title", Static).render())
        await until(pilot, lambda: "Comments (2)" in str(detail.query_one("#detail-comments-title").render()),
                    what="the comments from the server")
        await until(pilot, lambda: detail.activity is not None, what="the activity")
        activity = str(detail.query_one("#detail-activity", Static).render())
        assert "maya commented" in activity and "lee commented" in activity
        assert f"{seeded.owner.username} created it in In Progress" in activity
        assert "Pull requests (0)" in str(detail.query_one("#detail-pulls-title", Static).render())
        await pilot.press("o")  # `taskly open`'s rule: no PR, no branch, no repository here
        await until(pilot, lambda: noted(app, "has no pull request, no branch and no repository", "error"),
                    what="the open key's answer")
        await pilot.press("escape")
        assert not isinstance(app.screen, CardDetail) and current_key(app) == "WEB-1"


async def test_c_comments_from_the_board_and_from_the_details(seed, open_app):
    seeded = seed()
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l", "l", "c")
        assert isinstance(app.screen, CommentForm)
        await pilot.press("ctrl+s")  # empty: refused
        assert isinstance(app.screen, CommentForm)
        await typed(pilot, "Deployed the fix to staging")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: settled(app))
        bodies = [c["body"] for c in seeded.owner.ok("GET", "/cards/WEB-1/comments")]
        assert bodies[-1] == "Deployed the fix to staging"

        await pilot.press("enter")
        detail = app.screen
        await until(pilot, lambda: "Comments (3)" in str(detail.query_one("#detail-comments-title").render()))
        await pilot.press("c")
        await typed(pilot, "Verified")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Comments (4)" in str(detail.query_one("#detail-comments-title").render()),
                    what="the detail view to show the new comment")
        assert [c["body"] for c in seeded.owner.ok("GET", "/cards/WEB-1/comments")][-1] == "Verified"


async def test_slash_searches_and_filters_and_escape_clears(seed, open_app):
    seeded = seed()
    app = open_app(seeded, user=seeded.teammates["maya"])

    def shown() -> list[str]:
        return sorted(key for c in app.board_screen.model.columns for key in column_keys(app, c.name))

    async def apply(**fields) -> None:
        await pilot.press("slash")
        form = app.screen
        assert isinstance(form, FilterForm)
        for name, value in fields.items():
            if name == "mine":
                form.query_one("#filter-mine", Checkbox).value = value
            elif name == "priorities":
                for priority in value:
                    form.query_one("#filter-priorities", SelectionList).select(priority)
            else:
                form.query_one(f"#filter-{name}", Input).value = value
        await pilot.press("enter")

    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash")
        await typed(pilot, "login")
        await pilot.press("enter")
        assert shown() == ["WEB-1"]
        bar = str(app.board_screen.query_one("#filter-bar", Static).render())
        assert '"login"' in bar and app.board_screen.query_one("#filter-bar").display
        await pilot.press("escape")
        assert len(shown()) == 7 and not app.board_screen.query_one("#filter-bar").display, shown()

        await apply(labels="feature")
        assert shown() == ["WEB-3", "WEB-5", "WEB-6"]
        await apply(labels="", assignees="lee")
        assert shown() == ["WEB-2", "WEB-3", "WEB-6"]
        await apply(assignees="", mine=True)
        assert shown() == ["WEB-1", "WEB-3", "WEB-7"]
        assert "mine" in str(app.board_screen.query_one("#filter-bar", Static).render())
        await apply(mine=False, priorities=["urgent", "high"])
        assert shown() == ["WEB-1", "WEB-2"]
        header = str(app.board_screen.columns[str(app.board_screen.model.columns[1].id)].header.render())
        assert "Todo  3  (1 shown)" in header
        await pilot.press("escape")
        assert len(shown()) == 7


def git(*args: str, cwd) -> str:
    command = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args]
    return subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


async def test_s_starts_the_card_like_taskly_start(seed, open_app, tmp_path, monkeypatch):
    """The board has no connected repository: the branch is created in this clone, the card records
    it and moves to in progress, assigned to the starter (the GitHub path is `taskly start`'s)."""
    seeded = seed()
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    git("commit", "-q", "--allow-empty", "-m", "first", cwd=repo)
    monkeypatch.chdir(repo)
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: online(app))
        await pilot.press("l", "s")
        await until(pilot, lambda: noted(app, "WEB-2: switched to web-2-rate-limit"), within=30,
                    what="the start to finish")
        assert noted(app, "created locally: board WEB has no connected repository")
        branch = git("rev-parse", "--abbrev-ref", "HEAD", cwd=repo)
        assert branch.startswith("web-2-rate-limit-the-public-search")
        await until(pilot, lambda: settled(app) and "WEB-2" in column_keys(app, "In Progress"))
        card = server_card(seeded, "WEB-2")
        assert (card["branch"], card["column"]) == (branch, "In Progress")
        assert seeded.owner.username in card["assignees"]
        assert not app.board_screen.query_one("#progress-bar").display


async def test_d_moves_the_card_to_done(seed, open_app):
    seeded = seed()
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l", "d")
        assert column_keys(app, "Done") == ["WEB-2", "WEB-7"] and current_key(app) == "WEB-2"
        await until(pilot, lambda: settled(app))
        assert server_card(seeded, "WEB-2")["column"] == "Done"
        await pilot.press("d")
        assert noted(app, "WEB-2 is already done", "warning")


async def test_x_deletes_after_confirmation(seed, open_app):
    seeded = seed()
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l", "x")
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")
        assert column_keys(app, "Todo") == ["WEB-2", "WEB-3", "WEB-4"]
        await pilot.press("x", "y")
        assert column_keys(app, "Todo") == ["WEB-3", "WEB-4"] and current_key(app) == "WEB-3"
        await until(pilot, lambda: settled(app))
        assert server_card(seeded, "WEB-2")["deleted_at"] is not None
        assert "WEB-2" not in server_column(seeded, "Todo")


async def test_r_syncs_now(seed, open_app):
    seeded = seed()
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: noted(app, "Synced") is False and not app.sync_state.syncing)
        card_id = seeded.card("Upgrade the Postgres driver").id
        seeded.teammates["lee"].ok("PATCH", f"/cards/{card_id}", json={"title": "Upgrade asyncpg"})
        await pilot.press("r")
        await until(pilot, lambda: noted(app, "Synced: 0 pushed"), what="the sync's report")
        await until(pilot, lambda: app.board_screen.model.card(str(card_id)).title == "Upgrade asyncpg")


async def test_question_mark_lists_every_binding_with_the_users_keys(seed, open_app):
    seeded = seed()
    app = open_app(seeded, keys={"card": {"move_right": "X"}, "board.nope": "z", "card.done": 3})
    async with app.run_test(size=SIZE) as pilot:
        assert noted(app, "unknown binding id 'board.nope'", "warning")
        assert noted(app, "card.done: give a key", "warning")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=200, record=True, file=io.StringIO())
        for column in app.screen.query(".help-column"):
            console.print(column.content)
        text = console.export_text()
        missing = [binding_id for binding_id in binding_ids() if binding_id not in text]
        assert not missing, f"the help does not list {missing}"
        line = next(line for line in text.splitlines() if "card.move_right" in line)
        assert line.split()[0] == "X"
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)

        await pilot.press("L")  # no longer bound
        assert column_keys(app, "Todo") == ["WEB-2", "WEB-3", "WEB-4"]
        await pilot.press("X")
        assert column_keys(app, "Todo")[-1] == "WEB-5"


async def test_q_quits(seed, open_app):
    app = open_app(seed())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert app._exit


async def test_mouse_click_focuses_and_drag_moves(seed, open_app):
    seeded = seed()
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.board_screen
        todo, in_review = screen.card_lists[1], screen.card_lists[3]
        assert await pilot.click(todo, offset=(5, 8))  # the second card
        assert screen.active is todo and current_key(app) == "WEB-3"
        await pilot.mouse_down(todo, offset=(5, 2))
        await pilot.mouse_up(in_review, offset=(5, 8))  # below In Review's only card
        await pilot.pause()
        assert column_keys(app, "In Review") == ["WEB-6", "WEB-2"]
        await until(pilot, lambda: settled(app))
        assert server_column(seeded, "In Review") == ["WEB-6", "WEB-2"]
        assert screen.active is in_review and current_key(app) == "WEB-2"
