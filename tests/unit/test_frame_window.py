"""The realtime window of the newest frames: no hole, a capacity, slices by seq."""

from taskly_server.realtime.window import FrameWindow


def frames(first: int, last: int) -> list[tuple[int, str]]:
    return [(seq, f"f{seq}") for seq in range(first, last + 1)]


def test_appended_frames_are_sliced_by_seq_and_the_oldest_drop_past_the_capacity():
    window = FrameWindow(10, capacity=5)
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
    window = FrameWindow(20)
    window.append(frames(21, 22))
    window.prepend(15, frames(16, 20))
    assert window.since == 15 and window.between(15, 22) == [f"f{n}" for n in range(16, 23)]
    window.prepend(17, frames(18, 20))  # already there: nothing changes
    assert window.since == 15 and len(window) == 7
    # A pruned or empty stretch counts as read: the window covers it with no frames.
    window.prepend(10, [])
    assert window.covers(10, 22) and window.between(10, 16) == ["f16"]
    # Seqs with gaps slice by value, not position.
    gappy = FrameWindow(0)
    gappy.append([(2, "a"), (5, "b"), (9, "c")])
    assert gappy.between(2, 9) == ["b", "c"] and gappy.between(0, 4) == ["a"]


def test_a_backward_read_takes_a_page_more_than_asked_within_the_capacity():
    window = FrameWindow(3000, capacity=5000)
    assert window.reach(2900) == 2000  # a page below the window's start
    assert window.reach(500) == 500  # further still: down to the joiner
    window.append(frames(3001, 7000))
    assert window.reach(2500) == 2000  # never below what the capacity keeps
    assert FrameWindow(300).reach(250) == 0
