"""The newest frames of one workspace's feed, kept for the sockets that catch up.

After a restart every client reconnects with its own `since`, most of them a few hundred changes
behind: one window per workspace, filled by the live reader as it hands changes out and extended
backwards once (`FrameWindow.prepend`, under a single flight in the hub) for all the joiners that
are further behind, serves each of them a slice — no feed read and no serialisation per socket.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

CAPACITY = 5000
"""Frames kept per workspace (a catch-up further behind than this reads the feed itself)."""


class FrameWindow:
    """Every change with `since` < seq ≤ `last`, as frames in seq order: no hole by construction
    (frames go in only as whole feed reads that follow on from either end)."""

    def __init__(self, seq: int, capacity: int = CAPACITY) -> None:
        self.since = self.last = seq
        self.capacity = capacity
        self.seqs: list[int] = []
        self.frames: list[str] = []

    def __len__(self) -> int:
        return len(self.frames)

    def append(self, frames: Sequence[tuple[int, str]]) -> None:
        """The feed's changes right after `last` (all of them up to the last one given); the
        oldest frames drop out past the capacity."""
        if not frames:
            return
        self.seqs += [seq for seq, _ in frames]
        self.frames += [frame for _, frame in frames]
        self.last = frames[-1][0]
        excess = len(self.frames) - self.capacity
        if excess > 0:
            self.since = self.seqs[excess - 1]
            del self.seqs[:excess], self.frames[:excess]

    def prepend(self, since: int, frames: Sequence[tuple[int, str]]) -> None:
        """The feed's changes in (`since`, `self.since`], all of them (maybe none)."""
        if since >= self.since:
            return
        self.seqs[:0] = [seq for seq, _ in frames]
        self.frames[:0] = [frame for _, frame in frames]
        self.since = since

    def covers(self, since: int, until: int) -> bool:
        return self.since <= since and until <= self.last

    def between(self, since: int, until: int) -> list[str]:
        """The frames of the changes in (since, until]; the caller checked `covers`."""
        return self.frames[bisect_right(self.seqs, since):bisect_right(self.seqs, until)]

    def reach(self, since: int) -> int:
        """Where a backward read for a joiner at `since` should start: a full page further than
        it needs, so that the joiners just behind it find their changes there too; never below
        what the capacity keeps."""
        lowest = self.last - self.capacity
        return max(min(since, self.since - 1000), lowest, 0)
