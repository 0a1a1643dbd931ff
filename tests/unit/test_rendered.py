"""lib/rendered.py `Rendered`: what a process holds of the documents it rendered."""

from __future__ import annotations

from taskly_server.lib.rendered import NO_SEQ, Rendered


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
