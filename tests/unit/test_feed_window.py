"""The windows of the feed a process holds (lib/feed_window.py): no hole, a capacity, slices by seq;
and the changes pages' windows (domain/feed/reads.py `HeldFeed`)."""

import uuid

from taskly_server.domain.feed.reads import HeldFeed
from taskly_server.lib.feed_window import FeedWindow


def frames(first: int, last: int) -> list[tuple[int, str]]:
    return [(seq, f"f{seq}") for seq in range(first, last + 1)]


def test_appended_frames_are_sliced_by_seq_and_the_oldest_drop_past_the_capacity():
    window = FeedWindow(10, capacity=5)
    assert (window.since, window.last, len(window)) == (10, 10, 0)
    assert window.covers(10, 10) and not window.covers(9, 10) and not window.covers(10, 11)
    window.append(frames(11, 13))
    assert window.between(10, 13) == ["f11", "f12", "f13"] and window.between(11, 12) == ["f12"]
    assert window.between(13, 13) == [] and window.covers(10, 13)
    window.append(frames(14, 17))
    assert (window.since, window.last, len(window)) == (12, 17, 5)
    assert window.between(12, 17) == ["f13", "f14", "f15", "f16", "f17"]
    assert not window.covers(11, 17)
    window.append([])
    assert window.last == 17


def test_older_frames_go_in_front_only_when_they_reach_the_window():
    window = FeedWindow(20)
    window.append(frames(21, 22))
    window.prepend(15, frames(16, 20))
    assert window.since == 15 and window.between(15, 22) == [f"f{n}" for n in range(16, 23)]
    window.prepend(17, frames(18, 20))  # already there: nothing changes
    assert window.since == 15 and len(window) == 7
    # A pruned or empty stretch counts as read: the window covers it with no frames.
    window.prepend(10, [])
    assert window.covers(10, 22) and window.between(10, 16) == ["f16"]
    # Seqs with gaps slice by value, not position.
    gappy = FeedWindow(0)
    gappy.append([(2, "a"), (5, "b"), (9, "c")])
    assert gappy.between(2, 9) == ["b", "c"] and gappy.between(0, 4) == ["a"]


def test_a_backward_read_takes_a_page_more_than_asked_within_the_capacity():
    window = FeedWindow(3000, capacity=5000)
    assert window.reach(2900) == 2000  # a page below the window's start
    assert window.reach(500) == 500  # further still: down to the joiner
    window.append(frames(3001, 7000))
    assert window.reach(2500) == 2000  # never below what the capacity keeps
    assert FeedWindow(300).reach(250) == 0


# --- the changes pages' windows (domain/feed/reads.py HeldFeed) ----------------------------------


def wires(first: int, last: int) -> list[tuple[int, bytes]]:
    return [(seq, b"w%d" % seq) for seq in range(first, last + 1)]


def test_a_page_is_what_the_feed_gave_and_the_window_held_and_the_window_grows_at_both_ends():
    held, workspace = HeldFeed(), uuid.uuid4()
    assert held.window(workspace) is None
    assert held.page(workspace, 10, 20, wires(11, 20)) == [w for _, w in wires(11, 20)]
    window = held.window(workspace)
    assert (window.since, window.last) == (10, 20)
    # Newer: the feed gives only what follows the window.
    assert held.page(workspace, 15, 25, wires(21, 25)) == [w for _, w in wires(16, 25)]
    assert (window.since, window.last) == (10, 25)
    # Older: what reaches the window goes in front; both ends at once.
    assert held.page(workspace, 5, 30, [*wires(6, 10), *wires(26, 30)]) == [w for _, w in wires(6, 30)]
    assert (window.since, window.last) == (5, 30)
    # Wholly inside: nothing read.
    assert held.page(workspace, 7, 9, []) == [b"w8", b"w9"]
    # Wholly older than the window: served, not held.
    assert held.page(workspace, 0, 3, wires(1, 3)) == [b"w1", b"w2", b"w3"]
    assert window.since == 5
    # Past the window's end with a hole between: a new window from there.
    assert held.page(workspace, 40, 42, wires(41, 42)) == [b"w41", b"w42"]
    assert (held.window(workspace).since, held.window(workspace).last) == (40, 42)


def test_a_page_with_a_hole_is_refused_and_not_held():
    held, workspace = HeldFeed(), uuid.uuid4()
    assert held.page(workspace, 0, 4, [*wires(1, 2), *wires(4, 4)]) is None
    assert held.window(workspace) is None
    held.page(workspace, 0, 2, wires(1, 2))
    assert held.page(workspace, 0, 5, [*wires(4, 5)]) is None  # 3 missing after the window
    assert held.window(workspace).last == 2


def test_a_window_that_moved_while_the_feed_was_read_takes_only_what_follows_on():
    """The feed was read leaving out the window's range of then; meanwhile the window was made
    anew further on: what the read brings has a hole, and only the run next to it goes in."""
    held, workspace = HeldFeed(), uuid.uuid4()
    held.page(workspace, 10, 20, wires(11, 20))
    read_then = [*wires(1, 10), *wires(21, 35)]  # (10, 20] left out: the window held it
    held.page(workspace, 30, 32, wires(31, 32))  # another page: a new window (30, 32]
    assert held.page(workspace, 0, 35, read_then) is None  # 11..20 missing: read it all
    window = held.window(workspace)
    assert (window.since, window.last) == (20, 35)
    assert window.between(20, 35) == [w for _, w in wires(21, 35)]
    assert held.page(workspace, 25, 35, []) == [w for _, w in wires(26, 35)]


def test_the_least_recently_read_workspaces_windows_go_first():
    held = HeldFeed(max_changes=10, per_workspace=8)
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    held.page(first, 0, 4, wires(1, 4))
    held.page(second, 0, 4, wires(1, 4))
    held.window(first)  # read again: the second is now the oldest
    held.page(third, 0, 4, wires(1, 4))
    assert held.window(second) is None and held.window(first) is not None
    assert held.window(third) is not None
    held.page(third, 4, 20, wires(5, 20))
    assert len(held.window(third)) == 8  # a window's own capacity
