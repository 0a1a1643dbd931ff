"""The board live and offline: others' changes and pull request events arrive without a key press,
the footer tells online / offline and the queued writes, writes queue while the server is away and
are pushed when it returns, and conflicts the server reports are notified."""

from __future__ import annotations

import threading

import pytest
from taskly.core.render import handle
from taskly.tui.widgets.card_list import PENDING_MARK
from taskly.tui.widgets.sync_indicator import SyncIndicator
from taskly.tui.widgets.unread_indicator import UnreadIndicator

from tests.cli.support import ok
from tests.support.api import Api
from tests.support.github_webhooks import Hook, sha
from tests.tui.conftest import SIZE, column_keys, current_key, noted, online, settled, until

pytestmark = pytest.mark.timeout(120)


def indicator(app) -> str:
    return str(app.board_screen.query_one(SyncIndicator).render())


def card_lines(app, column: str) -> list[str]:
    """What a column's card list draws (its visible lines)."""
    model = app.board_screen.model
    column_id = next(str(c.id) for c in model.columns if c.name == column)
    card_list = app.board_screen.columns[column_id].card_list
    return [card_list.render_line(y).text for y in range(card_list.size.height)]


def header(app, column: str) -> str:
    model = app.board_screen.model
    column_id = next(str(c.id) for c in model.columns if c.name == column)
    return str(app.board_screen.columns[column_id].header.render())


async def test_changes_by_others_appear_without_a_key_press(seed, open_app):
    seeded = seed()
    app = open_app(seeded)
    maya, lee = seeded.teammates["maya"], seeded.teammates["lee"]
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "● online · 0 queued" in indicator(app), what="the live connection")

        rate_limit = seeded.card("Rate-limit the public search endpoint").id
        maya.ok("POST", f"/cards/{rate_limit}/move", json={"column": "Done", "position": "top"})
        await until(pilot, lambda: column_keys(app, "Done") == ["WEB-2", "WEB-7"], within=5,
                    what="maya's move to show")
        await until(pilot, lambda: noted(app, "maya moved WEB-2 to Done"), within=5, what="the toast")

        lee.ok("PATCH", f"/cards/{seeded.card('Upgrade the Postgres driver').id}", json={"title": "Use asyncpg 1.0"})
        created = lee.ok("POST", f"/boards/{seeded.board['id']}/cards", json={"title": "Flaky login test",
                                                                             "column": "Todo"})
        await until(pilot, lambda: "WEB-8" in column_keys(app, "Todo"), within=5, what="lee's new card")
        await until(pilot, lambda: any("Use asyncpg 1.0" in line for line in card_lines(app, "Todo")), within=5)
        assert created["key"] == "WEB-8"
        assert not noted(app, "lee")  # only moves (and pull requests) make toasts

        columns = {c["name"]: c for c in seeded.owner.ok("GET", f"/boards/{seeded.board['id']}")["columns"]}
        seeded.owner.ok("PATCH", f"/columns/{columns['Done']['id']}", json={"wip_limit": 2})  # a new limit
        await until(pilot, lambda: header(app, "Done") == "Done  2/2", within=5, what="the WIP limit")
        maya.ok("POST", f"/cards/{seeded.card('Dark mode for the dashboard').id}/move", json={"column": "Done"})
        await until(pilot, lambda: header(app, "Done") == "Done  3/2  over WIP", within=5)
        done = app.board_screen.columns[str(columns["Done"]["id"])]
        assert done.header.has_class("-over-limit")

        await pilot.press("l")
        mine = current_key(app)
        await pilot.press("L")  # my own move: no toast about it
        assert column_keys(app, "In Progress")[-1] == mine
        await until(pilot, lambda: settled(app))
        await pilot.pause(0.5)
        assert not any("to In Progress" in message for _, message in app.notes)


async def test_pull_request_events_show_badges_and_toasts(seed, open_app, tui_server, database_url):
    seeded = seed()
    web2 = seeded.card("Rate-limit the public search endpoint")
    # mine too: its move by the PR is also a notification of mine, told in the same toast as the move
    seeded.owner.ok("PATCH", f"/cards/{web2.id}", json={"assignees": ["lee", seeded.owner.username]})
    app = open_app(seeded)
    hook = Hook.connect(tui_server.url, database_url, seeded.workspace["id"])
    branch = "web-2-rate-limit-search"
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: online(app))
        hook.deliver("pull_request", hook.pull("opened", 42, head=branch, title="Rate-limit search"))
        await until(pilot, lambda: "WEB-2" in column_keys(app, "In Review"), within=10,
                    what="automation to move the card")
        await until(pilot, lambda: noted(app, f"WEB-2: PR {hook.full_name}#42 open"), within=5, what="the PR toast")
        await until(pilot, lambda: noted(app, "moved WEB-2 to In Review"), within=5)
        await until(pilot, lambda: any("#42 open" in line for line in card_lines(app, "In Review")), within=5)
        await until(pilot, lambda: "1 unread" in str(app.board_screen.query_one(UnreadIndicator).render()),
                    within=60, what="the moved_by_automation notification")
        await pilot.pause(1.0)  # its toast would be gathered and shown by now (inbox.BURST)
        assert not noted(app, "WEB-2 moved to In Review")
        assert sum("WEB-2 to In Review" in message for _, message in app.notes) == 1

        hook.deliver("check_suite", hook.check_suite(sha(f"{branch}:42"), "success", updated=5))
        hook.deliver("pull_request_review", hook.review("approved", 42, head=branch, submitted=6))
        await until(pilot, lambda: any("#42 open CI✓ ✔1" in line for line in card_lines(app, "In Review")),
                    within=10, what="the CI and review badges")
        assert noted(app, f"WEB-2: PR {hook.full_name}#42 open, ci success, 1 approval")

        await pilot.press("l", "l", "l")
        if current_key(app) != "WEB-2":
            await pilot.press("j")
        assert current_key(app) == "WEB-2"
        await pilot.press("enter")
        detail = app.screen
        await until(pilot, lambda: "Pull requests (1)" in str(detail.query_one("#detail-pulls-title").render()))
        text = str(detail.query_one("#detail-pulls").render())
        assert f"{hook.full_name}#42" in text and "CI success" in text and "1 approved" in text


async def test_offline_indicator_queued_writes_and_conflicts(own_server, seed, open_app, tui_server):
    seeded = seed(server_url=own_server.url)
    app = open_app(seeded, max_backoff=1.0)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: online(app))
        own_server.stop()
        await until(pilot, lambda: "○ offline" in indicator(app), what="the offline indicator")

        await pilot.press("L")  # WEB-5 to Todo: at once on screen, queued for the server
        assert column_keys(app, "Todo")[-1] == "WEB-5"
        await until(pilot, lambda: "1 queued" in indicator(app), what="the queued count")
        await pilot.press("e")  # WEB-5 again: a new title, queued too
        app.screen.query_one("#title").value = "Dark mode (mine)"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "2 queued" in indicator(app))

        # Meanwhile lee renames the same card through another server on the same database.
        dark_mode = seeded.card("Dark mode for the dashboard").id
        Api(tui_server.url, seeded.teammates["lee"].token).ok("PATCH", f"/cards/{dark_mode}",
                                                             json={"title": "Dark mode (lee's)"})

        own_server.start()
        await until(pilot, lambda: "0 queued" in indicator(app) and "online" in indicator(app), within=20,
                    what="the queued writes to be pushed")
        served = seeded.owner.ok("GET", f"/cards/{dark_mode}")
        assert (served["title"], served["column"]) == ("Dark mode (mine)", "Todo")
        await until(pilot, lambda: noted(app, "title was overwritten", "warning"), within=5,
                    what="the conflict notification")
        assert noted(app, "Dark mode (lee's)", "warning")
        assert settled(app)


async def test_the_board_paints_from_the_cache_when_the_server_is_away(own_server, seed, open_app):
    seeded = seed(server_url=own_server.url)
    app = open_app(seeded)  # a synced cache, then the server goes away
    own_server.stop()
    async with app.run_test(size=SIZE) as pilot:
        assert column_keys(app, "Todo") == ["WEB-2", "WEB-3", "WEB-4"]  # painted before any network
        await until(pilot, lambda: "○ offline" in indicator(app))
        await pilot.press("d")
        assert column_keys(app, "Done")[0] == "WEB-5"
        await until(pilot, lambda: "1 queued" in indicator(app))


async def test_an_empty_cache_loads_the_board_from_the_server(seed, open_app):
    seeded = seed()
    app = open_app(seeded, warm=False)  # a first run: nothing cached yet
    async with app.run_test(size=SIZE) as pilot:
        assert app.board_screen.placeholder == "Loading the board from the server…"  # what it first showed
        await until(pilot, lambda: app.board_screen.model is not None and column_keys(app, "Todo"),
                    what="the board after the first sync")
        assert column_keys(app, "Todo") == ["WEB-2", "WEB-3", "WEB-4"] and current_key(app) == "WEB-5"
        await pilot.press("L")
        await until(pilot, lambda: settled(app))
        assert seeded.owner.ok("GET", f"/cards/{seeded.card('Dark mode for the dashboard').id}")["column"] == "Todo"


async def test_offline_mode_never_touches_the_network(seed, open_app):
    seeded = seed()
    app = open_app(seeded, offline=True)
    async with app.run_test(size=SIZE) as pilot:
        assert "○ offline mode · 0 queued" in indicator(app)
        await pilot.press("L")
        await until(pilot, lambda: "1 queued" in indicator(app))
        await pilot.press("r")
        assert noted(app, "Offline mode", "warning")
        assert app.factory.engine._api is None
        assert seeded.owner.ok("GET", f"/cards/{seeded.card('Dark mode for the dashboard').id}")["column"] == \
            "Backlog"


async def test_the_pending_mark_clears_when_the_server_confirms_the_write(seed, open_app):
    """A move whose own push runs out of time (a slow server) stays queued, marked `⇡`; while the
    live connection is up the board sends it again, and the mark goes once the server confirms."""
    seeded = seed()
    app = open_app(seeded)
    dark_mode = seeded.card("Dark mode for the dashboard").id
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: online(app), what="online")
        engine = app.engine
        engine.write_timeout = 0.0  # each write's push is out of time at once: the write is queued
        resend, push = threading.Event(), engine.push

        def held_push(timeout=None):
            """The real push; a resend (not the write's own push) waits until the mark was seen."""
            if timeout != 0.0:
                resend.wait(30)
            return push(timeout)

        engine.push = held_push
        await pilot.press("L")  # WEB-5 to Todo
        await until(pilot, lambda: any(PENDING_MARK in line for line in card_lines(app, "Todo")),
                    what="the pending mark")
        assert app.store.outbox.count() == 1
        assert seeded.owner.ok("GET", f"/cards/{dark_mode}")["column"] == "Backlog"

        resend.set()
        await until(pilot, lambda: settled(app) and not any(PENDING_MARK in line
                                                            for line in card_lines(app, "Todo")),
                    within=20, what="the mark to clear")
        assert seeded.owner.ok("GET", f"/cards/{dark_mode}")["column"] == "Todo"
        assert column_keys(app, "Todo")[-1] == "WEB-5"
        await until(pilot, lambda: "● online · 0 queued" in indicator(app), what="online again")


async def test_a_card_made_offline_shows_its_handle_then_its_key(own_server, seed, open_app):
    seeded = seed(server_url=own_server.url)
    app = open_app(seeded, max_backoff=1.0)
    env = {"TASKLY_HOME": app.factory.environ["TASKLY_HOME"], "TASKLY_SERVER": own_server.url,
           "TASKLY_WORKSPACE": seeded.workspace["name"], "TASKLY_BOARD": "WEB"}
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: online(app), what="online")
        own_server.stop()
        await until(pilot, lambda: "○ offline" in indicator(app), what="the offline indicator")
        await pilot.press("l", "n")
        app.screen.query_one("#title").value = "Written on the train"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "1 queued" in indicator(app), what="the queued card")
        card = next(c for c in app.board_screen.model.visible(app.board_screen.active.column_id)
                    if c.title == "Written on the train")
        assert card.key == ""
        provisional = f"WEB-?{handle(card.id)}"
        await until(pilot, lambda: any(provisional in line for line in card_lines(app, "Todo")), within=5,
                    what=f"{provisional} on the board")
        listed = ok("ls", "--offline", env=env).stdout  # the handle `taskly ls` shows
        assert provisional in listed

        own_server.start()  # the live link comes back and sends the queued card
        await until(pilot, lambda: "WEB-8" in column_keys(app, "Todo"), within=30, what="its key")
        await until(pilot, lambda: any("WEB-8" in line for line in card_lines(app, "Todo"))
                    and not any("WEB-?" in line for line in card_lines(app, "Todo")), within=5)
        assert seeded.owner.ok("GET", f"/cards/{card.id}")["key"] == "WEB-8"
