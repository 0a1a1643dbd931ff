"""The board as the TUI models it: filters, card placement, move plans and the text for people."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from taskly.tui.model import (
    PRIORITIES,
    PRIORITY_GLYPHS,
    BoardModel,
    CardFilter,
    Clock,
    MovePlan,
    ago,
    card_key,
    due_text,
    initials,
    is_overdue,
    split_list,
)
from taskly.tui.views import BoardView, CardView

TODAY = date(2031, 3, 14)
COLUMNS = [("backlog", "Backlog", "backlog"), ("todo", "Todo", "todo"), ("doing", "Doing", "in_progress"),
           ("done", "Done", "done")]


def board(columns=COLUMNS) -> BoardView:
    return BoardView({"id": "b", "workspace_id": "w", "key": "WEB", "name": "Web",
                      "columns": [{"id": cid, "name": name, "kind": kind, "rank": f"a{i}"}
                                  for i, (cid, name, kind) in enumerate(columns)]})


def view(number: int, column: str, rank: str, **fields) -> CardView:
    kind = next(k for cid, _, k in COLUMNS if cid == column) if column in {c[0] for c in COLUMNS} else "todo"
    return CardView({"id": f"id{number}", "key": f"WEB-{number}", "number": number, "board_id": "b",
                     "workspace_id": "w", "title": f"card {number}", "column_id": column, "column": column,
                     "column_kind": kind, "rank": rank, **fields})


def model(*cards: CardView, me: str | None = "alice", card_filter: CardFilter | None = None) -> BoardModel:
    return BoardModel.build(board(), cards, me, card_filter)


def keys(cards) -> list[str]:
    return [c.key for c in cards]


def standard() -> BoardModel:
    """Backlog [], Todo [WEB-1, WEB-2, WEB-3], Doing [WEB-4], Done [WEB-5]."""
    return model(view(1, "todo", "a1", labels=["bug"], assignees=["alice"], priority="high"),
                 view(2, "todo", "a2", labels=["ui"], assignees=["bob"]),
                 view(3, "todo", "a3", labels=["Bug", "ui"], title="Login redirect", priority="urgent"),
                 view(4, "doing", "a1", assignees=["Alice", "lee"]),
                 view(5, "done", "a1"))


# --- CardFilter ---------------------------------------------------------------------------------------


def test_an_empty_filter_is_inactive_and_matches_everything():
    empty = CardFilter()
    assert not empty.active and empty.describe() == ""
    assert not CardFilter(text="   ").active
    assert all(empty.matches(card, None) for card in standard().all_cards())


@pytest.mark.parametrize("card_filter", [CardFilter(text="x"), CardFilter(labels=("a",)),
                                         CardFilter(assignees=("a",)), CardFilter(mine=True),
                                         CardFilter(priorities=("high",))])
def test_any_part_makes_the_filter_active(card_filter):
    assert card_filter.active


def test_describe_lists_the_parts_in_order():
    full = CardFilter(text=" login  ", labels=("bug", "ui"), assignees=("bob",), mine=True,
                      priorities=("high", "urgent"))
    assert full.describe() == '"login" · label bug · label ui · @bob · mine · priority high, urgent'
    assert CardFilter(mine=True).describe() == "mine"


def test_text_matches_every_word_in_key_title_description_labels():
    board_model = standard()
    web3 = board_model.card("id3")
    assert CardFilter(text="LOGIN").matches(web3, None)
    assert CardFilter(text="redirect web-3").matches(web3, None)
    assert CardFilter(text="bug ui").matches(web3, None)
    assert not CardFilter(text="login nope").matches(web3, None)


def test_labels_all_any_case():
    board_model = standard()
    assert [c.key for c in board_model.all_cards() if CardFilter(labels=("BUG",)).matches(c, None)] == [
        "WEB-1", "WEB-3"]
    assert [c.key for c in board_model.all_cards() if CardFilter(labels=("bug", "ui")).matches(c, None)] == [
        "WEB-3"]


def test_assignees_any_and_mine():
    cards = standard().all_cards()
    assert keys(c for c in cards if CardFilter(assignees=("BOB", "lee")).matches(c, "alice")) == [
        "WEB-2", "WEB-4"]
    assert keys(c for c in cards if CardFilter(mine=True).matches(c, "ALICE")) == ["WEB-1", "WEB-4"]
    assert keys(c for c in cards if CardFilter(mine=True, assignees=("bob",)).matches(c, "alice")) == [
        "WEB-1", "WEB-2", "WEB-4"]


def test_mine_without_knowing_me_matches_nothing():
    assert not any(CardFilter(mine=True).matches(c, None) for c in standard().all_cards())


def test_priorities_any():
    cards = standard().all_cards()
    assert keys(c for c in cards if CardFilter(priorities=("high", "urgent")).matches(c, None)) == [
        "WEB-1", "WEB-3"]
    assert keys(c for c in cards if CardFilter(priorities=("none",)).matches(c, None)) == [
        "WEB-2", "WEB-4", "WEB-5"]


def test_filter_parts_combine():
    cards = standard().all_cards()
    both = CardFilter(labels=("ui",), priorities=("urgent",))
    assert keys(c for c in cards if both.matches(c, None)) == ["WEB-3"]


@pytest.mark.parametrize(("text", "expected"), [
    ("bug, auth  ui", ("bug", "auth", "ui")),
    ("@maya,@lee", ("maya", "lee")),
    ("a a b a", ("a", "b")),
    ("", ()),
    (" ,, \t\n ", ()),
    ("@", ()),
    ("one", ("one",)),
])
def test_split_list(text, expected):
    assert split_list(text) == expected


# --- building and reading ---------------------------------------------------------------------------


def test_build_keeps_the_given_order_and_leaves_out_deleted_and_foreign_cards():
    board_model = model(view(2, "todo", "a2"), view(1, "todo", "a1"),
                        view(3, "todo", "a3", deleted_at="2031-03-01T00:00:00+00:00"),
                        view(4, "elsewhere", "a1"))
    assert board_model.column_ids() == ["backlog", "todo", "doing", "done"]
    assert keys(board_model.cards("todo")) == ["WEB-2", "WEB-1"]  # the cache's order, as given
    assert board_model.cards("backlog") == [] and board_model.cards("nope") == []
    assert board_model.locate("id3") is None and board_model.locate("id4") is None
    assert board_model.filter == CardFilter() and board_model.me == "alice"


def test_reading_cards_columns_and_labels():
    board_model = standard()
    assert keys(board_model.all_cards()) == ["WEB-1", "WEB-2", "WEB-3", "WEB-4", "WEB-5"]
    assert board_model.locate("id3") == ("todo", 2) and board_model.locate("nope") is None
    assert board_model.card("id4").key == "WEB-4" and board_model.card("nope") is None
    assert board_model.column("doing").name == "Doing" and board_model.column("nope") is None
    assert board_model.labels() == ["Bug", "bug", "ui"]  # both kept: case-insensitive, then exact
    other = model(view(1, "todo", "a1", labels=["zeta", "Alpha"]), view(2, "doing", "a2", labels=["beta", "zeta"]))
    assert other.labels() == ["Alpha", "beta", "zeta"]


def test_labels_differing_only_in_case_have_one_order():
    """The same order whatever the cards' order and the interpreter's hash seed (set order)."""
    import itertools
    import json
    import subprocess
    import sys

    labels = ["bug", "Bug", "BUG", "ui", "Ui", "alpha", "Alpha"]
    expected = ["Alpha", "alpha", "BUG", "Bug", "bug", "Ui", "ui"]
    for order in itertools.islice(itertools.permutations(labels), 0, 200, 7):
        cards = [view(i + 1, "todo", f"a{i}", labels=[label]) for i, label in enumerate(order)]
        assert model(*cards).labels() == expected
    script = ("import json, sys; from tests.unit.test_tui_model import model, view; "
              "labels = json.loads(sys.argv[1]); "
              "print(json.dumps(model(*[view(i + 1, 'todo', f'a{i}', labels=[x]) "
              "for i, x in enumerate(labels)]).labels()))")
    for seed in ("0", "1", "2", "3"):  # a set of strings iterates in the order of the hash seed
        result = subprocess.run([sys.executable, "-c", script, json.dumps(labels)], capture_output=True,
                                text=True, env={"PYTHONHASHSEED": seed, "PATH": ""}, timeout=60)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == expected, seed


def test_visible_applies_the_filter_and_returns_a_copy():
    board_model = standard()
    visible = board_model.visible("todo")
    visible.clear()
    assert keys(board_model.visible("todo")) == ["WEB-1", "WEB-2", "WEB-3"]
    filtered = board_model.with_filter(CardFilter(labels=("ui",)))
    assert keys(filtered.visible("todo")) == ["WEB-2", "WEB-3"]
    assert keys(filtered.cards("todo")) == ["WEB-1", "WEB-2", "WEB-3"]  # WIP limits count them all
    assert keys(filtered.visible("doing")) == []
    assert board_model.filter == CardFilter()


def test_build_with_a_filter():
    board_model = model(view(1, "todo", "a1", assignees=["alice"]), view(2, "todo", "a2"),
                        card_filter=CardFilter(mine=True))
    assert keys(board_model.visible("todo")) == ["WEB-1"]


# --- changing -------------------------------------------------------------------------------------


def test_remove():
    board_model = standard()
    assert board_model.remove("id2").key == "WEB-2"
    assert keys(board_model.cards("todo")) == ["WEB-1", "WEB-3"]
    assert board_model.locate("id3") == ("todo", 1)
    assert board_model.remove("id2") is None


def test_upsert_places_by_rank_then_id():
    board_model = standard()
    board_model.upsert(view(6, "todo", "a1V"))
    board_model.upsert(view(7, "todo", "a0"))
    board_model.upsert(view(8, "todo", "a9"))
    assert keys(board_model.cards("todo")) == ["WEB-7", "WEB-1", "WEB-6", "WEB-2", "WEB-3", "WEB-8"]
    board_model.upsert(view(0, "todo", "a2"))  # same rank as WEB-2: id0 < id2
    assert keys(board_model.cards("todo"))[3:5] == ["WEB-0", "WEB-2"]


def test_upsert_moves_a_changed_card():
    board_model = standard()
    board_model.upsert(view(1, "doing", "a2", title="changed"))
    assert keys(board_model.cards("todo")) == ["WEB-2", "WEB-3"]
    assert keys(board_model.cards("doing")) == ["WEB-4", "WEB-1"]
    assert board_model.card("id1").title == "changed" and board_model.locate("id1") == ("doing", 1)


def test_upsert_of_a_deleted_or_foreign_card_removes_it():
    board_model = standard()
    board_model.upsert(view(1, "todo", "a1", deleted_at="2031-03-01T00:00:00+00:00"))
    board_model.upsert(view(2, "other-board-column", "a1"))
    assert keys(board_model.cards("todo")) == ["WEB-3"]
    assert board_model.locate("id1") is None and board_model.locate("id2") is None


@pytest.mark.parametrize(("plan", "todo", "doing"), [
    (MovePlan("id3", "todo", before="id1"), ["WEB-3", "WEB-1", "WEB-2"], ["WEB-4"]),
    (MovePlan("id1", "todo", after="id2"), ["WEB-2", "WEB-1", "WEB-3"], ["WEB-4"]),
    (MovePlan("id1", "todo", after="id3"), ["WEB-2", "WEB-3", "WEB-1"], ["WEB-4"]),
    (MovePlan("id3", "todo", position="top"), ["WEB-3", "WEB-1", "WEB-2"], ["WEB-4"]),
    (MovePlan("id1", "todo", position="bottom"), ["WEB-2", "WEB-3", "WEB-1"], ["WEB-4"]),
    (MovePlan("id1", "todo"), ["WEB-2", "WEB-3", "WEB-1"], ["WEB-4"]),
    (MovePlan("id2", "doing", position="top"), ["WEB-1", "WEB-3"], ["WEB-2", "WEB-4"]),
    (MovePlan("id2", "doing", before="id4"), ["WEB-1", "WEB-3"], ["WEB-2", "WEB-4"]),
    (MovePlan("id2", "doing", after="id4"), ["WEB-1", "WEB-3"], ["WEB-4", "WEB-2"]),
    (MovePlan("id2", "doing", before="id1"), ["WEB-1", "WEB-3"], ["WEB-4", "WEB-2"]),  # not there: bottom
    (MovePlan("id2", "todo", before="id2"), ["WEB-1", "WEB-3", "WEB-2"], ["WEB-4"]),  # itself: bottom
])
def test_apply_a_move(plan, todo, doing):
    board_model = standard()
    board_model.apply(plan)
    assert keys(board_model.cards("todo")) == todo and keys(board_model.cards("doing")) == doing
    assert board_model.locate(plan.card_id)[0] == plan.column_id


def test_a_card_moved_to_another_column_shows_that_column():
    board_model = standard()
    original = board_model.card("id2")
    board_model.apply(MovePlan("id2", "done", position="top"))
    moved = board_model.card("id2")
    assert (moved.column_id, moved.column, moved.column_kind) == ("done", "Done", "done")
    assert (moved.title, moved.rank, moved.labels) == (original.title, original.rank, original.labels)
    assert (original.column_id, original.column_kind) == ("todo", "todo")  # a copy, the view is unchanged


def test_apply_of_an_unknown_card_or_column_changes_nothing_it_can_keep():
    board_model = standard()
    board_model.apply(MovePlan("nope", "todo", position="top"))
    assert keys(board_model.all_cards()) == ["WEB-1", "WEB-2", "WEB-3", "WEB-4", "WEB-5"]
    board_model.apply(MovePlan("id1", "nope"))  # the card leaves the board until the cache says more
    assert board_model.locate("id1") is None


# --- planning moves ---------------------------------------------------------------------------------


def test_column_steps_go_to_the_bottom_of_the_neighbour_column():
    board_model = standard()
    # to the bottom of the column, where `taskly mv CARD COLUMN` puts a card
    assert board_model.plan_column_step("id4", -1) == MovePlan("id4", "todo", position="bottom")
    assert board_model.plan_column_step("id4", 1) == MovePlan("id4", "done", position="bottom")
    assert board_model.plan_column_step("id1", -1) == MovePlan("id1", "backlog", position="bottom")
    assert board_model.plan_column_step("id5", 1) is None
    assert board_model.plan_column_step("nope", 1) is None
    board_model.apply(board_model.plan_column_step("id1", -1))
    assert board_model.plan_column_step("id1", -1) is None


def test_reorder_among_the_visible_cards():
    board_model = standard()
    assert board_model.plan_reorder("id2", -1) == MovePlan("id2", "todo", before="id1")
    assert board_model.plan_reorder("id2", 1) == MovePlan("id2", "todo", after="id3")
    assert board_model.plan_reorder("id1", -1) is None
    assert board_model.plan_reorder("id3", 1) is None
    assert board_model.plan_reorder("nope", 1) is None


def test_reorder_skips_hidden_cards():
    board_model = standard().with_filter(CardFilter(labels=("bug",)))
    assert board_model.plan_reorder("id1", 1) == MovePlan("id1", "todo", after="id3")
    assert board_model.plan_reorder("id3", -1) == MovePlan("id3", "todo", before="id1")
    assert board_model.plan_reorder("id2", 1) is None  # hidden itself


def test_plan_done_goes_to_the_first_done_column():
    board_model = standard()
    assert board_model.plan_done("id1") == MovePlan("id1", "done", position="top")
    assert board_model.plan_done("id5") is None
    assert board_model.plan_done("nope") is None
    no_done = BoardModel.build(board(COLUMNS[:3]), [view(1, "todo", "a1")])
    assert no_done.plan_done("id1") is None
    two_done = BoardModel.build(board([*COLUMNS, ("archive", "Archive", "done")]), [view(1, "todo", "a1")])
    assert two_done.plan_done("id1").column_id == "done"


def test_plan_drop():
    board_model = standard()
    assert board_model.plan_drop("id4", "todo", 0) == MovePlan("id4", "todo", before="id1")
    assert board_model.plan_drop("id4", "todo", 2) == MovePlan("id4", "todo", before="id3")
    assert board_model.plan_drop("id4", "todo", 3) == MovePlan("id4", "todo", after="id3")
    assert board_model.plan_drop("id4", "todo", 99) == MovePlan("id4", "todo", after="id3")
    assert board_model.plan_drop("id4", "todo", -5) == MovePlan("id4", "todo", before="id1")
    assert board_model.plan_drop("id1", "backlog", 0) == MovePlan("id1", "backlog", position="bottom")
    assert board_model.plan_drop("id4", "doing", 0) == MovePlan("id4", "doing", position="bottom")
    assert board_model.plan_drop("nope", "todo", 0) is None
    assert board_model.plan_drop("id1", "nope", 0) is None


def test_plan_drop_within_its_own_column_ignores_itself():
    board_model = standard()
    assert board_model.plan_drop("id1", "todo", 1) == MovePlan("id1", "todo", before="id3")
    assert board_model.plan_drop("id1", "todo", 2) == MovePlan("id1", "todo", after="id3")


def test_plan_drop_counts_visible_cards_only():
    board_model = standard().with_filter(CardFilter(labels=("ui",)))
    assert board_model.plan_drop("id4", "todo", 1) == MovePlan("id4", "todo", before="id3")
    assert board_model.plan_drop("id4", "todo", 2) == MovePlan("id4", "todo", after="id3")


def test_planned_moves_applied_give_the_expected_order():
    board_model = standard()
    board_model.apply(board_model.plan_reorder("id3", -1))  # each plan from the state the last one left
    assert keys(board_model.cards("todo")) == ["WEB-1", "WEB-3", "WEB-2"]
    board_model.apply(board_model.plan_reorder("id3", -1))
    assert keys(board_model.cards("todo")) == ["WEB-3", "WEB-1", "WEB-2"]


# --- text for people ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("username", "expected"), [
    ("maya", "MA"), ("lee.chen", "LC"), ("Lee_chen", "LC"), ("anne-marie smith", "AM"), ("a", "A"),
    ("x.y.z", "XY"), ("", ""), ("Bo", "BO"),
])
def test_initials(username, expected):
    assert initials(username) == expected


@pytest.mark.parametrize(("due", "expected"), [
    (TODAY, "today"),
    (TODAY + timedelta(days=1), "tomorrow"),
    (date(2031, 11, 25), "Nov 25"),
    (date(2031, 4, 5), "Apr 5"),
    (date(2031, 3, 13), "Mar 13"),
    (date(2031, 1, 1), "Jan 1"),
    (date(2032, 1, 5), "2032-01-05"),
    (date(2030, 12, 31), "2030-12-31"),
])
def test_due_text(due, expected):
    assert due_text(due, TODAY) == expected


def test_due_text_tomorrow_across_the_new_year():
    assert due_text(date(2032, 1, 1), date(2031, 12, 31)) == "tomorrow"


def test_is_overdue():
    assert is_overdue(view(1, "todo", "a1", due="2031-03-13"), TODAY)
    assert not is_overdue(view(1, "todo", "a1", due="2031-03-14"), TODAY)
    assert not is_overdue(view(1, "todo", "a1"), TODAY)
    assert not is_overdue(view(1, "done", "a1", due="2031-03-01"), TODAY)


NOW = datetime(2031, 3, 14, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("delta", "expected"), [
    (timedelta(0), "just now"),
    (timedelta(seconds=59), "just now"),
    (timedelta(seconds=60), "1 min ago"),
    (timedelta(minutes=59, seconds=59), "59 min ago"),
    (timedelta(hours=1), "1 h ago"),
    (timedelta(hours=23, minutes=59), "23 h ago"),
    (timedelta(days=1), "1 d ago"),
    (timedelta(days=29, hours=23), "29 d ago"),
    (timedelta(days=30), "2031-02-12"),
    (timedelta(seconds=-30), "just now"),
])
def test_ago(delta, expected):
    assert ago(NOW - delta, NOW) == expected


def test_ago_takes_naive_times_as_utc_and_respects_offsets():
    assert ago(datetime(2031, 3, 14, 11, 0), NOW) == "1 h ago"
    assert ago(datetime(2031, 3, 14, 13, 0, tzinfo=timezone(timedelta(hours=2))), NOW) == "1 h ago"


def test_card_key_of_a_card_created_offline():
    from taskly.core.render import handle

    assert card_key(view(3, "todo", "a1")) == card_key(view(3, "todo", "a1"), "WEB") == "WEB-3"
    offline = CardView({"id": "3F2A9C1B-0000-4000-8000-000000000001", "key": "", "board_id": "b",
                        "workspace_id": "w", "title": "t", "column_id": "todo"})
    assert card_key(offline, "WEB") == "WEB-?3f2a9c1b" == f"WEB-?{handle(offline.id)}"  # as `taskly ls`
    assert card_key(offline) == "3f2a9c1b"


def test_clock_and_priorities():
    clock = Clock(today=lambda: TODAY, now=lambda: NOW)
    assert (clock.today(), clock.now()) == (TODAY, NOW)
    assert Clock().now().tzinfo is UTC
    assert set(PRIORITY_GLYPHS) == set(PRIORITIES) and PRIORITY_GLYPHS["none"] == ""
