"""Now, as the reminders cron and the feed consumers see it: the real clock, or a test's.

Tests move time by writing an ISO date-time into `TASKLY_TEST_CLOCK_FILE` (read at each use, so
running workers follow it); production never sets it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ..db.base import utcnow


class Clock:
    def __init__(self, test_file: Path | None = None) -> None:
        self.test_file = test_file

    def now(self) -> datetime:
        """Aware UTC time: the test file's when it holds one, else the system clock."""
        if self.test_file is not None:
            try:
                text = self.test_file.read_text().strip()
            except OSError:
                text = ""
            if text:
                moment = datetime.fromisoformat(text)
                return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
        return utcnow()
