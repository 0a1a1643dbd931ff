"""`--remind WHEN` parsing in the user's time zone, and the next due date of a recurring card
(the CLI's copy of the server's rule, checked against it)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from taskly.core.errors import UsageError
from taskly.core.recurrence import describe, next_due, rule
from taskly.core.when import local, parse_time, parse_when
from taskly_server.domain.recurrence.dates import next_dates

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2027, 1, 6, 15, 20, tzinfo=UTC)  # a Wednesday, 16:20 in Berlin


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("2027-01-08T09:30", utc(2027, 1, 8, 8, 30)),          # naive: the user's zone
    ("2027-01-08 09:30", utc(2027, 1, 8, 8, 30)),
    ("2027-07-08 09:30", utc(2027, 7, 8, 7, 30)),          # summer time
    ("2027-01-08T09:30+05:00", utc(2027, 1, 8, 4, 30)),    # an offset wins
    ("2027-01-08T09:30Z", utc(2027, 1, 8, 9, 30)),
    ("2027-01-08", utc(2027, 1, 8, 8, 0)),                  # a date alone: 09:00
    ("tomorrow 9:00", utc(2027, 1, 7, 8, 0)),
    ("Tomorrow  9am", utc(2027, 1, 7, 8, 0)),
    ("tomorrow", utc(2027, 1, 7, 8, 0)),
    ("today 17:00", utc(2027, 1, 6, 16, 0)),
    ("+2h", utc(2027, 1, 6, 17, 20)),
    ("+30m", utc(2027, 1, 6, 15, 50)),
    ("+1d", utc(2027, 1, 7, 15, 20)),
    ("+1w", utc(2027, 1, 13, 15, 20)),
    ("fri 14:00", utc(2027, 1, 8, 13, 0)),
    ("friday 2pm", utc(2027, 1, 8, 13, 0)),
    ("wed 17:00", utc(2027, 1, 6, 16, 0)),                  # today, still ahead
    ("wed 9:00", utc(2027, 1, 13, 8, 0)),                   # today's has passed: next week
    ("mon", utc(2027, 1, 11, 8, 0)),
    ("12am", None), ("none", None),
])
def test_parse_when_in_the_users_zone(text: str, expected: datetime | None) -> None:
    if text == "12am":
        assert parse_time("12am").hour == 0 and parse_time("12pm").hour == 12 and parse_time("13pm") is None
        return
    assert parse_when(text, NOW, BERLIN) == expected


def test_parse_when_late_evening_crosses_the_date_line_of_the_zone() -> None:
    late = datetime(2027, 1, 6, 23, 30, tzinfo=UTC)  # already Thursday 00:30 in Berlin
    assert parse_when("tomorrow 9:00", late, BERLIN) == utc(2027, 1, 8, 8, 0)
    assert parse_when("tomorrow 9:00", late, UTC) == utc(2027, 1, 7, 9, 0)


def test_a_skipped_wall_time_moves_forward() -> None:
    assert parse_when("2027-03-28 02:30", NOW, BERLIN) == utc(2027, 3, 28, 1, 30)  # 03:30 CEST


@pytest.mark.parametrize("text", ["soon", "tomorrow 25:00", "fri noon", "+2y", "2027-13-01", "+h"])
def test_parse_when_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(UsageError, match="--remind"):
        parse_when(text, NOW, BERLIN)


def test_local_shows_the_zone() -> None:
    assert local(utc(2027, 1, 8, 8, 30), BERLIN) == "2027-01-08 09:30 CET"


@pytest.mark.parametrize(("recurrence", "interval", "due", "completed"), [
    ("daily", 1, date(2027, 1, 4), date(2027, 1, 9)),
    ("daily", 3, None, date(2027, 1, 9)),
    ("weekly", 2, date(2027, 12, 27), date(2027, 12, 27)),
    ("monthly", 1, date(2027, 1, 31), date(2027, 2, 3)),
    ("monthly", 1, date(2027, 2, 28), date(2027, 2, 3)),
    ("monthly", 12, date(2028, 2, 29), date(2028, 2, 3)),
    ("monthly", 1, None, date(2027, 3, 31)),
])
@pytest.mark.parametrize("anchor", [None, 31, 30, 15])
def test_next_due_is_the_servers_rule(recurrence: str, interval: int, due: date | None, completed: date,
                                      anchor: int | None) -> None:
    assert next_due(recurrence, interval, due, completed, anchor) == \
        next_dates(recurrence, interval, due, completed, anchor).due


def test_monthly_keeps_the_day_of_month() -> None:
    feb = next_due("monthly", 1, date(2027, 1, 31), date(2027, 1, 31))
    assert feb == date(2027, 2, 28)
    assert next_due("monthly", 1, feb, feb, anchor_day=31) == date(2027, 3, 31)


def test_describe_and_rule() -> None:
    assert describe("daily", 1) == "every day" and describe("weekly", 2) == "every 2 weeks"
    assert describe("none", 1) == "none"
    assert rule(" Weekly ") == "weekly"
    with pytest.raises(UsageError, match="--repeat"):
        rule("yearly")
