"""Pictures of the sprints on the board (pytest-textual-snapshot): the header with the active sprint,
the sprint picker (`S`) and the burndown screen (`b`).

Board WEB (workspace Sprints, user ana) has the cards of conftest.CARDS, Sprint 12 (2031-03-10 →
2031-03-17, capacity 40: WEB-1 3 pt, WEB-2 5, WEB-6 8 and WEB-7 5 done) and Sprint 13 (2031-03-18 →
2031-03-31: WEB-3 5, WEB-4 2); "today" is conftest.TODAY (2031-03-14). The burndown is of Sprint 3
on board OPS (workspace History): 2026-03-02 → 2026-03-13, wholly in the past, so the server's days
are fixed whatever the real date; its history is made through the API and each step's Change rows
dated to the step's day with SQL (as tests/server/test_sprints_burndown.py does), and the board's
"today" is the sprint's last day. Regenerate with `--snapshot-update` and look at them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from tests.support.api import Api
from tests.support.checks import sql
from tests.tui.conftest import CARDS, SIZE, seed_board
from tests.tui.test_board_snapshots import steady

pytestmark = pytest.mark.timeout(120)

BURNDOWN_DAY = date(2026, 3, 13)


@pytest.fixture(scope="module")
def boards(tui_server, database_url: str, tmp_path_factory: pytest.TempPathFactory):
    owner = Api.login(tui_server.url, "ana")
    seeded = seed_board(tui_server.url, owner, tmp_path_factory.mktemp("sprint-snapshots"), CARDS,
                        workspace_name="Sprints")
    for name, start, end, titles in (
            ("Sprint 12", "2031-03-10", "2031-03-17", [0, 1, 5, 6]),
            ("Sprint 13", "2031-03-18", "2031-03-31", [2, 3])):
        sprint = owner.ok("POST", f"/boards/{seeded.board['id']}/sprints",
                          json={"name": name, "start_date": start, "end_date": end})
        for index in titles:
            card = seeded.card(CARDS[index]["title"])
            owner.ok("PATCH", f"/cards/{card.id}", json={"sprint_id": sprint["id"]})

    ops = seed_board(tui_server.url, owner, tmp_path_factory.mktemp("burndown"), [], key="OPS",
                     workspace_name="History")
    workspace_id, board_id = ops.workspace["id"], ops.board["id"]
    sprint = owner.ok("POST", f"/boards/{board_id}/sprints",
                      json={"name": "Sprint 3", "start_date": "2026-03-02", "end_date": "2026-03-13",
                            "capacity_points": 30})
    minute = [0]

    def on(day: date, request) -> None:
        """Run `request()` and date the Change rows it wrote to `day`."""
        seq = lambda: sql(database_url, "select seq from workspaces where id = %s", workspace_id)[0][0]  # noqa: E731
        before = seq()
        request()
        for number in range(before + 1, seq() + 1):
            minute[0] += 1
            stamp = datetime.combine(day, time(8), UTC) + timedelta(minutes=minute[0])
            sql(database_url, "update changes set created_at = %s where workspace_id = %s and seq = %s",
                stamp, workspace_id, number)

    ids: dict[str, str] = {}

    def create(day: date, title: str, points: int) -> None:
        def request() -> None:
            ids[title] = owner.ok("POST", f"/boards/{board_id}/cards",
                                  json={"title": title, "points": points, "column": "Todo",
                                        "sprint_id": sprint["id"]})["id"]
        on(day, request)

    def done(day: date, title: str) -> None:
        on(day, lambda: owner.ok("POST", f"/cards/{ids[title]}/move", json={"column": "Done", "position": "top"}))

    day = lambda n: date(2026, 3, n)  # noqa: E731
    for title, points in (("Billing export", 5), ("Invoice PDFs", 8), ("Retry webhooks", 3), ("Tax rates", 5)):
        create(day(2), title, points)
    done(day(4), "Retry webhooks")
    create(day(6), "Refund flow", 5)  # scope grows mid-sprint
    done(day(9), "Billing export")
    on(day(10), lambda: owner.ok("PATCH", f"/cards/{ids['Invoice PDFs']}", json={"points": 5}))
    done(day(12), "Tax rates")
    return seeded, ops


def test_header_with_the_active_sprint(boards, open_app, snap_compare) -> None:
    """The board at 80x24 with `Sprint 12 · 5/21 pts of 40 · 3 days left` in green in the title bar
    after `WEB · Web  —  Sprints`, and `2 more ▶`; compact cards (no sprint names on them)."""
    seeded, _ = boards
    app = open_app(seeded)
    assert snap_compare(app, terminal_size=(80, 24), run_before=steady(app))


def test_cards_name_their_sprint(boards, open_app, snap_compare) -> None:
    """The board at 160x48: full cards, those in a sprint with its name on their bottom border
    (`╰─ Sprint 12 ───╯`: WEB-1, WEB-2, WEB-6, WEB-7; Sprint 13: WEB-3, WEB-4; WEB-5 none); the
    header's sprint; the footer with `S Sprint` and `b Burndown` at its end."""
    seeded, _ = boards
    app = open_app(seeded)
    assert snap_compare(app, terminal_size=SIZE, run_before=steady(app))


def test_sprint_picker(boards, open_app, snap_compare) -> None:
    """`S` over the dimmed board at 80x24: `No sprint filter` highlighted (no sprint is picked), then
    `Sprint 12 · 5/21 pts of 40 · 3 days left  (Mar 10 → Mar 17)` and `Sprint 13 · 0/7 pts of 40 ·
    starts in 4 days  (Mar 18 → Mar 31)`; the header's sprint and the footer stay."""
    seeded, _ = boards
    app = open_app(seeded)
    base = steady(app)

    async def run_before(pilot) -> None:
        await base(pilot)
        await pilot.press("S")

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_burndown_screen(boards, open_app, snap_compare) -> None:
    """`b` on OPS at 100x30: `Sprint 3 · burndown`, the header's line (`Sprint 3 · 13/23 pts of 30 ·
    last day`), `2026-03-13: 10 remaining of 23 (ideal 0), 13 done`, then the chart over 03-02 …
    03-13: scope (braille: 21, a step up to 26 on 03-06, down to 23 on 03-10), ideal (dots, 21 → 0)
    and remaining (21, 18 on 03-04, 23 on 03-06, 18 on 03-09, 15 on 03-10, 10 on 03-12); the
    footer `esc Back  q Quit  ? Help  r Sync`."""
    _, ops = boards
    app = open_app(ops, board="OPS", today=BURNDOWN_DAY)
    base = steady(app)

    async def run_before(pilot) -> None:
        await base(pilot)
        await pilot.press("b")
        screen = app.screen
        for _ in range(400):
            if getattr(screen, "days", None) is not None or getattr(screen, "problem", None) is not None:
                break
            await pilot.pause(0.05)
        assert screen.days is not None, screen.problem
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
