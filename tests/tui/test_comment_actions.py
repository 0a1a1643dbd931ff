"""Comments in the card details (Pilot against a board seeded on a real server): short ids shown,
`e` on one's own comment edits it (shown as edited), `e` on someone else's is refused with a
notice, `x` deletes after a question; labels are painted in their colours on the board."""

from __future__ import annotations

import pytest
from taskly.core.render import comment_handle
from taskly.tui.screens.comment_form import CommentForm
from taskly.tui.screens.confirm import Confirm
from taskly.tui.screens.detail import CardDetail
from taskly.tui.widgets.comment_item import CommentItem
from textual.widgets import Static, TextArea

from tests.tui.conftest import SIZE, noted, settled, until

pytestmark = pytest.mark.timeout(120)


async def focused(pilot, detail: CardDetail, index: int) -> CommentItem:
    """Focus the `index`th comment and wait until it has the focus (the list may be redrawn
    meanwhile, when fresher comments arrive: then its new widget is focused)."""
    async def attempt() -> bool:
        items = list(detail.query(CommentItem))
        if pilot.app.focused in items and items.index(pilot.app.focused) == index % len(items):
            return True
        items[index].focus()
        await pilot.pause()
        return False

    for _ in range(50):
        if await attempt():
            return pilot.app.focused
    raise AssertionError("the comment never took the focus")


def comments_title(detail: CardDetail) -> str:
    return str(detail.query_one("#detail-comments-title", Static).render())


async def test_edit_and_delete_a_comment_in_the_details(seed, open_app):
    seeded = seed()
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l", "l", "enter")  # WEB-1, with maya's and lee's comments
        detail = app.screen
        assert isinstance(detail, CardDetail)
        await until(pilot, lambda: "Comments (2)" in comments_title(detail), what="the comments")
        await pilot.press("c")
        app.screen.query_one(TextArea).text = "First draft"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: settled(app) and "Comments (3)" in comments_title(detail), what="the comment")
        [mine] = [c for c in seeded.owner.ok("GET", "/cards/WEB-1/comments") if c["body"] == "First draft"]
        handle = mine["id"].replace("-", "")[:8]
        assert comment_handle(list(detail.query(CommentItem))[-1].comment) == handle
        await until(pilot, lambda: any(handle in str(label.render()) for label in detail.query(".comment-author")),
                    what="the short id shown")

        # someone else's comment: `e` says why not, and nothing opens
        await focused(pilot, detail, 0)
        await pilot.press("e")
        assert isinstance(app.screen, CardDetail)
        assert noted(app, "Only its author can edit a comment")

        await focused(pilot, detail, -1)
        await pilot.press("e")
        form = app.screen
        assert isinstance(form, CommentForm) and form.query_one(TextArea).text == "First draft"
        form.query_one(TextArea).text = "Final draft"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: settled(app) and any(i.comment.edited and i.comment.body == "Final draft"
                                                          for i in detail.query(CommentItem)), what="the edit")
        await until(pilot, lambda: any("(edited)" in str(label.render())
                                       for label in detail.query(".comment-author")), what="(edited) shown")
        server = {c["id"]: c for c in seeded.owner.ok("GET", "/cards/WEB-1/comments")}[mine["id"]]
        assert (server["body"], server["edited"]) == ("Final draft", True)

        await focused(pilot, detail, -1)
        await pilot.press("x")
        assert isinstance(app.screen, Confirm)
        await pilot.press("y")
        await until(pilot, lambda: settled(app) and "Comments (2)" in comments_title(detail), what="the delete")
        assert mine["id"] not in {c["id"] for c in seeded.owner.ok("GET", "/cards/WEB-1/comments")}
        # without a comment focused, `e` still edits the card
        detail.query_one("#detail").focus()
        await until(pilot, lambda: app.focused is detail.query_one("#detail"), what="the details' focus")
        await pilot.press("e")
        assert not isinstance(app.screen, CommentForm)


async def test_labels_are_painted_in_their_colours(seed, open_app):
    seeded = seed()
    workspace_id = seeded.board["workspace_id"]
    seeded.owner.ok("POST", f"/workspaces/{workspace_id}/labels", json={"name": "hot", "color": "#d73a4a"})
    seeded.owner.ok("PATCH", "/cards/WEB-5", json={"labels": ["hot"]})
    app = open_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.board_screen.context.label_colors.get("hot") == "#d73a4a",
                    what="the label catalogue")
        card_list = app.board_screen.active
        assert card_list is not None and card_list.label_colors.get("hot") == "#d73a4a"
        style = card_list._label_style("hot", card_list._style("card"))
        assert style.bgcolor is not None and style.bgcolor.triplet is not None
        assert style.bgcolor.triplet.hex == "#d73a4a"
        await pilot.press("enter")  # WEB-5's details: its labels in their colours too
        detail = app.screen
        assert isinstance(detail, CardDetail)
        fields = detail.query_one("#detail-fields", Static).render()
        assert "hot" in str(fields) and any("#d73a4a" in str(span.style) for span in fields.spans)
