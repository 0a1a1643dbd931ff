"""The small parsers of the CLI's resolvers: due dates, priorities, card fields, choice lists."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from taskly.cards.resolve import card_fields, due_date, priority
from taskly.core.errors import UsageError
from taskly.core.resolve import choices

TODAY = date(2031, 3, 14)


@pytest.mark.parametrize(("text", "expected"), [
    ("2031-04-01", date(2031, 4, 1)),
    ("  2024-02-29 ", date(2024, 2, 29)),
    ("today", TODAY),
    ("TODAY", TODAY),
    ("tomorrow", date(2031, 3, 15)),
    (" Tomorrow ", date(2031, 3, 15)),
    ("+0d", TODAY),
    ("+3d", date(2031, 3, 17)),
    ("+3", date(2031, 3, 17)),
    ("+18d", date(2031, 4, 1)),
    ("+2w", date(2031, 3, 28)),
    ("+2W", date(2031, 3, 28)),
    ("+9999d", TODAY + timedelta(days=9999)),
    ("+0052w", TODAY + timedelta(weeks=52)),
])
def test_due_date_forms(text, expected):
    assert due_date(text, TODAY) == expected


@pytest.mark.parametrize("text", ["none", "NONE", "-", "", "   "])
def test_due_date_clears(text):
    assert due_date(text, TODAY) is None


def test_due_date_relative_to_the_real_today_by_default():
    assert due_date("today") == date.today()


def test_relative_due_dates_cross_month_and_year_ends():
    assert due_date("tomorrow", date(2031, 12, 31)) == date(2032, 1, 1)
    assert due_date("+1w", date(2032, 2, 25)) == date(2032, 3, 3)


@pytest.mark.parametrize("text", ["yesterday", "+3m", "-3d", "+d", "+10000d", "+ 3d", "3d", "2031-02-30",
                                  "2031-13-01", "14/03/2031", "next week", "+3dw"])
def test_due_date_refuses_other_text(text):
    with pytest.raises(UsageError) as error:
        due_date(text, TODAY)
    assert error.value.message == f"--due {text!r}: use YYYY-MM-DD, today, tomorrow, +3d or +2w"


@pytest.mark.parametrize("value", ["none", "low", "medium", "high", "urgent"])
def test_priority_names(value):
    assert priority(value) == value
    assert priority(f" {value.upper()} ") == value


def test_unknown_priority_lists_the_valid_ones():
    with pytest.raises(UsageError) as error:
        priority("critical")
    assert error.value.message == "unknown priority 'critical' (valid: none, low, medium, high, urgent)"


def test_card_fields_returns_valid_values_unchanged():
    values = {"title": "ok", "points": 3, "due": "2031-04-01", "labels": ["a"], "priority": "high"}
    assert card_fields(values) is values
    assert card_fields({}) == {}


@pytest.mark.parametrize(("values", "problem"), [
    ({"points": 100}, "points: Input should be less than or equal to 99"),
    ({"points": -1}, "points: Input should be greater than or equal to 0"),
    ({"title": "   "}, "title: String should have at least 1 character"),
    ({"priority": "critical"}, "priority: Input should be 'none', 'low', 'medium', 'high' or 'urgent'"),
    ({"color": "red"}, "color: Extra inputs are not permitted"),
    ({"labels": ["ok", ""]}, "labels.1: String should have at least 1 character"),
    ({"recurrence_interval": 0}, "recurrence_interval: Input should be greater than or equal to 1"),
])
def test_card_fields_name_each_problem(values, problem):
    with pytest.raises(UsageError) as error:
        card_fields(values)
    assert error.value.message == f"invalid card fields: {problem}"


def test_card_fields_report_every_problem():
    with pytest.raises(UsageError) as error:
        card_fields({"points": 100, "color": "red"})
    assert error.value.message.count("; ") == 1
    assert "points:" in error.value.message and "color:" in error.value.message


def test_choices():
    assert choices([]) == ""
    assert choices(["Todo"]) == " (valid: Todo)"
    assert choices(["a", "b"], "known") == " (known: a, b)"
