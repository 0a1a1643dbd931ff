"""`--remind WHEN`: a moment people type, in their time zone, as an aware UTC datetime.

    2027-01-04T09:30, 2027-01-04 09:30, 2027-01-04T09:30+01:00, 2027-01-04 (09:00 that day)
    today 17:00, tomorrow 9:00, tomorrow (09:00)
    +2h, +30m, +1d, +1w (from now)
    fri 14:00, friday 2pm, mon (09:00): the next such day (today when its time is still ahead)

A time is `H`, `H:MM`, `H:MMam|pm` or `Ham|pm`. `none` clears (None). Anything else is a usage
error listing the forms. The zone is the user's setting (`taskly config set timezone ...`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from .errors import UsageError

DEFAULT_TIME = time(9, 0)
"""A day without a time means this time of it (as `due_soon` notifications come at 09:00)."""
CLEAR = {"none", "null", "-", ""}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FORMS = "an ISO date-time, today|tomorrow|DAY [H:MM], or +2h/+30m/+1d/+1w"

_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")
_RELATIVE = re.compile(r"^\+(\d{1,4})\s*(m|min|h|d|w)$")


def parse_time(text: str) -> time | None:
    match = _TIME.match(text.strip())
    if match is None:
        return None
    hour, minute, half = int(match[1]), int(match[2] or 0), match[3]
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _weekday(word: str) -> int | None:
    word = word.lower()
    for index, name in enumerate(WEEKDAYS):
        full = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")[index]
        if word == name or (len(word) >= 3 and full.startswith(word)):
            return index
    return None


def _at(day: date, moment: time, zone: tzinfo) -> datetime:
    """`day` at `moment` in `zone` (a wall time skipped by a DST change moves forward), in UTC."""
    from dateutil import tz

    local = datetime.combine(day, moment, tzinfo=zone)
    if not tz.datetime_exists(local):
        local = tz.resolve_imaginary(local)
    return local.astimezone(UTC)


def parse_when(text: str, now: datetime, zone: tzinfo, flag: str = "--remind") -> datetime | None:
    """`text` as an aware UTC datetime; `now` is aware; `zone` is the user's time zone."""
    value = " ".join(text.strip().lower().split())
    if value in CLEAR:
        return None
    relative = _RELATIVE.match(value)
    if relative:
        amount, unit = int(relative[1]), relative[2]
        step = {"m": timedelta(minutes=1), "min": timedelta(minutes=1), "h": timedelta(hours=1),
                "d": timedelta(days=1), "w": timedelta(weeks=1)}[unit]
        return (now + amount * step).astimezone(UTC).replace(microsecond=0)
    local_now = now.astimezone(zone)
    word, _, rest = value.partition(" ")
    if word in ("today", "tomorrow") or _weekday(word) is not None:
        moment = parse_time(rest) if rest else DEFAULT_TIME
        if moment is None:
            raise UsageError(f"{flag} {text!r}: {rest!r} is not a time (H:MM, 9am, 14:30)")
        if word == "today":
            return _at(local_now.date(), moment, zone)
        if word == "tomorrow":
            return _at(local_now.date() + timedelta(days=1), moment, zone)
        ahead = (_weekday(word) - local_now.weekday()) % 7
        candidate = _at(local_now.date() + timedelta(days=ahead), moment, zone)
        return candidate if candidate > now else _at(local_now.date() + timedelta(days=ahead or 7), moment, zone)
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{flag} {text!r}: use {FORMS}") from None
    if len(text.strip()) == 10:  # a date alone
        return _at(parsed.date(), DEFAULT_TIME, zone)
    if parsed.tzinfo is None:
        return _at(parsed.date(), parsed.time(), zone)
    return parsed.astimezone(UTC)


def local(moment: datetime, zone: tzinfo) -> str:
    """`2027-01-04 09:30 CET`: a moment as people in `zone` read it."""
    shown = moment.astimezone(zone)
    return f"{shown:%Y-%m-%d %H:%M} {shown.tzname() or ''}".rstrip()


_DAYS = re.compile(r"^([+-])(\d{1,4})\s*([dw]?)$")
DAY_FORMS = "YYYY-MM-DD, today, tomorrow, yesterday, +3d, -2w or a weekday"


def parse_day(text: str, today: date, flag: str = "--due-before") -> date:
    """A day people type: `YYYY-MM-DD`, today, tomorrow, yesterday, `+3d`/`-3d`, `+2w`/`-2w`, or a
    weekday (`fri`: the next one, today included). Anything else is a usage error naming `flag`."""
    value = " ".join(text.strip().lower().split())
    if value == "today":
        return today
    if value in ("tomorrow", "yesterday"):
        return today + timedelta(days=1 if value == "tomorrow" else -1)
    relative = _DAYS.match(value)
    if relative:
        days = int(relative[2]) * (7 if relative[3] == "w" else 1)
        return today + timedelta(days=days if relative[1] == "+" else -days)
    weekday = _weekday(value) if value.isalpha() else None
    if weekday is not None:
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{flag} {text!r}: use {DAY_FORMS}") from None
