"""The cache's notifications table: unread first then newest first, a read mark never undone by an
older copy, the seq the live socket resumes from, and short-id lookup."""

from __future__ import annotations

import uuid

from taskly.store import Store


def notification(seq: int, minute: int, read_at: str | None = None) -> dict:
    return {"id": str(uuid.UUID(int=seq)), "seq": seq, "kind": "assigned", "workspace_id": str(uuid.uuid4()),
            "card_id": None, "card_key": f"WEB-{seq}", "card_title": "T", "actor": "alice",
            "message": f"alice assigned you to WEB-{seq}", "created_at": f"2027-01-04T08:{minute:02d}:00Z",
            "read_at": read_at}


def test_order_read_marks_and_seq() -> None:
    store = Store(":memory:")
    assert store.notification_seq() is None and store.unread_count() == 0
    with store.transaction() as tx:
        assert tx.put_notifications([notification(1, 10), notification(2, 20, "2027-01-04T09:00:00Z"),
                                     notification(3, 30)]) == 3
    assert [n["seq"] for n in store.notifications_json()] == [3, 1]
    assert [n["seq"] for n in store.notifications_json(unread_only=False)] == [3, 1, 2]
    assert store.unread_count() == 2 and store.notification_seq() == 3

    with store.transaction() as tx:
        tx.mark_notifications_read([str(uuid.UUID(int=1))], at="2027-01-05T00:00:00Z")
        assert tx.put_notifications([notification(1, 10)]) == 0  # an older unread copy: still read
    [first] = [n for n in store.notifications_json(unread_only=False) if n["seq"] == 1]
    assert first["read_at"] == "2027-01-05T00:00:00Z"
    assert store.unread_count() == 1

    with store.transaction() as tx:
        tx.mark_notifications_read(None)
        tx.set_meta("notification_seq", "7")  # fetched up to 7 (the rows themselves stop at 3)
    assert store.unread_count() == 0 and store.notification_seq() == 7


def test_short_ids() -> None:
    store = Store(":memory:")
    with store.transaction() as tx:
        tx.put_notifications([notification(1, 1), notification(2, 2)])
    assert store.notification_ids("00000000-0000-0000-0000-000000000002") == [str(uuid.UUID(int=2))]
    assert len(store.notification_ids("00000000")) == 2
    assert store.notification_ids("%") == store.notification_ids("") == [str(uuid.UUID(int=2)), str(uuid.UUID(int=1))]
