"""The inbox on the board, against a real server whose in-process worker runs the notification
consumer: the footer's unread count follows notifications arriving live and being read, each new
one is a toast (stored text escaped, never markup), `i` (remappable) opens the inbox where `r`
marks one read (on the server, as `taskly inbox read`) and `enter` goes to its card — on this
board, or on another board it opens. Cards with a reminder or a recurrence show ⏰ / ↻ in both
densities; the card form reads Remind / Repeats / Every as `--remind` / `--repeat` / `--every` do.

The board (see conftest.CARDS) is WEB-1..WEB-7; the app's "now" is 2031-03-14 12:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from taskly.tui.screens.card_form import CardForm
from taskly.tui.screens.detail import CardDetail
from taskly.tui.screens.inbox import InboxScreen
from taskly.tui.widgets.card_list import RECURRING_MARK, REMINDER_MARK
from taskly.tui.widgets.unread_indicator import UnreadIndicator
from textual.widgets import Input, OptionList, Select, Static

from tests.tui.conftest import SIZE, current_key, noted, online, settled, until

pytestmark = pytest.mark.timeout(300)

HOSTILE = "Deploy [b]now[/b] \u202eevil"


def unread_shown(app) -> str:
    indicator = app.board_screen.query_one(UnreadIndicator)
    return str(indicator.render()) if indicator.display else ""


def server_unread(api) -> int:
    return api.ok("GET", "/notifications", params={"unread": "true"})["unread"]


def card_lines(app, key: str) -> list[str]:
    """The lines the board draws for one card (its column's card list, at the card's place)."""
    screen = app.board_screen
    for widget in screen.columns.values():
        card_list = widget.card_list
        for index, card in enumerate(card_list.cards):
            if card.key == key:
                strips = card_list._card_strips(index, card_list.scrollable_content_region.width)
                return [strip.text for strip in strips]
    raise AssertionError(f"{key} is not on the board")


async def test_notifications_count_toast_inbox_and_jump(seed, open_app):
    seeded = seed()
    owner, maya, lee = seeded.owner, seeded.teammates["maya"], seeded.teammates["lee"]
    # another workspace of mine, with lee in it: the app follows only WEB's workspace live
    elsewhere = owner.ok("POST", "/workspaces", json={"name": f"Ops of {owner.username}"})
    invitation = owner.ok("POST", f"/workspaces/{elsewhere['id']}/invitations", json={"role": "member"})
    lee.ok("POST", f"/invitations/{invitation['token']}/accept")
    ops = owner.ok("POST", f"/workspaces/{elsewhere['id']}/boards", json={"name": "Ops", "key": "OPS"})
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: online(app), what="the live connection")
        assert unread_shown(app) == ""  # none yet: nothing in the footer

        # maya assigns me a card: the count, and a toast with the card's title as written
        mine = maya.ok("POST", f"/boards/{seeded.board['id']}/cards",
                       json={"title": HOSTILE, "column": "Todo", "assignees": [owner.username]})
        assert mine["key"] == "WEB-8"
        # (the in-process worker's consumers may be catching up on the session's other boards first)
        await until(pilot, lambda: unread_shown(app) == "✉ 1 unread", within=90, what="the unread count")
        await until(pilot, lambda: noted(app, "maya assigned you to WEB-8"), within=5, what="the toast")
        [toast] = [n for n in app._notifications if "assigned you to WEB-8" in n.message]
        assert toast.message == "maya assigned you to WEB-8\nDeploy [b]now[/b] \\u202eevil"
        assert not toast.markup and toast.title == "✉ assigned"

        # lee assigns me a card on a board of the other workspace
        other = lee.ok("POST", f"/boards/{ops['id']}/cards",
                       json={"title": "Rotate the TLS certificates", "assignees": [owner.username]})
        await until(pilot, lambda: unread_shown(app) == "✉ 2 unread", within=60, what="the second one")

        # i: the inbox, newest first
        await pilot.press("i")
        inbox = app.screen
        assert isinstance(inbox, InboxScreen)
        options = inbox.query_one(OptionList)
        lines = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert len(lines) == 2 and "OPS-1" in lines[0] and "WEB-8" in lines[1], lines
        assert all(line.startswith("●") for line in lines)
        assert "\u202e" not in lines[1] and "[b]now[/b] \\u202eevil" in lines[1]
        assert str(inbox.query_one("#inbox-title", Static).render()) == "Inbox · 2 unread"

        # r marks OPS-1 read, on the server too; the inbox and the footer follow
        await pilot.press("r")
        await until(pilot, lambda: unread_shown(app) == "✉ 1 unread", within=10, what="marked read")
        assert server_unread(owner) == 1
        await until(pilot, lambda: inbox.notifications[0].get("read_at") is not None, within=5)
        assert str(inbox.query_one("#inbox-title", Static).render()) == "Inbox · 1 unread"
        assert options.highlighted == 0 and not str(options.get_option_at_index(0).prompt).startswith("●")

        # enter on WEB-8: the inbox closes, the cursor is on the card, and it is read
        await pilot.press("down", "enter")
        assert not isinstance(app.screen, InboxScreen)
        await until(pilot, lambda: current_key(app) == "WEB-8", within=5, what="the jump to WEB-8")
        await until(pilot, lambda: unread_shown(app) == "", within=10, what="none unread")
        assert server_unread(owner) == 0

        # enter on OPS-1 (read already): its board opens, the cursor on it
        await pilot.press("i")
        assert isinstance(app.screen, InboxScreen)
        await pilot.press("enter")
        await until(pilot, lambda: app.board_screen.model.board.key == "OPS", within=10, what=f"board OPS {app.notes}")
        await until(pilot, lambda: current_key(app) == other["key"], within=5, what="the cursor on OPS-1")
        assert app.context.board_ref == str(ops["id"])
        # the other workspace is followed live now
        lee.ok("PATCH", f"/cards/{other['id']}", json={"title": "Rotate the TLS certificates today"})
        await until(pilot, lambda: app.board_screen.current_card.title == "Rotate the TLS certificates today",
                    within=10, what="a live change in the other workspace")

        # read elsewhere (another device): the next sync (`r`) brings it, the footer follows
        lee.ok("POST", f"/cards/{other['id']}/comments", json={"body": f"@{owner.username} done?"})
        await until(pilot, lambda: unread_shown(app) == "✉ 1 unread", within=60, what="the mention")
        owner.ok("POST", "/notifications/read", json={"all": True})
        await pilot.press("r")
        await until(pilot, lambda: unread_shown(app) == "", within=10, what="read elsewhere")

        # R in the inbox: every one read
        lee.ok("POST", f"/cards/{other['id']}/comments", json={"body": f"@{owner.username} and the rest?"})
        await until(pilot, lambda: unread_shown(app) == "✉ 1 unread", within=60, what="the second mention")
        await pilot.press("i", "R")
        await until(pilot, lambda: unread_shown(app) == "", within=10, what="all read")
        assert server_unread(owner) == 0
        await pilot.press("escape")
        assert not isinstance(app.screen, InboxScreen)
        assert not noted(app, "", "error"), app.notes


async def test_reminder_and_recurrence_from_the_card_form(seed, open_app):
    seeded = seed()
    owner = seeded.owner
    owner.ok("PATCH", "/me/settings", json={"timezone": "Europe/Berlin"})
    app = open_app(seeded, keys={"board": {"inbox": "N"}})  # `i` remapped
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: online(app) and app.store.meta("timezone") == "Europe/Berlin",
                    what="online, with the user's zone")
        await pilot.press("i")
        assert not isinstance(app.screen, InboxScreen)
        await pilot.press("N")
        assert isinstance(app.screen, InboxScreen)
        assert "No notifications yet." in str(app.screen.query_one("#inbox-empty", Static).render())
        await pilot.press("escape")

        key = current_key(app)
        card_id = str(app.board_screen.current_card.id)
        assert REMINDER_MARK not in "".join(card_lines(app, key))

        async def edit(**fields) -> CardForm:
            await pilot.press("e")
            form = app.screen
            assert isinstance(form, CardForm)
            for name, value in fields.items():
                widget = form.query_one(f"#{name}")
                widget.value = value
            await pilot.pause()
            return form

        # invalid input: an inline error, the form stays, nothing is written
        for fields, error in (({"remind_at": "someday"}, "Remind at 'someday': use an ISO date-time"),
                              ({"remind_at": "fri 25:00"}, "'25:00' is not a time"),
                              ({"recurrence": "weekly", "recurrence_interval": "0"}, "Every '0': give a whole number"),
                              ({"recurrence": "daily", "recurrence_interval": "x"}, "Every 'x'"),
                              ({"recurrence_interval": "3"}, "Every goes with Repeats")):
            form = await edit(**fields)
            await pilot.press("ctrl+s")
            assert app.screen is form, fields
            assert error in str(form.query_one("#form-error", Static).render()), fields
            await pilot.press("escape")
        assert settled(app) and app.store.outbox.count() == 0
        before = owner.ok("GET", f"/cards/{card_id}")
        assert before["remind_at"] is None and before["recurrence"] == "none"

        # valid: `tomorrow 9:00` in Berlin (CET in March: 08:00 UTC), weekly every 2
        await edit(remind_at="tomorrow 9:00", recurrence="weekly", recurrence_interval="2")
        await pilot.press("ctrl+s")
        assert not isinstance(app.screen, CardForm)
        await until(pilot, lambda: settled(app), what="the write")
        card = owner.ok("GET", f"/cards/{card_id}")
        assert datetime.fromisoformat(card["remind_at"]) == datetime(2031, 3, 15, 8, 0, tzinfo=UTC)
        assert (card["recurrence"], card["recurrence_interval"]) == ("weekly", 2)
        await pilot.press("enter")  # the details name the reminder in the user's zone
        assert isinstance(app.screen, CardDetail)
        await until(pilot, lambda: "Reminder   2031-03-15 09:00 CET" in
                    str(app.screen.query_one("#detail-fields", Static).render()), within=5, what="the details")
        await pilot.press("escape")

        # the badges, full and compact
        await until(pilot, lambda: REMINDER_MARK in "".join(card_lines(app, key)), within=5, what="the badge")
        assert RECURRING_MARK in "".join(card_lines(app, key))
        await pilot.press("z")
        compact = card_lines(app, key)
        assert len(compact) == 2 and REMINDER_MARK in compact[1] and RECURRING_MARK in compact[1]
        await pilot.press("z")

        # the form shows the reminder in the user's zone; saved untouched, nothing is written
        form = await edit()
        assert form.query_one("#remind_at", Input).value == "2031-03-15 09:00"
        assert form.query_one("#recurrence", Select).value == "weekly"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert settled(app) and owner.ok("GET", f"/cards/{card_id}")["version"] == card["version"]

        # cleared: `none` removes the reminder, Repeats none stops the series
        await edit(remind_at="none", recurrence="none")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: settled(app), what="the write")
        card = owner.ok("GET", f"/cards/{card_id}")
        assert card["remind_at"] is None and card["recurrence"] == "none"
        await until(pilot, lambda: REMINDER_MARK not in "".join(card_lines(app, key)), within=5)

        # a new card with `+2h` (from the app's now)
        await pilot.press("n")
        form = app.screen
        assert isinstance(form, CardForm)
        form.query_one("#title", Input).value = "Water the plants"
        form.query_one("#remind_at", Input).value = "+2h"
        form.query_one("#recurrence", Select).value = "daily"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: settled(app), what="the new card")
        [created] = [c for c in owner.ok("GET", f"/boards/{seeded.board['id']}/cards")
                     if c["title"] == "Water the plants"]
        assert datetime.fromisoformat(created["remind_at"]) == datetime(2031, 3, 14, 14, 0, tzinfo=UTC)
        assert (created["recurrence"], created["recurrence_interval"]) == ("daily", 1)
        assert REMINDER_MARK in "".join(card_lines(app, created["key"]))
        assert not noted(app, "", "error"), app.notes
