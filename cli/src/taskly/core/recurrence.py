"""Recurring cards, for people: the rule in words and the next due date the server will give.

`next_due` is the server's rule (server/src/taskly_server/domain/recurrence/dates.py, copied: the
CLI never imports the server): the previous due date plus `interval` days, weeks or months, or the
completion date plus as much when there was none; monthly keeps the day of month, clamped only in
shorter months (Jan 31 → Feb 28 → Mar 31).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

RULES = ("daily", "weekly", "monthly", "none")
MAX_INTERVAL = 365
"""`--every N`: 1 to this many days, weeks or months."""
UNITS = {"daily": "day", "weekly": "week", "monthly": "month"}


def clamp_day(day: int, year: int, month: int) -> int:
    return min(day, calendar.monthrange(year, month)[1])


def series_anchor(base: date, stored: int | None) -> int:
    """The series' day of month: `stored` when `base` is where it falls in base's month (a clamped
    Feb 28 of a 31st series), else base's own day."""
    if stored is not None and 1 <= stored <= 31 and clamp_day(stored, base.year, base.month) == base.day:
        return stored
    return base.day


def next_due(recurrence: str, interval: int, due: date | None, completed_on: date,
             anchor_day: int | None = None) -> date:
    """The next occurrence's due date (see the module's docstring)."""
    from dateutil.relativedelta import relativedelta

    interval = max(1, interval)
    base = due or completed_on
    if recurrence == "daily":
        return base + timedelta(days=interval)
    if recurrence == "weekly":
        return base + timedelta(weeks=interval)
    if recurrence == "monthly":
        return base + relativedelta(months=interval, day=series_anchor(base, anchor_day))
    raise ValueError(f"not a recurrence: {recurrence!r}")


def describe(recurrence: str, interval: int) -> str:
    """`every day`, `every 2 weeks`, `none`."""
    if recurrence not in UNITS:
        return "none"
    unit = UNITS[recurrence]
    return f"every {unit}" if interval <= 1 else f"every {interval} {unit}s"


def rule(repeat: str) -> str:
    """A `--repeat` value, checked."""
    value = repeat.strip().lower()
    if value not in RULES:
        from .errors import UsageError

        raise UsageError(f"--repeat {repeat!r}: use daily, weekly, monthly or none")
    return value


def interval(text: str, flag: str = "--every") -> int:
    """An `--every N` value typed as text (the board's card form), checked as the command line checks it."""
    value = text.strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_INTERVAL:
        from .errors import UsageError

        raise UsageError(f"{flag} {text.strip()!r}: give a whole number from 1 to {MAX_INTERVAL}")
    return int(value)
