"""The pure parts of sprints: status and points from the cache, the cache's sprint writes (appliers,
builders, a pushed answer and a pulled change), date options, the chart, the demo's history plan
and the server's demo-history plan check."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from taskly.core import sprints
from taskly.core.errors import NotFound, UsageError
from taskly.demo import sprint as demo_sprint
from taskly.sprints.actions import sprint_date
from taskly.sprints.render import chart
from taskly.store import Store
from taskly.store.ops import apply
from taskly.sync.writes import (
    card_update,
    find_sprint,
    sprint_close,
    sprint_create,
    sprint_delete,
    sprint_update,
)
from taskly_server.demo_history import HistoryError, parse_plan, run
from taskly_server.settings import Settings
from taskly_shared.models import (
    BurndownDay,
    CardPatch,
    ChangeOut,
    SprintClose,
    SprintCreate,
    SprintPatch,
)

WS, BOARD, TODO, DONE = (str(uuid.uuid4()) for _ in range(4))
NOW = "2031-03-14T12:00:00+00:00"
TODAY = date(2031, 3, 14)


def sprint(name: str = "S1", start: str = "2031-03-10", end: str = "2031-03-23", **fields) -> dict:
    return {"id": str(uuid.uuid4()), "board_id": BOARD, "workspace_id": WS, "name": name, "start_date": start,
            "end_date": end, "goal": None, "capacity_points": 10, "status": "planned", "overdue": False,
            "closed_at": None, "card_count": 0, "committed_points": 0, "completed_points": 0,
            "remaining_points": 0, "over_capacity": False, "version": 1, "created_at": NOW, "updated_at": NOW,
            "deleted_at": None, **fields}


def card(sprint_id: str | None, points: int | None, kind: str = "todo", **fields) -> dict:
    return {"id": str(uuid.uuid4()), "sprint_id": sprint_id, "points": points, "column_kind": kind,
            "deleted_at": None, **fields}


# --- status and points ---------------------------------------------------------------------------


def test_status_follows_the_dates_until_closed() -> None:
    s = sprint()
    assert sprints.status(s, date(2031, 3, 9)) == "planned"
    assert sprints.status(s, date(2031, 3, 10)) == "active" and not sprints.overdue(s, date(2031, 3, 23))
    assert sprints.status(s, date(2031, 3, 30)) == "active" and sprints.overdue(s, date(2031, 3, 30))
    closed = {**s, "closed_at": NOW}
    assert sprints.status(closed, TODAY) == "completed" and not sprints.overdue(closed, date(2031, 4, 1))
    assert sprints.days_left(s, TODAY) == 9 and sprints.days_left(s, date(2031, 4, 1)) == 0


def test_current_is_the_open_sprint_that_started_last() -> None:
    old = sprint("Old", "2031-02-01", "2031-02-14")  # overdue, still open
    now = sprint("Now", "2031-03-10", "2031-03-23")
    later = sprint("Later", "2031-03-24", "2031-04-06")
    closed = sprint("Closed", "2031-03-12", "2031-03-13", closed_at=NOW)
    assert sprints.current([later, old, now, closed], TODAY)["name"] == "Now"
    assert sprints.current([later, old], TODAY)["name"] == "Old"
    assert sprints.current([later, {**now, "deleted_at": NOW}], TODAY) is None


def test_named_finds_a_sprint_by_name_or_id_and_current_or_none_the_active_one() -> None:
    now = sprint("Now", "2031-03-10", "2031-03-23")
    later = sprint("Later 漢字", "2031-03-24", "2031-04-06")
    known = [now, later]
    for ref in (None, "", " current ", "CURRENT", "now", now["id"].upper()):
        assert sprints.named(known, ref, TODAY) is now, ref
    assert sprints.named(known, " later 漢字", TODAY) is later
    assert sprints.named(known, "nope", TODAY) is None and sprints.named([later], None, TODAY) is None


def test_overlapping_finds_an_open_sprint_sharing_a_day() -> None:
    now = sprint("Now", "2031-03-10", "2031-03-23")
    closed = sprint("Closed", "2031-03-24", "2031-03-30", closed_at=NOW)
    assert sprints.overlapping([now, closed], date(2031, 3, 23), date(2031, 3, 25))["name"] == "Now"
    assert sprints.overlapping([now, closed], date(2031, 3, 24), date(2031, 3, 25)) is None
    assert sprints.overlapping([now], date(2031, 3, 1), date(2031, 3, 9)) is None
    assert sprints.overlapping([now], date(2031, 3, 1), date(2031, 3, 30), exclude=now["id"]) is None


def test_stats_count_the_live_cards_of_the_sprint() -> None:
    s = sprint()
    cards = [card(s["id"], 3), card(s["id"], 5, "done"), card(s["id"], None), card(s["id"], 8, deleted_at=NOW),
             card(None, 13), card(str(uuid.uuid4()), 2)]
    assert sprints.stats(s, cards) == {"card_count": 3, "committed_points": 8, "completed_points": 5,
                                       "remaining_points": 3, "over_capacity": False}
    cards.append(card(s["id"], 5))
    shown = sprints.with_stats(s, cards, TODAY)
    assert (shown["status"], shown["committed_points"], shown["over_capacity"]) == ("active", 13, True)
    assert sprints.overflow_note(s, cards) == "sprint S1 is over capacity by 3 points: 13 committed, capacity 10"
    assert sprints.overflow_note({**s, "capacity_points": 13}, cards) is None
    assert "by 1 point:" in sprints.overflow_note({**s, "capacity_points": 12}, cards)
    assert sprints.overflow({**s, "capacity_points": None}, 41) == 1  # the default capacity, 40


def test_sprint_dates_accept_relative_days_and_refuse_none() -> None:
    assert sprint_date("today", "--start", TODAY) == TODAY
    assert sprint_date("+2w", "--end", TODAY) == TODAY + timedelta(days=14)
    assert sprint_date("2026-12-21", "--end", TODAY) == date(2026, 12, 21)
    with pytest.raises(UsageError, match="--start 'someday'"):
        sprint_date("someday", "--start", TODAY)
    with pytest.raises(UsageError, match="--end needs a date"):
        sprint_date("none", "--end", TODAY)


# --- the cache ----------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "cache.sqlite3", server_url="http://127.0.0.1:1", user="alice")
    with store.transaction() as tx:
        tx.put_board({"id": BOARD, "workspace_id": WS, "name": "Web", "key": "WEB", "archived": False,
                      "version": 1, "created_at": NOW, "updated_at": NOW,
                      "columns": [{"id": TODO, "board_id": BOARD, "name": "Todo", "kind": "todo", "rank": "a0",
                                   "version": 1}]})
    yield store
    store.close()


def write(store: Store, op) -> dict | None:
    with store.transaction() as tx:
        state = tx.apply(op)
        tx.outbox.add(op)
    return state


def test_a_sprint_created_offline_is_cached_and_queued(store: Store) -> None:
    data = SprintCreate(name="S1", start_date=date(2031, 3, 10), end_date=date(2031, 3, 23), goal="Ship")
    with store.transaction() as tx:
        op = sprint_create(tx, "WEB", data)
    assert (op.operation, op.method, op.path) == ("sprint.create", "POST", f"/boards/{BOARD}/sprints")
    assert op.payload == {"id": op.entity_id, "name": "S1", "start_date": "2031-03-10", "end_date": "2031-03-23",
                          "goal": "Ship"}
    write(store, op)
    cached = store.sprints_json(board_id=BOARD)
    assert [(s["name"], s["capacity_points"], s["version"], s["workspace_id"]) for s in cached] == [
        ("S1", 40, 0, WS)]
    assert store.is_pending(op.entity_id) and store.entities("sprint", WS) == cached
    with pytest.raises(NotFound), store.transaction() as tx:
        sprint_create(tx, "NOPE", data)


def test_sprint_edits_close_and_delete_apply_at_once(store: Store) -> None:
    with store.transaction() as tx:
        tx.put("sprint", {k: v for k, v in sprint().items() if k != "workspace_id"}, WS)
    cached = store.sprints_json()[0]
    op = sprint_update(cached, SprintPatch(capacity_points=30, goal=None))
    assert (op.path, op.payload, op.base_version, op.body()) == (
        f"/sprints/{cached['id']}", {"capacity_points": 30, "goal": None}, 1,
        {"capacity_points": 30, "goal": None, "base_version": 1})
    assert write(store, op)["capacity_points"] == 30
    closed = write(store, sprint_close(store, cached, SprintClose(carry_over_to=None)))
    assert closed["closed_at"] == closed["updated_at"] and closed["status"] == "completed"
    assert apply(closed, sprint_close(store, cached, SprintClose()))["closed_at"] == closed["closed_at"]
    gone = sprint_delete(store.sprint_json(cached["id"]))
    assert (gone.method, gone.payload) == ("DELETE", None)
    write(store, gone)
    assert store.sprints_json() == [] and store.sprint_json(cached["id"])["deleted_at"]
    with pytest.raises(NotFound):
        find_sprint(store, cached["id"])
    # the server refuses the close: undone, the edit before it stays
    with store.transaction() as tx:
        entries = store.outbox.pending()
        tx.reject(entries[2], "nope", "conflict")
        tx.reject(entries[1], "already closed", "conflict")
    again = store.sprint_json(cached["id"])
    assert again["closed_at"] is None and again["deleted_at"] is None and again["capacity_points"] == 30


def test_an_offline_close_carries_its_unfinished_cards_at_once_and_the_server_settles_them(
        store: Store) -> None:
    s1, s2, s3 = sprint("S1"), sprint("S2", "2031-03-24", "2031-04-06"), sprint("S3", "2031-04-07", "2031-04-20")

    def cached_card(number: int, sprint_id: str | None, column: str = TODO, **fields) -> dict:
        return {"id": str(uuid.uuid4()), "key": f"WEB-{number}", "number": number, "board_id": BOARD,
                "workspace_id": WS, "title": f"Card {number}", "column_id": column, "rank": f"a{number}",
                "sprint_id": sprint_id, "version": 1, "deleted_at": None, "updated_at": NOW, **fields}

    # open: 1, 4 (in S1); done: 2 (in S1); elsewhere: 3 (no sprint); 5 joins S1 after the close is queued
    one, done, other, four, five = (cached_card(1, s1["id"]), cached_card(2, s1["id"], DONE),
                                    cached_card(3, None), cached_card(4, s1["id"]), cached_card(5, None))
    with store.transaction() as tx:
        tx.put_column({"id": DONE, "board_id": BOARD, "name": "Done", "kind": "done", "rank": "a1",
                       "version": 1}, WS)
        for entity in (s1, s2, s3):
            tx.put("sprint", entity, WS)
        for entity in (one, done, other, four, five):
            tx.put("card", entity, WS)
    with store.transaction() as tx:
        op = sprint_close(tx, find_sprint(tx, s1["id"]), SprintClose(carry_over_to=s2["id"]))
    assert sorted(op.local["cards"]) == sorted([one["id"], four["id"]]) and op.payload == {"carry_over_to": s2["id"]}
    write(store, op)

    def sprint_of(card: dict) -> str | None:
        return store.card_json(card["id"])["sprint_id"]

    # at once: the sprint closed and its unfinished cards in S2, pending; one outbox entry
    assert store.sprint_json(s1["id"])["closed_at"] and store.outbox.count() == 1
    assert [sprint_of(c) for c in (one, done, other, four)] == [s2["id"], s1["id"], None, s2["id"]]
    assert [store.is_pending(c["id"]) for c in (one, done, other, four)] == [True, False, False, True]
    assert ("card", one["id"]) in store.outbox.pending_entities(WS)
    assert [e.mutation_id for e in store.outbox.pending_for(four["id"])] == [op.mutation_id]
    # a change pulled before the answer replays the close on the server's state (and a later card write)
    write(store, card_update(store, store.card_json(one["id"]), CardPatch(title="Mine")))
    renamed = ChangeOut(seq=3, workspace_id=WS, entity_type="card", entity_id=one["id"], op="update", version=2,
                        data={**one, "version": 2, "points": 3}, actor={"type": "user", "name": "bob"},
                        created_at=NOW)
    with store.transaction() as tx:
        assert tx.apply_change(renamed)
    seen = store.card_json(one["id"])
    assert (seen["sprint_id"], seen["title"], seen["points"]) == (s2["id"], "Mine", 3)
    joined = ChangeOut(seq=4, workspace_id=WS, entity_type="card", entity_id=five["id"], op="update", version=2,
                       data={**five, "version": 2, "sprint_id": s1["id"]}, actor={"type": "user", "name": "bob"},
                       created_at=NOW)
    with store.transaction() as tx:
        assert tx.apply_change(joined)
    assert sprint_of(five) == s1["id"]
    # the server's answer wins: it carried 1 and 5 to S3 (another client's close said so), not 4 (finished)
    answer = {"sprint": {**s1, "version": 2, "status": "completed", "closed_at": NOW},
              "carried_over": ["WEB-1", "WEB-5"], "carry_over_to": {**s3, "version": 1}}
    with store.transaction() as tx:
        tx.confirm(store.outbox.pending()[0], answer)
    assert [sprint_of(c) for c in (one, done, other, four, five)] == [s3["id"], s1["id"], None, s1["id"], s3["id"]]
    assert not store.is_pending(four["id"]) and store.is_pending(one["id"])  # its title is still queued
    assert store.outbox.count() == 1 and store.card_json(one["id"])["title"] == "Mine"
    assert store.sprint_json(s1["id"])["version"] == 2 and not store.is_pending(s1["id"])
    # then the feed brings the cards as the server moved them: the same, nothing replayed twice
    moved = ChangeOut(seq=5, workspace_id=WS, entity_type="card", entity_id=five["id"], op="update", version=3,
                      data={**five, "version": 3, "sprint_id": s3["id"]}, actor={"type": "user", "name": "alice"},
                      created_at=NOW)
    with store.transaction() as tx:
        assert tx.apply_change(moved)
    assert sprint_of(five) == s3["id"] and store.card_json(five["id"])["version"] == 3


def test_a_refused_close_puts_its_cards_back(store: Store) -> None:
    s1, s2 = sprint("S1"), sprint("S2", "2031-03-24", "2031-04-06")
    card_id = str(uuid.uuid4())
    with store.transaction() as tx:
        tx.put("sprint", s1, WS)
        tx.put("sprint", s2, WS)
        tx.put("card", {"id": card_id, "key": "WEB-1", "number": 1, "board_id": BOARD, "workspace_id": WS,
                        "column_id": TODO, "rank": "a1", "sprint_id": s1["id"], "version": 1}, WS)
    with store.transaction() as tx:
        op = sprint_close(tx, find_sprint(tx, s1["id"]), SprintClose(carry_over_to=None))
    write(store, op)
    assert store.card_json(card_id)["sprint_id"] is None and store.is_pending(card_id)
    with store.transaction() as tx:
        tx.reject(store.outbox.pending()[0], "already closed", "conflict")
    assert store.card_json(card_id)["sprint_id"] == s1["id"] and not store.is_pending(card_id)
    assert store.sprint_json(s1["id"])["closed_at"] is None


def test_pushed_and_pulled_sprints_replace_the_local_state(store: Store) -> None:
    with store.transaction() as tx:
        op = sprint_create(tx, BOARD, SprintCreate(name="S1", start_date=date(2031, 3, 10),
                                                   end_date=date(2031, 3, 23)))
    write(store, op)
    answer = {**sprint(), "id": op.entity_id, "status": "active"}
    answer.pop("workspace_id")
    with store.transaction() as tx:
        tx.confirm(store.outbox.pending()[0], answer)
    assert not store.is_pending(op.entity_id) and store.sprint_json(op.entity_id)["version"] == 1
    deleted = ChangeOut(seq=5, workspace_id=WS, entity_type="sprint", entity_id=op.entity_id, op="delete",
                        version=2, data={**answer, "version": 2, "deleted_at": NOW},
                        actor={"type": "user", "name": "bob"}, created_at=NOW)
    with store.transaction() as tx:
        assert tx.apply_change(deleted)
    assert store.sprints_json() == [] and store.cursor(WS) == 5
    # a delete answered 204 (no body) drops the sprint from the cache
    with store.transaction() as tx:
        tx.put("sprint", {**answer, "id": str(uuid.uuid4()), "name": "S2"}, WS)
    other = store.sprints_json()[0]
    write(store, sprint_delete(other))
    with store.transaction() as tx:
        tx.confirm(store.outbox.pending()[0], None)
    assert store.sprint_json(other["id"]) is None


# --- the chart and the demo's history --------------------------------------------------------------


def test_the_chart_draws_three_lines_with_their_legend() -> None:
    days = [BurndownDay(date=date(2031, 3, 10) + timedelta(days=i), remaining_points=20 - 3 * i,
                        completed_points=3 * i, scope_points=20, ideal_points=20 - 20 * i / 13) for i in range(5)]
    text = chart("S1 burndown", days, width=60, height=15, color=False)
    lines = text.splitlines()
    assert "S1 burndown" in lines[0] and "\x1b" not in text and len(lines) <= 15
    assert all(name in text for name in ("remaining", "ideal", "scope")) and "03-10" in text


def test_the_demo_sprint_plan() -> None:
    start, end = demo_sprint.dates(TODAY)
    assert (TODAY - start).days == 8 and (end - start).days == 13
    created = {plan.title: (str(uuid.uuid4()), 8) for plan in demo_sprint.PLAN}
    found = demo_sprint.events(created)
    assert [e.day for e in found] == sorted(e.day for e in found) and found[0].action == "done"
    assert {e.action for e in found} == {"join", "points", "done"}
    first = demo_sprint.first_state("Set up a staging environment", "Done", 5, "S")
    assert first == {"column": "In Review", "points": 5, "sprint_id": "S"}
    assert demo_sprint.first_state("Upgrade the Postgres driver", "Todo", 2, "S")["sprint_id"] is None
    assert demo_sprint.first_state("Dark mode for the dashboard", "Backlog", 5, "S") == {
        "column": "Backlog", "points": 5}


def test_demo_history_plans_are_checked() -> None:
    ws = str(uuid.uuid4())
    at = datetime(2031, 3, 10, 9, tzinfo=UTC)
    found = parse_plan(f'{{"workspace_id": "{ws}", "changes": [{{"seq": 3, "created_at": "{at.isoformat()}"}},'
                       f' {{"seq": 2, "created_at": "{at.isoformat()}"}}]}}')
    assert found == (uuid.UUID(ws), [(2, at), (3, at)])
    with pytest.raises(HistoryError, match="time zone"):
        parse_plan(f'{{"workspace_id": "{ws}", "changes": [{{"seq": 1, "created_at": "2031-03-10T09:00:00"}}]}}')
    with pytest.raises(HistoryError, match="before"):
        parse_plan(f'{{"workspace_id": "{ws}", "changes": [{{"seq": 1, "created_at": "2031-03-11T09:00:00Z"}},'
                   f' {{"seq": 2, "created_at": "2031-03-10T09:00:00Z"}}]}}')
    with pytest.raises(HistoryError, match="not a plan"):
        parse_plan("[]")


def test_demo_history_runs_only_on_a_dev_login_server(capsys: pytest.CaptureFixture[str]) -> None:
    def prepare(_: Settings) -> Settings:
        raise AssertionError("the database was opened")

    assert run(Settings(dev_login=False), '{"workspace_id": "x", "changes": []}', prepare) == 2
    assert "TASKLY_DEV_LOGIN" in capsys.readouterr().err
    assert run(Settings(dev_login=True), "not json", prepare) == 2
