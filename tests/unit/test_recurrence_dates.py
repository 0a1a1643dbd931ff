"""The dates of a recurring card's next occurrence, due-date notification times and @mentions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from taskly_server.domain.notifications.consumers import mentions
from taskly_server.domain.notifications.reminders import due_kind
from taskly_server.domain.recurrence.dates import next_dates, series_anchor, shifted


def chain(start: date, months: int, steps: int) -> list[date]:
    due, anchor, out = start, None, []
    for _ in range(steps):
        following = next_dates("monthly", months, due, date(2000, 1, 1), anchor)
        due, anchor = following.due, following.anchor_day
        out.append(due)
    return out


def test_monthly_keeps_the_31st_across_short_months() -> None:
    assert chain(date(2027, 1, 31), 1, 4) == [date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30),
                                             date(2027, 5, 31)]


def test_monthly_in_a_leap_year_and_every_two_months() -> None:
    assert chain(date(2028, 1, 30), 1, 3) == [date(2028, 2, 29), date(2028, 3, 30), date(2028, 4, 30)]
    assert chain(date(2027, 12, 31), 2, 3) == [date(2028, 2, 29), date(2028, 4, 30), date(2028, 6, 30)]


def test_a_date_moved_by_hand_starts_a_new_anchor() -> None:
    assert series_anchor(date(2027, 2, 28), 31) == 31  # the clamped 31st
    assert series_anchor(date(2027, 3, 15), 31) == 15  # someone moved it
    assert next_dates("monthly", 1, date(2027, 3, 15), date(2027, 3, 1), 31).due == date(2027, 4, 15)


def test_daily_and_weekly_and_the_completion_date() -> None:
    assert next_dates("daily", 3, date(2027, 2, 27), date(2027, 1, 1)).due == date(2027, 3, 2)
    assert next_dates("weekly", 2, None, date(2027, 1, 1)).due == date(2027, 1, 15)
    following = next_dates("monthly", 1, None, date(2027, 1, 31))
    assert (following.due, following.anchor_day) == (date(2027, 2, 28), 31)
    with pytest.raises(ValueError):
        next_dates("none", 1, None, date(2027, 1, 1))


def test_remind_at_moves_as_far_as_the_due_date() -> None:
    following = next_dates("monthly", 1, date(2027, 1, 31), date(2027, 1, 1))
    assert following.shift == timedelta(days=28)
    assert shifted(datetime(2027, 1, 31, 8, tzinfo=UTC), following.shift) == datetime(2027, 2, 28, 8, tzinfo=UTC)
    assert shifted(None, following.shift) is None


def test_due_soon_and_overdue_at_nine_in_the_users_zone() -> None:
    due = date(2027, 1, 5)
    # 07:59 UTC is 08:59 in Berlin: not yet; 08:00 UTC is 09:00 there
    assert due_kind(due, datetime(2027, 1, 4, 7, 59, tzinfo=UTC), "Europe/Berlin") is None
    assert due_kind(due, datetime(2027, 1, 4, 8, 0, tzinfo=UTC), "Europe/Berlin") == "due_soon"
    assert due_kind(due, datetime(2027, 1, 4, 8, 0, tzinfo=UTC), "UTC") is None
    assert due_kind(due, datetime(2027, 1, 4, 9, 0, tzinfo=UTC), "UTC") == "due_soon"
    assert due_kind(due, datetime(2027, 1, 5, 12, 0, tzinfo=UTC), "UTC") is None  # due today
    assert due_kind(due, datetime(2027, 1, 6, 8, 59, tzinfo=UTC), "UTC") is None
    assert due_kind(due, datetime(2027, 1, 6, 9, 0, tzinfo=UTC), "UTC") == "overdue"
    # in Los Angeles, 2027-01-06 09:00 is 17:00 UTC
    assert due_kind(due, datetime(2027, 1, 6, 16, 59, tzinfo=UTC), "America/Los_Angeles") is None
    assert due_kind(due, datetime(2027, 1, 6, 17, 0, tzinfo=UTC), "America/Los_Angeles") == "overdue"
    assert due_kind(due, datetime(2027, 1, 20, 9, 0, tzinfo=UTC), "UTC") is None  # past the week
    assert due_kind(due, datetime(2027, 1, 4, 9, 0, tzinfo=UTC), "Not/AZone") == "due_soon"  # as UTC


def test_mentions() -> None:
    assert mentions("ping @Alice and @bob-2, cc @carol.") == {"alice", "bob-2", "carol"}
    assert mentions("mail me at dave@example.com or @@eve") == set()
    assert mentions(None) == set()
