"""The burndown of a sprint against an independent replay of a scripted history.

The history is made through the real API (cards created, points changed, cards moved, added to
and removed from the sprint, deleted); each step's Change rows are then dated to the step's day
with SQL, as if the steps had happened on those days. The expected rows come from the script
itself — a model of the cards kept by this test, day by day — not from the change feed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tests.support.checks import problem, sql

TODAY = datetime.now(UTC).date()
START = TODAY - timedelta(days=6)
END = TODAY + timedelta(days=3)


@dataclass
class Model:
    """What this test believes each card is: points, in the sprint, done, deleted."""

    cards: dict[str, dict[str, Any]] = field(default_factory=dict)

    def set(self, name: str, **values: Any) -> None:
        self.cards.setdefault(name, {"points": 0, "sprint": False, "done": False, "deleted": False})
        self.cards[name].update(values)

    def totals(self) -> tuple[int, int]:
        live = [c for c in self.cards.values() if c["sprint"] and not c["deleted"]]
        return sum(c["points"] for c in live), sum(c["points"] for c in live if c["done"])


class History:
    """Runs steps through the API and dates their Change rows to a given day."""

    def __init__(self, api, database_url: str, workspace_id: str, board: dict, sprint: dict):
        self.api, self.database_url = api, database_url
        self.workspace_id, self.board, self.sprint = workspace_id, board, sprint
        self.ids: dict[str, str] = {}
        self.model = Model()
        self.expected_by_day: dict[date, tuple[int, int]] = {}
        self.minute = 0

    def seq(self) -> int:
        return sql(self.database_url, "select seq from workspaces where id = %s", self.workspace_id)[0][0]

    def on(self, day: date, request: Any) -> None:
        """Run `request()` and date the Changes it wrote to `day` (in order, a minute apart)."""
        before = self.seq()
        request()
        after = self.seq()
        assert after > before, "the step wrote no Change"
        for seq in range(before + 1, after + 1):
            self.minute += 1
            stamp = datetime.combine(day, time(8), UTC) + timedelta(minutes=self.minute)
            sql(self.database_url, "update changes set created_at = %s where workspace_id = %s and seq = %s",
                stamp, self.workspace_id, seq)

    def create(self, day: date, name: str, points: int, in_sprint: bool = True,
               column: str = "Todo") -> None:
        body = {"title": name, "points": points, "column": column}
        if in_sprint:
            body["sprint_id"] = self.sprint["id"]

        def request() -> None:
            self.ids[name] = self.api.ok("POST", f"/boards/{self.board['id']}/cards", json=body)["id"]
        self.on(day, request)
        self.model.set(name, points=points, sprint=in_sprint, done=column == "Done")

    def patch(self, day: date, name: str, body: dict[str, Any], **model: Any) -> None:
        self.on(day, lambda: self.api.ok("PATCH", f"/cards/{self.ids[name]}", json=body))
        self.model.set(name, **model)

    def move(self, day: date, name: str, column: str) -> None:
        self.on(day, lambda: self.api.ok("POST", f"/cards/{self.ids[name]}/move",
                                         json={"column": column, "position": "top"}))
        self.model.set(name, done=column == "Done")

    def delete(self, day: date, name: str) -> None:
        self.on(day, lambda: self.api.ok("DELETE", f"/cards/{self.ids[name]}"))
        self.model.set(name, deleted=True)

    def end_of(self, day: date) -> None:
        """The model's totals stand for the end of `day` (steps are scripted in day order)."""
        self.expected_by_day[day] = self.model.totals()


def expected_rows(history: History) -> list[dict[str, Any]]:
    """One row per day from START to TODAY: the totals at the end of the day (a day without
    steps keeps the day before's), and the ideal line from the first day's scope to 0 at END."""
    rows, totals = [], (0, 0)
    first_scope = history.expected_by_day.get(START, (0, 0))[0]
    length = (END - START).days
    day = START
    while day <= TODAY:
        totals = history.expected_by_day.get(day, totals)
        scope, completed = totals
        rows.append({"date": day.isoformat(), "scope_points": scope, "completed_points": completed,
                     "remaining_points": scope - completed,
                     "ideal_points": round(first_scope * (END - day).days / length, 2)})
        day += timedelta(days=1)
    return rows


def d(n: int) -> date:
    return START + timedelta(days=n)


def test_burndown_agrees_with_a_replay_of_the_history(api, database_url):
    ws = api.workspace()
    board = api.board(ws["id"], "BRN", "Burn")
    sprint = api.ok("POST", f"/boards/{board['id']}/sprints", json={
        "name": "Burn", "start_date": START.isoformat(), "end_date": END.isoformat()})
    following = api.ok("POST", f"/boards/{board['id']}/sprints", json={
        "name": "Next", "start_date": (END + timedelta(days=1)).isoformat(),
        "end_date": (END + timedelta(days=10)).isoformat()})
    h = History(api, database_url, ws["id"], board, sprint)

    # The day before the sprint: planned in already.
    h.create(d(-1), "early", 2)
    h.end_of(d(-1))
    # Day 0: the sprint's cards; one card stays out of it.
    h.create(d(0), "a", 3)
    h.create(d(0), "b", 5)
    h.create(d(0), "c", 2, column="In Progress")
    h.create(d(0), "outside", 8, in_sprint=False)
    h.end_of(d(0))
    # Day 1: points changed mid-sprint.
    h.patch(d(1), "a", {"points": 5}, points=5)
    h.end_of(d(1))
    # Day 2: a card added to the sprint (scope steps up), one done.
    h.patch(d(2), "outside", {"sprint_id": sprint["id"]}, sprint=True)
    h.move(d(2), "b", "Done")
    h.end_of(d(2))
    # Day 3: b reopened, c done.
    h.move(d(3), "b", "In Progress")
    h.move(d(3), "c", "Done")
    h.end_of(d(3))
    # Day 4: the added card removed again (to the next sprint); a card with its points cleared.
    h.patch(d(4), "outside", {"sprint_id": following["id"]}, sprint=False)
    h.patch(d(4), "early", {"points": None}, points=0)
    h.end_of(d(4))
    # Day 5: a card created in the sprint (deleted the next day).
    h.create(d(5), "fleeting", 13)
    h.end_of(d(5))
    # Day 6 (today): the new card deleted; a done; points changed outside the sprint.
    h.delete(d(6), "fleeting")
    h.move(d(6), "a", "Done")
    h.patch(d(6), "outside", {"points": 1}, points=1)
    h.end_of(d(6))

    burndown = api.ok("GET", f"/sprints/{sprint['id']}/burndown")
    assert burndown["sprint"]["id"] == sprint["id"]
    assert burndown["days"] == expected_rows(h)
    # steps: points 3→5, a card of 8 in and out, a card of 13 in and deleted
    assert [row["scope_points"] for row in burndown["days"]] == [12, 14, 22, 22, 12, 25, 12]
    assert [row["completed_points"] for row in burndown["days"]] == [0, 0, 5, 2, 2, 2, 7]
    # the last day agrees with the sprint's own totals
    last = burndown["days"][-1]
    assert (last["scope_points"], last["completed_points"]) == (
        burndown["sprint"]["committed_points"], burndown["sprint"]["completed_points"])


def test_burndown_before_the_start_and_after_the_end(api):
    ws = api.workspace()
    board = api.board(ws["id"], "FUT", "Future")
    future = api.ok("POST", f"/boards/{board['id']}/sprints", json={
        "name": "Later", "start_date": (TODAY + timedelta(days=2)).isoformat(),
        "end_date": (TODAY + timedelta(days=9)).isoformat()})
    assert api.ok("GET", f"/sprints/{future['id']}/burndown")["days"] == []
    past = api.ok("POST", f"/boards/{board['id']}/sprints", json={
        "name": "Earlier", "start_date": (TODAY - timedelta(days=20)).isoformat(),
        "end_date": (TODAY - timedelta(days=11)).isoformat()})
    api.ok("POST", f"/boards/{board['id']}/cards", json={"title": "x", "points": 4, "sprint_id": past["id"]})
    days = api.ok("GET", f"/sprints/{past['id']}/burndown")["days"]
    assert [row["date"] for row in days] == [
        (TODAY - timedelta(days=20 - i)).isoformat() for i in range(10)]  # stops at the end date
    # the card joined today, after the sprint's end: not in any of its days
    assert all(row["scope_points"] == 0 and row["ideal_points"] == 0 for row in days)
    problem(api.get(f"/sprints/{past['id']}/burndown", headers={"Authorization": "Bearer nope"}), 401)
