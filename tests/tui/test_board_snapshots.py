"""Pictures of the board, a card's details, the edit form and the help screen (pytest-textual-snapshot).

One board is seeded for the module with fixed names (user ana, workspace Acme, teammates maya and
lee), due dates around the fixed "today" of conftest.TODAY, and a pull request (acme/web#7) on
WEB-6 with green CI and one approval. "Now" is five minutes after the last change, so comments and
activity read "5 min ago" whatever the day. Regenerate with `--snapshot-update` and look at them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from textual.widgets import Input, TextArea

from tests.support.api import Api
from tests.support.github_webhooks import Hook, insert_repository, sha
from tests.tui.conftest import CARDS, SIZE, seed_board

pytestmark = pytest.mark.timeout(120)

AUDIT_LOG = "Audit log in workspace settings"
BRANCH = "web-6-audit-log"


@pytest.fixture(scope="module")
def board(tui_server, database_url: str, tmp_path_factory: pytest.TempPathFactory):
    """The snapshot board (see the module docstring) and the "now" of its pictures."""
    cards = [dict(card) for card in CARDS]
    audit = next(card for card in cards if card["title"] == AUDIT_LOG)
    audit.update(description="Who changed what and when, **filterable** by person and by board.\n\n"
                             "- keep 90 days\n- export as CSV",
                 comments=[("maya", "The pagination query needs an index."), ("lee", "Added it, thanks.")])
    owner = Api.login(tui_server.url, "ana")
    seeded = seed_board(tui_server.url, owner, tmp_path_factory.mktemp("snapshots"), cards,
                        workspace_name="Acme", comment_ids="board-snapshots")
    columns = {c["name"]: c["id"] for c in owner.ok("GET", f"/boards/{seeded.board['id']}")["columns"]}
    owner.ok("PATCH", f"/columns/{columns['Todo']}", json={"wip_limit": 2})
    owner.ok("PATCH", f"/columns/{columns['In Progress']}", json={"wip_limit": 3})
    github_id, secret = 10**9 + uuid.uuid4().int % 10**9, uuid.uuid4().hex
    repository_id = insert_repository(database_url, seeded.workspace["id"], "acme", "web", github_id, secret)
    hook = Hook(tui_server.url, database_url, repository_id, "acme", "web", github_id, secret)
    hook.deliver("pull_request", hook.pull("opened", 7, head=BRANCH, title="Audit log page"))
    hook.deliver("check_run", hook.check_run(sha(f"{BRANCH}:7"), "tests", "success", updated=3))
    hook.deliver("check_suite", hook.check_suite(sha(f"{BRANCH}:7"), "success", updated=4))
    hook.deliver("pull_request_review", hook.review("approved", 7, head=BRANCH, title="Audit log page",
                                                    reviewer="maya", submitted=5))
    activity = owner.ok("GET", f"/cards/{seeded.card(AUDIT_LOG).id}/activity")
    last = max(datetime.fromisoformat(change["created_at"]) for change in activity)
    return seeded, last.astimezone(UTC) + timedelta(minutes=5)


def steady(app):
    """Wait until the board is online with nothing queued, and stop the text cursors blinking."""

    async def run_before(pilot) -> None:
        for _ in range(400):
            if app.sync_state.live == "online" and not app.sync_state.syncing and app.store.outbox.count() == 0:
                break
            await pilot.pause(0.05)
        assert app.sync_state.live == "online"

    return run_before


def no_blink(app) -> None:
    for widget in app.screen.query("Input, TextArea"):
        if isinstance(widget, Input | TextArea):
            widget.cursor_blink = False


def test_board(board, open_app, snap_compare) -> None:
    """The board of five columns with their card counts: Backlog with WEB-5 under the cursor (heavy
    border, active column header); Todo `3/2 over WIP` in red, over its WIP limit, with a high
    (orange), a medium (yellow) and a low (blue) card, labels in italics and assignee initials;
    In Progress `1/3` with urgent WEB-1, overdue (its due date in red reverse), assigned to MA; In Review with WEB-6 due today and its pull request badge
    line `#7 open CI✓ ✔1`; Done with WEB-7. No sprint: nothing after the title. The footer: the keys
    in force (`esc Clear filter` is hidden: no filter), `S Sprint` and `b Burndown` last among the
    board's, then `● online · 0 queued`."""
    seeded, now = board
    app = open_app(seeded, user=seeded.owner, now=now)
    assert snap_compare(app, terminal_size=SIZE, run_before=steady(app))


def test_card_details(board, open_app, snap_compare) -> None:
    """WEB-6's details: its fields (In Review, medium, 8 points, due today, assigned to lee), the
    markdown description with a bulleted list, pull request acme/web#7 "Audit log page" (open, CI
    success with its checks `tests` and `GitHub Actions`, 1 approved, web-6-audit-log → master by
    Codertocat, and its details from the payload: 1 commit · +1 -1), two comments by maya and lee "5 min ago", and the activity, newest first: the
    review, the check suite, the check run and the opened PR (each by its GitHub delivery), the
    comments, the creation in In Review. The footer shows the detail view's keys (o: Open on GitHub)."""
    seeded, now = board
    app = open_app(seeded, now=now)
    base = steady(app)

    async def run_before(pilot) -> None:
        await base(pilot)
        await pilot.press("l", "l", "l", "enter")
        detail = app.screen
        for _ in range(400):
            comments = str(detail.query_one("#detail-comments-title").render())
            if detail.activity is not None and comments == "Comments (2)":
                break
            await pilot.pause(0.05)
        assert detail.activity is not None

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_edit_form(board, open_app, snap_compare) -> None:
    """The edit form of WEB-2 over the dimmed board: the title selected in its input, column Todo,
    priority high, 5 points, due 2031-03-20, no reminder or sprint, not repeating, labels `backend,
    security`, lee ticked among the assignees, an empty description, Save and Cancel."""
    seeded, now = board
    app = open_app(seeded, now=now)
    base = steady(app)

    async def run_before(pilot) -> None:
        await base(pilot)
        await pilot.press("l", "e")
        await pilot.pause()
        no_blink(app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_help_screen(board, open_app, snap_compare) -> None:
    """The help over the dimmed board: every binding by where it works — Board (with `s` Start,
    `z` Card density, `S` Sprint and `b` Burndown) and App on the left; In a column,
    Card details with `o` Open on GitHub, Burndown (`esc, b` Back), Forms, Confirmation and Help on the right — with its
    keys, what it does and its id, and how to remap them in the [keys] table."""
    seeded, now = board
    app = open_app(seeded, now=now)
    base = steady(app)

    async def run_before(pilot) -> None:
        await base(pilot)
        await pilot.press("question_mark")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)



def test_board_80x24(board, open_app, snap_compare) -> None:
    """The board at 80x24: three columns of 25 cells (Backlog, Todo, In Progress) with compact
    two-line cards — a priority bar, key, title cut with `…` and points, then labels with the due
    date and initials at the end; WEB-5 under the cursor (heavy bar, highlighted). The title bar
    says `2 more ▶` (In Review and Done are off screen). The footer keeps the first keys that fit,
    `? Help`, `q Quit` and `● online · 0 queued`."""
    seeded, now = board
    app = open_app(seeded, now=now)
    assert snap_compare(app, terminal_size=(80, 24), run_before=steady(app))


def test_board_80x24_scrolled(board, open_app, snap_compare) -> None:
    """The board at 80x24 after `l` four times: the view has followed the focus to Done, whose WEB-7
    is under the cursor, with In Progress and In Review beside it; the title bar says `◀ 2 more`."""
    seeded, now = board
    app = open_app(seeded, now=now)
    base = steady(app)

    async def run_before(pilot) -> None:
        await base(pilot)
        await pilot.press("l", "l", "l", "l")

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_board_120x40(board, open_app, snap_compare) -> None:
    """The board at 120x40: four columns of 29 cells with full cards (borders, two title lines,
    WEB-6's pull request line), the fifth (Done) off screen: `1 more ▶` in the title bar. The footer
    still has room for every key."""
    seeded, now = board
    app = open_app(seeded, now=now)
    assert snap_compare(app, terminal_size=(120, 40), run_before=steady(app))


def test_board_200x50(board, open_app, snap_compare) -> None:
    """The board at 200x50: the five columns share the width (no scrolling, nothing in the title bar's
    right end), full cards, and every key in the footer."""
    seeded, now = board
    app = open_app(seeded, now=now)
    assert snap_compare(app, terminal_size=(200, 50), run_before=steady(app))
