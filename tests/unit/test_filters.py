"""`taskly ls` filters and `taskly search`, on cached cards (wire JSON or CardOut)."""

from __future__ import annotations

import uuid

from taskly.cards.filters import search, select
from taskly_shared.models import CardOut

COL_A, COL_B, SPRINT = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
NOW = "2031-03-14T12:00:00+00:00"


def card(key: str, *, column_id: str = COL_A, labels=(), assignees=(), priority: str = "none",
         sprint_id: str | None = None, title: str = "", description: str = "") -> dict:
    return {"id": str(uuid.uuid4()), "key": key, "number": int(key.split("-")[1]), "board_id": str(uuid.uuid4()),
            "workspace_id": str(uuid.uuid4()), "title": title or f"title of {key}", "description": description,
            "column": "Todo", "column_id": column_id, "column_kind": "todo", "rank": "a0",
            "labels": list(labels), "priority": priority, "assignees": list(assignees), "sprint_id": sprint_id,
            "version": 1, "created_at": NOW, "updated_at": NOW}


CARDS = [
    card("WEB-1", labels=["bug", "UI"], assignees=["alice"], priority="high", sprint_id=SPRINT),
    card("WEB-2", labels=["bug"], assignees=["Bob", "carol"], priority="low"),
    card("WEB-3", column_id=COL_B, labels=["ui"], priority="urgent", sprint_id=SPRINT),
    card("WEB-4", column_id=COL_B),
]


def keys(cards) -> list[str]:
    return [c["key"] if isinstance(c, dict) else c.key for c in cards]


def test_no_filter_keeps_every_card_in_order():
    assert keys(select(CARDS)) == ["WEB-1", "WEB-2", "WEB-3", "WEB-4"]
    assert select([]) == []


def test_column():
    assert keys(select(CARDS, column_id=COL_B)) == ["WEB-3", "WEB-4"]
    assert select(CARDS, column_id=str(uuid.uuid4())) == []


def test_labels_must_all_match_in_any_case():
    assert keys(select(CARDS, labels=["BUG"])) == ["WEB-1", "WEB-2"]
    assert keys(select(CARDS, labels=["bug", "ui"])) == ["WEB-1"]
    assert keys(select(CARDS, labels=["ui"])) == ["WEB-1", "WEB-3"]
    assert select(CARDS, labels=["bug", "nope"]) == []


def test_assignees_match_any_in_any_case():
    assert keys(select(CARDS, assignees=["bob"])) == ["WEB-2"]
    assert keys(select(CARDS, assignees=["ALICE", "carol"])) == ["WEB-1", "WEB-2"]
    assert select(CARDS, assignees=["dave"]) == []


def test_priorities_match_any_in_any_case():
    assert keys(select(CARDS, priorities=["HIGH", "urgent"])) == ["WEB-1", "WEB-3"]
    assert keys(select(CARDS, priorities=["none"])) == ["WEB-4"]


def test_sprint():
    assert keys(select(CARDS, sprint_id=SPRINT)) == ["WEB-1", "WEB-3"]


def test_filters_combine():
    assert keys(select(CARDS, labels=["ui"], priorities=["urgent", "high"], column_id=COL_B)) == ["WEB-3"]
    assert select(CARDS, labels=["bug"], sprint_id=SPRINT, assignees=["bob"]) == []


def test_select_takes_iterables_once():
    assert keys(select(iter(CARDS), labels=iter(["bug"]))) == ["WEB-1", "WEB-2"]


def test_select_on_card_models_compares_uuids_and_enums_as_strings():
    models = [CardOut.model_validate(c) for c in CARDS]
    assert keys(select(models, column_id=COL_B, priorities=["urgent"])) == ["WEB-3"]
    assert keys(select(models, sprint_id=SPRINT, labels=["UI"])) == ["WEB-1", "WEB-3"]
    assert keys(select(models, assignees=["BOB"])) == ["WEB-2"]


SEARCHABLE = [CardOut.model_validate(c) for c in (
    card("WEB-1", title="Fix login redirect", description="Safari loops forever", labels=["auth"]),
    card("WEB-12", title="Dark mode", labels=["ui", "theme"]),
    card("API-3", title="Rate limits", description="Return 429 with Retry-After"),
)]


def test_search_every_word_in_any_field_any_case():
    assert keys(search(SEARCHABLE, "login")) == ["WEB-1"]
    assert keys(search(SEARCHABLE, "SAFARI fix")) == ["WEB-1"]
    assert keys(search(SEARCHABLE, "theme")) == ["WEB-12"]
    assert keys(search(SEARCHABLE, "api-3")) == ["API-3"]
    assert keys(search(SEARCHABLE, "retry-after 429")) == ["API-3"]


def test_search_words_are_substrings():
    assert keys(search(SEARCHABLE, "web-1")) == ["WEB-1", "WEB-12"]
    assert keys(search(SEARCHABLE, "log")) == ["WEB-1"]


def test_search_needs_every_word():
    assert search(SEARCHABLE, "login dark") == []


def test_an_empty_search_finds_nothing():
    assert search(SEARCHABLE, "") == []
    assert search(SEARCHABLE, "   \t") == []


# --- the filter grammar, sorting and the richer filters ------------------------------------------------

from datetime import UTC, date, datetime  # noqa: E402

import pytest  # noqa: E402
from taskly.cards.bulk import LabelChange, plan  # noqa: E402
from taskly.cards.filters import Where, choose, matches, order, parse  # noqa: E402
from taskly.core.errors import UsageError  # noqa: E402
from taskly.core.when import parse_day  # noqa: E402

TODAY = date(2031, 3, 14)


def dated(key: str, *, due=None, points=None, priority="none", kind="todo", updated="2031-03-01T00:00:00+00:00",
          created=NOW,
          title="", assignees=(), labels=(), column="Todo") -> dict:
    return {**card(key, priority=priority, assignees=assignees, labels=labels, title=title), "due": due,
            "points": points, "column_kind": kind, "column": column, "updated_at": updated, "created_at": created}


SORTABLE = [
    dated("WEB-1", due="2031-03-10", points=5, priority="low", title="beta", updated="2031-03-13T00:00:00+00:00",
          assignees=["maya"]),
    dated("WEB-2", due="2031-03-20", points=1, priority="urgent", title="Alpha", created="2031-03-01T00:00:00+00:00"),
    dated("WEB-3", priority="high", kind="done", column="Done", title="gamma"),
    dated("WEB-4", due="2031-03-12", points=8, kind="done", column="Done", title="delta",
          updated="2031-03-14T08:00:00+00:00"),
]


def test_parse_reads_every_term_and_keeps_the_rest_as_text():
    where = parse("label:bug col:'In Progress' @maya assignee:lee priority:high,URGENT sprint:current mine overdue "
                  "unassigned no-done due-before:+7d due-after:yesterday updated-since:-2w sort:-due limit:5 "
                  "login page", TODAY)
    assert where == Where(text="login page", labels=("bug",), columns=("In Progress",), assignees=("maya", "lee"),
                          priorities=("high", "urgent"), sprint="current", mine=True, overdue=True, unassigned=True,
                          no_done=True, due_before=date(2031, 3, 21), due_after=date(2031, 3, 13),
                          updated_since=datetime(2031, 2, 28, tzinfo=UTC), sort="due", desc=True, limit=5)
    assert parse(where.describe(), TODAY) == where  # describe() is the grammar again
    assert parse("fix: the thing https://x.io", TODAY).text == "fix: the thing https://x.io"
    assert not parse("", TODAY).active and parse("sort:due", TODAY).active is False


@pytest.mark.parametrize("text", ["lable:bug", "asignee:x", "prority:high", "priority:huge", "sort:size", "limit:0", "limit:x",
                                  "due-before:someday", "label:", "'unclosed"])
def test_parse_refuses_bad_terms_with_a_usage_error(text):
    with pytest.raises(UsageError):
        parse(text, TODAY)


def test_parse_day_forms():
    assert [parse_day(t, TODAY) for t in ("today", "tomorrow", "yesterday", "+3d", "-1w", "2031-01-02", "fri", "sat")
            ] == [TODAY, date(2031, 3, 15), date(2031, 3, 13), date(2031, 3, 17), date(2031, 3, 7),
                  date(2031, 1, 2), TODAY, date(2031, 3, 15)]
    with pytest.raises(UsageError, match="--due-before"):
        parse_day("soon", TODAY)


def test_the_richer_filters():
    def chosen(text: str) -> list[str]:
        return keys(choose(SORTABLE, parse(text, TODAY), me="maya", today=TODAY))

    assert chosen("overdue") == ["WEB-1"]  # WEB-4 is done
    assert chosen("due-before:2031-03-13") == ["WEB-1", "WEB-4"]
    assert chosen("due-after:2031-03-12") == ["WEB-2"]
    assert chosen("unassigned") == ["WEB-2", "WEB-3", "WEB-4"]
    assert chosen("no-done") == ["WEB-1", "WEB-2"]
    assert chosen("mine") == ["WEB-1"]
    assert chosen("updated-since:2031-03-14") == ["WEB-4"]
    assert chosen("column:done") == ["WEB-3", "WEB-4"]
    assert chosen("alpha") == ["WEB-2"]
    assert matches(SORTABLE[0], Where(), today=TODAY)


def test_sorting_keeps_board_order_among_equals_and_missing_values_last():
    def by(sort: str, desc: bool = False) -> list[str]:
        return keys(order(SORTABLE, sort, desc))

    assert by("due") == ["WEB-1", "WEB-4", "WEB-2", "WEB-3"]
    assert by("due", True) == ["WEB-2", "WEB-4", "WEB-1", "WEB-3"]
    assert by("points") == ["WEB-2", "WEB-1", "WEB-4", "WEB-3"]
    assert by("priority") == ["WEB-2", "WEB-3", "WEB-1", "WEB-4"]
    assert by("title") == ["WEB-2", "WEB-1", "WEB-4", "WEB-3"]  # any case
    assert by("key", True) == ["WEB-4", "WEB-3", "WEB-2", "WEB-1"]
    assert by("updated", True)[:2] == ["WEB-4", "WEB-1"]
    assert by("created")[0] == "WEB-2"
    assert keys(order(SORTABLE, None)) == ["WEB-1", "WEB-2", "WEB-3", "WEB-4"]
    assert keys(choose(SORTABLE, parse("sort:-points limit:2", TODAY))) == ["WEB-4", "WEB-1"]


def test_label_changes_set_add_and_remove_in_any_case():
    change = LabelChange.parse(["+triage", "-UI", "+Bug"])
    assert (change.set_to, change.add, change.remove) == (None, ("triage", "Bug"), ("UI",))
    assert change.applied(["bug", "ui"]) == ["bug", "triage"]
    assert LabelChange.parse(["a", "b", "+c", "-a"]).applied(["x"]) == ["b", "c"]
    assert LabelChange.parse([]).empty and not LabelChange.parse(["-x"]).empty


def test_plan_keeps_only_what_changes_and_says_it():
    cards = [dated("WEB-1", labels=["bug"], priority="high"), dated("WEB-2", labels=["ui"])]
    planned = plan(cards, {"priority": "high", "due": date(2031, 3, 20)}, labels=LabelChange.parse(["+bug"]))
    assert [(keys([p.card])[0], p.fields) for p in planned] == [
        ("WEB-1", {"due": date(2031, 3, 20)}),
        ("WEB-2", {"priority": "high", "due": date(2031, 3, 20), "labels": ["ui", "bug"]})]
    assert planned[1].summary == "priority none → high, due none → 2031-03-20, labels ui → ui, bug"
    moved = plan(cards, {"column": COL_B}, columns={COL_B: "Done"})
    assert [p.summary for p in moved] == ["column Todo → Done"] * 2
    assert plan(cards, {"column": COL_A}) == []  # already there
    assert [p.fields for p in plan(cards, {"deleted": True})] == [{"deleted": True}] * 2
    people = plan([dated("WEB-3", assignees=["maya", "lee"])], {}, people=LabelChange.parse(["-MAYA", "+bo"]))
    assert people[0].fields == {"assignees": ["lee", "bo"]}
    assert plan([dated("WEB-3", assignees=["maya"])], {}, assignees=("add", ["maya"])) == []
