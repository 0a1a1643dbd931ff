"""The next occurrence's dates: pure arithmetic on dates, no database.

Monthly series keep their day of month (the anchor) across short months: Jan 31 → Feb 28 →
Mar 31, not Mar 28 (python-dateutil's relativedelta clamps `day` to the month's length).
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from typing import NamedTuple

from dateutil.relativedelta import relativedelta


class NextDates(NamedTuple):
    due: date
    anchor_day: int | None
    """The series' day of month (monthly only)."""
    shift: timedelta
    """How far the due date moved: `remind_at` moves as much."""


def clamp_day(day: int, year: int, month: int) -> int:
    return min(day, calendar.monthrange(year, month)[1])


def series_anchor(base: date, stored: int | None) -> int:
    """The anchor that still fits `base`: the stored one when `base` is where it falls in that
    month (a clamped Feb 28 of a 31st series), else `base`'s own day (someone moved the date)."""
    if stored is not None and 1 <= stored <= 31 and clamp_day(stored, base.year, base.month) == base.day:
        return stored
    return base.day


def next_dates(recurrence: str, interval: int, due: date | None, completed_on: date,
               anchor_day: int | None = None) -> NextDates:
    """The next due date: `interval` days, weeks or months after the previous due date, or after
    the completion date when there was none."""
    interval = max(1, interval)
    base = due or completed_on
    if recurrence == "daily":
        following, anchor = base + timedelta(days=interval), None
    elif recurrence == "weekly":
        following, anchor = base + timedelta(weeks=interval), None
    elif recurrence == "monthly":
        anchor = series_anchor(base, anchor_day)
        following = base + relativedelta(months=interval, day=anchor)
    else:
        raise ValueError(f"not a recurrence: {recurrence!r}")
    return NextDates(following, anchor, following - base)


def shifted(moment: datetime | None, shift: timedelta) -> datetime | None:
    return None if moment is None else moment + shift
