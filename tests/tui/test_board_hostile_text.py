"""The board shows stored text as data: escape sequences, tabs and newlines of a title or a label are
drawn escaped (the card keeps its borders), and text that looks like Rich markup shows as written,
on the board, in the details and in toasts."""

from __future__ import annotations

import pytest
from taskly.tui.screens.detail import CardDetail
from textual.widgets import Static

from tests.support.checks import sql
from tests.tui.conftest import SIZE, until

pytestmark = pytest.mark.timeout(120)

OSC_TITLE = "\x1b]0;pwned\x07"
TITLE = f"pwn{OSC_TITLE}\ttab\nnewline"
LABEL = "x\x1b[2J"
MARKUP = "[bold red]markup[/] \u202eevil"
MARKUP_LABEL = "[link=https://evil.example]l[/link]"


def card_lines(app, card_id: str) -> list[str]:
    """The lines the board draws for a card, checked to fill the column's width exactly."""
    for column in app.board_screen.columns.values():
        cards = column.card_list.cards
        for index, card in enumerate(cards):
            if card.id == card_id:
                width = column.card_list.scrollable_content_region.width
                strips = column.card_list._card_strips(index, width)
                assert all(strip.cell_length == width for strip in strips)
                return [strip.text for strip in strips]
    raise AssertionError(f"card {card_id} is not on the board")


async def test_hostile_titles_and_labels_render_escaped_and_literal(seed, open_app, database_url):
    seeded = seed(cards=[{"title": "placeholder", "column": "Backlog", "labels": ["ok"], "assignees": ["maya"]},
                         {"title": MARKUP, "column": "Todo", "labels": [MARKUP_LABEL]}])
    hostile, markup = seeded.card("placeholder"), seeded.card(MARKUP)
    sql(database_url, "UPDATE cards SET title = %s, labels = %s, description = %s WHERE id = %s",
        TITLE, [LABEL], f"# Notes\nline {OSC_TITLE}", str(hostile.id))
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        lists = [column.card_list for column in app.board_screen.columns.values()]
        await until(pilot, lambda: any(card.title == TITLE for cards in lists for card in cards.cards),
                    what="the hostile card on the board")
        drawn = card_lines(app, str(hostile.id))
        text = "".join(drawn)
        assert "\x1b" not in text and "\n" not in text and "\t" not in text
        assert "pwn\\e]0;pwned\\x07\\ttab\\nnewline" in "".join(line.strip("│┃ ") for line in drawn[2:4])
        assert "x\\e[2J" in drawn[4]
        literal = "".join(card_lines(app, str(markup.id)))
        assert "[bold red]markup[/]" in literal and "\\u202eevil" in literal and "[link=https://evil" in literal

        await pilot.press("enter")  # the focus starts on the hostile card (Backlog)
        detail = app.screen
        assert isinstance(detail, CardDetail)
        title = str(detail.query_one("#detail-title", Static).render())
        assert title == f"{hostile.key}  pwn\\e]0;pwned\\x07\\ttab\\nnewline"
        fields = str(detail.query_one("#detail-fields", Static).render())
        assert "x\\e[2J" in fields and "\x1b" not in fields
        await pilot.press("escape", "l", "enter")
        detail = app.screen
        fields = str(detail.query_one("#detail-fields", Static).render())
        assert MARKUP_LABEL in fields  # Rich markup in a label is shown, not applied
        assert "[bold red]markup[/]" in str(detail.query_one("#detail-title", Static).render())


async def test_toasts_show_stored_text_as_written(seed, open_app):
    seeded = seed(cards=[{"title": "one", "column": "Todo"}])
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        app.notify(f"closing [/] with nothing open, {OSC_TITLE} and [bold]bold[/bold]", title="[b]x")
        await pilot.pause()
        [toast] = [n for n in app._notifications if "closing" in n.message]
        assert toast.message == "closing [/] with nothing open, \\e]0;pwned\\x07 and [bold]bold[/bold]"
        assert not toast.markup and toast.title == "[b]x"


async def test_names_that_look_like_markup_show_as_written(seed, open_app):
    """A column named like markup (`[/]` alone would stop a markup parser) heads its column and is an
    option of the card form, as written."""
    from taskly.tui.screens.card_form import CardForm
    from textual.widgets import Select

    seeded = seed(cards=[{"title": "one", "column": "Todo"}])
    todo = next(c for c in seeded.board["columns"] if c["name"] == "Todo")
    seeded.owner.ok("PATCH", f"/columns/{todo['id']}", json={"name": "To [/]do [b]now"})
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        header = str(app.board_screen.columns[todo["id"]].header.render())
        assert header.startswith("To [/]do [b]now")
        await until(pilot, lambda: app.board_screen.current_card is not None, what="a card in focus")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, CardForm), what="the card form")
        select = app.screen.query_one("#column", Select)
        assert "To [/]do [b]now" in [str(prompt) for prompt, _ in select._options]
