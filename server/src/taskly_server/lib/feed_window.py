"""A run of one workspace's feed held in a process: each change's form as it goes out, by seq.

The realtime hub keeps one per workspace of the frames it sends: after a restart every client
reconnects with its own `since`, most of them a few hundred changes behind; the window, filled by
the live reader as it hands changes out and extended backwards once (`FeedWindow.prepend`, under
a single flight in the hub) for all the joiners that are further behind, serves each of them a
slice — no feed read and no serialisation per socket. The changes pages keep one per workspace of
the changes' stored wire forms (domain/feed/reads.py): a page reads only what the window lacks.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Generic, TypeVar

T = TypeVar("T")

CAPACITY = 5000
"""Changes kept per workspace (a catch-up further behind than this reads the feed itself)."""


class FeedWindow(Generic[T]):
    """Every change with `since` < seq ≤ `last`, as items in seq order: no hole by construction
    (items go in only as whole feed reads that follow on from either end)."""

    def __init__(self, seq: int, capacity: int = CAPACITY) -> None:
        self.since = self.last = seq
        self.capacity = capacity
        self.seqs: list[int] = []
        self.items: list[T] = []

    def __len__(self) -> int:
        return len(self.items)

    def append(self, items: Sequence[tuple[int, T]]) -> None:
        """The feed's changes right after `last` (all of them up to the last one given); the
        oldest drop out past the capacity."""
        if not items:
            return
        self.seqs += [seq for seq, _ in items]
        self.items += [item for _, item in items]
        self.last = items[-1][0]
        excess = len(self.items) - self.capacity
        if excess > 0:
            self.since = self.seqs[excess - 1]
            del self.seqs[:excess], self.items[:excess]

    def prepend(self, since: int, items: Sequence[tuple[int, T]]) -> None:
        """The feed's changes in (`since`, `self.since`], all of them (maybe none)."""
        if since >= self.since:
            return
        self.seqs[:0] = [seq for seq, _ in items]
        self.items[:0] = [item for _, item in items]
        self.since = since

    def covers(self, since: int, until: int) -> bool:
        return self.since <= since and until <= self.last

    def between(self, since: int, until: int) -> list[T]:
        """The items of the changes in (since, until]; the caller checked `covers`."""
        return self.items[bisect_right(self.seqs, since):bisect_right(self.seqs, until)]

    def reach(self, since: int) -> int:
        """Where a backward read for a joiner at `since` should start: a full page further than
        it needs, so that the joiners just behind it find their changes there too; never below
        what the capacity keeps."""
        lowest = self.last - self.capacity
        return max(min(since, self.since - 1000), lowest, 0)
