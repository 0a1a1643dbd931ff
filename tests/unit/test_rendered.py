"""lib/rendered.py `Rendered`: what a process holds of the documents it rendered."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

from taskly_server.lib.rendered import NO_SEQ, CardList, Rendered


def test_a_held_document_is_served_only_at_its_seq() -> None:
    rendered = Rendered(1000)
    assert rendered.known_seq("card a") == NO_SEQ
    assert rendered.known_seq("card a", 7) == 7  # nothing held: the client's tag's seq
    assert rendered.body("card a", 5, b"[1]") == b"[1]"
    assert rendered.known_seq("card a", 7) == 5
    assert rendered.body("card a", 5, None) == b"[1]"  # the statement did not render: still seq 5
    assert rendered.body("card a", 6, None) is None  # not rendered for another reason (the client's tag)
    assert rendered.body("card a", 6, b"[2]") == b"[2]" and rendered.known_seq("card a") == 6


def test_bounded_by_bytes_least_recently_used_out() -> None:
    rendered = Rendered(90)
    rendered.body("a", 1, b"x" * 20)
    rendered.body("b", 1, b"y" * 20)
    rendered.body("a", 1, None)  # used: b is now the oldest
    rendered.body("c", 1, b"z" * 20)
    rendered.body("d", 1, b"w" * 20)
    rendered.body("e", 1, b"v" * 20)
    assert rendered.known_seq("b") == NO_SEQ and rendered.known_seq("a") == 1
    assert rendered.body("huge", 1, b"h" * 23) == b"h" * 23  # over a quarter: sent, not held
    assert rendered.known_seq("huge") == NO_SEQ
    assert Rendered(0).body("a", 1, b"x") == b"x" and Rendered(0).known_seq("a") == NO_SEQ


def test_aliases_remember_where_a_reference_was_found() -> None:
    rendered = Rendered(1000)
    assert rendered.alias("WEB-1") is None
    assert rendered.alias("WEB-1", "card 1") == "card 1" and rendered.alias("WEB-1") == "card 1"
    for n in range(Rendered.ALIASES):
        rendered.alias(f"X-{n}", "k")
    assert rendered.alias("WEB-1") is None  # forgotten all at once past the limit


# --- documents brought forward by card changes (Rendered.patch) -------------------------------

BOARD = "00000000-0000-0000-0000-0000000000b1"
OTHER_BOARD = "00000000-0000-0000-0000-0000000000b2"


def card(n: int, board: str = BOARD, title: str = "t", **more: object) -> dict:
    return {"id": f"00000000-0000-0000-0000-{n:012d}", "key": f"B-{n}", "number": n,
            "board_id": board, "title": title, "deleted_at": None, **more}


def as_postgres(data: dict) -> bytes:
    """A card as taskly_cards_json writes it: `"key" : value`, keys in the model's order."""
    return ("{" + ", ".join(f'"{k}" : {json.dumps(v, ensure_ascii=False)}' for k, v in data.items())
            + "}").encode()


def snapshot(seq: int, cards: list[dict]) -> tuple[bytes, CardList]:
    head = b'{"seq" : %d, "workspace" : {"id" : "w", "seq" : %d, "version" : 1}, "cards" : [' % (seq, seq)
    inside = b",\n".join(as_postgres(c) for c in cards)
    live = {BOARD}

    def order(c):
        return (c["board_id"], c["number"]) if c["board_id"] in live else None

    return head + inside + b'], "sprints" : []}', CardList(len(head), len(head) + len(inside), order,
                                                          ("board_id", "number"), seq_in_head=True)


def change(data: dict, op: str = "update", entity_type: str = "card", seq: int = 0) -> dict:
    return {"seq": seq, "entity_type": entity_type, "entity_id": data["id"], "op": op, "data": data}


def test_card_changes_bring_a_held_document_forward_in_order() -> None:
    rendered = Rendered(10**6)
    tricky = card(2, title='a, "number" : 99, "board_id" : "x",\\n\u2028')  # keys inside a string
    body, cards = snapshot(5, [card(1), tricky, card(3)])
    rendered.body("snap", 5, body, cards)
    assert json.loads(body)["cards"][1]["title"] == tricky["title"]
    moved = card(1, title="renamed")
    gone = card(3, deleted_at="2026-12-07T10:00:00Z")
    away = {**card(2), "board_id": OTHER_BOARD}
    patched = rendered.patch("snap", 5, 8, [change(moved), change(gone, "delete"),
                                            change(moved, entity_type="comment")])
    document = json.loads(patched)
    assert document["seq"] == 8 and document["workspace"]["seq"] == 8
    assert document["cards"] == [moved, tricky, gone]
    assert rendered.body("snap", 8, None) == patched  # held at its new seq
    # Again from the held entries: a card leaves for another board, one comes in between.
    newcomer = card(2, title="back")
    patched = rendered.patch("snap", 8, 9, [change(away)])
    assert [c["number"] for c in json.loads(patched)["cards"]] == [1, 3]
    patched = rendered.patch("snap", 9, 10, [change(newcomer)])
    assert json.loads(patched)["cards"] == [moved, newcomer, gone]


def test_a_document_another_request_brought_forward_meanwhile_goes_on_from_there() -> None:
    """Two requests read the changes after the same held seq; the first brings the document
    forward part of the way: the second applies only the changes after that, or answers it."""
    rendered = Rendered(10**6)
    body, cards = snapshot(5, [card(1), card(2)])
    rendered.body("snap", 5, body, cards)
    first, second = card(1, title="first"), card(2, title="second")
    rendered.patch("snap", 5, 6, [change(first, seq=6)])
    stale = card(1, title="stale")  # what seq 6 would be if applied again over seq 7's change
    patched = rendered.patch("snap", 5, 7, [change(stale, seq=6), change(second, seq=7)])
    assert json.loads(patched)["cards"] == [first, second] and json.loads(patched)["seq"] == 7
    assert rendered.patch("snap", 5, 7, [change(stale, seq=6), change(second, seq=7)]) == patched
    assert rendered.patch("snap", 5, 6, [change(stale, seq=6)]) is None  # held further on by now


async def test_requests_that_need_a_document_brought_forward_at_once_read_the_changes_once() -> None:
    """Ten requests at seq 7 and two at seq 8 of a document held at 5: one reads the changes
    after 5 and brings it forward, those at 7 take its result; one more read, after 7, serves
    those at 8. A request whose document cannot be brought forward gets None."""
    rendered = Rendered(10**6)
    body, cards = snapshot(5, [card(1), card(2)])
    rendered.body("snap", 5, body, cards)
    feed = {6: change(card(1, title="six"), seq=6), 7: change(card(2, title="seven"), seq=7),
            8: change(card(1, title="eight"), seq=8)}
    reads: list[tuple[int, int]] = []

    def reader(until: int):
        async def read(since: int) -> list[dict]:
            reads.append((since, until))
            await asyncio.sleep(0.01)
            return [feed[seq] for seq in range(since + 1, until + 1)]
        return read

    found = await asyncio.gather(*(rendered.forward("snap", 7, reader(7)) for _ in range(10)),
                                 *(rendered.forward("snap", 8, reader(8)) for _ in range(2)))
    assert reads == [(5, 7), (7, 8)]
    assert {h.seq for h in found[:10]} == {7} and {h.seq for h in found[10:]} == {8}
    assert json.loads(found[0].body)["cards"] == [feed[6]["data"], feed[7]["data"]]
    assert json.loads(found[-1].body)["cards"] == [feed[8]["data"], feed[7]["data"]]
    assert (await rendered.forward("snap", 6, reader(6))).seq == 8  # held further on: as it is
    assert await rendered.forward("snap", 8 + Rendered.PATCH_MAX + 1, reader(600)) is None
    assert await rendered.forward("other", 8, reader(8)) is None


def test_what_a_held_document_cannot_be_brought_forward_by() -> None:
    rendered = Rendered(10**6)
    body, cards = snapshot(5, [card(1)])
    rendered.body("snap", 5, body, cards)
    assert rendered.patch("snap", 5, 6, [change(card(2), "create")]) is None  # next_card_number moved
    assert rendered.patch("snap", 5, 6, [change(card(1), entity_type="column")]) is None
    assert rendered.patch("snap", 6, 7, [change(card(1), seq=7)]) is None  # an older seq is held
    assert rendered.patch("snap", 5, 5 + Rendered.PATCH_MAX + 1, [change(card(1))]) is None
    assert rendered.body("snap", 5, None) == body  # still held as it was
    rendered.body("plain", 5, b"[]")
    assert rendered.patch("plain", 5, 6, [change(card(1))]) is None  # rendered without a CardList

    def unplaceable(c):
        raise KeyError(c["id"])  # e.g. a column the document does not know

    rendered.body("board", 5, body, replace(cards, order=unplaceable))
    assert rendered.patch("board", 5, 6, [change(card(1))]) is None
