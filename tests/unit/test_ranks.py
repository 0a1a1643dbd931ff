"""Rank functions (the server's and the CLI's optimistic one) and the server's pure card-reference
helpers."""

from __future__ import annotations

import uuid

import pytest
from fractional_indexing import generate_key_between
from hypothesis import given, settings
from hypothesis import strategies as st
from taskly.sync.writes import _rank_between as cli_rank_between
from taskly_server.domain.cards.queries import (
    MAX_NUMBER,
    as_uuid,
    parse_card_reference,
    rank_between,
    shown,
)

FAST = settings(max_examples=150, deadline=None, database=None)


@st.composite
def sorted_ranks(draw) -> list[str]:
    """Ranks as a column gets them: each new card inserted at a random place among the others."""
    ranks: list[str] = []
    for place in draw(st.lists(st.integers(min_value=0, max_value=10_000), min_size=2, max_size=40)):
        index = place % (len(ranks) + 1)
        lower = ranks[index - 1] if index > 0 else None
        upper = ranks[index] if index < len(ranks) else None
        ranks.insert(index, generate_key_between(lower, upper))
    return ranks


@st.composite
def bounds(draw) -> tuple[str | None, str | None]:
    """Two ranks of a column, lower < upper, or an open end."""
    ranks = draw(sorted_ranks())
    low, high = sorted(draw(st.lists(st.integers(0, len(ranks) - 1), min_size=2, max_size=2, unique=True)))
    lower = None if draw(st.booleans()) and low == 0 else ranks[low]
    upper = None if draw(st.booleans()) and high == len(ranks) - 1 else ranks[high]
    return lower, upper


# --- the server's rank_between ----------------------------------------------------------------------


def test_current_is_kept_between_the_bounds():
    assert rank_between("a0", "a2", "a1") == "a1"
    assert rank_between(None, "a2", "a1") == "a1"
    assert rank_between("a0", None, "a1") == "a1"
    assert rank_between(None, None, "a7") == "a7"


@pytest.mark.parametrize(("lower", "upper", "current"), [
    ("a0", "a1", "a5"),  # above
    ("a2", "a4", "a1"),  # below
    ("a0", "a2", "a0"),  # on the lower bound
    ("a0", "a2", "a2"),  # on the upper bound
    (None, "a0", "a0"),
    ("a3", None, "a3"),
    ("a0", "a2", None),
])
def test_a_new_key_otherwise(lower, upper, current):
    assert rank_between(lower, upper, current) == generate_key_between(lower, upper)


def test_first_and_end_keys():
    assert rank_between(None, None) == "a0"
    assert rank_between("a0", None) == "a1"
    assert rank_between(None, "a0") < "a0"


def test_bounds_in_the_wrong_order_are_refused():
    with pytest.raises(Exception, match=">="):
        rank_between("a2", "a1")
    with pytest.raises(Exception, match=">="):
        rank_between("a1", "a1", "a1")


@FAST
@given(bounds())
def test_the_rank_sorts_strictly_between_any_two_ranks(pair):
    lower, upper = pair
    rank = rank_between(lower, upper)
    assert lower is None or lower < rank
    assert upper is None or rank < upper


@FAST
@given(bounds(), st.data())
def test_current_is_kept_exactly_when_it_is_between(pair, data):
    lower, upper = pair
    current = data.draw(st.sampled_from(data.draw(sorted_ranks())))
    between = (lower is None or lower < current) and (upper is None or current < upper)
    assert rank_between(lower, upper, current) == (current if between else generate_key_between(lower, upper))


@FAST
@given(sorted_ranks())
def test_inserting_between_neighbours_keeps_a_column_sorted(ranks):
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
    with_new = [rank_between(lower, upper) for lower, upper in zip([None, *ranks], [*ranks, None],
                                                                   strict=True)]
    merged = [rank for pair in zip(with_new, [*ranks, None], strict=True) for rank in pair if rank]
    assert merged == sorted(merged) and len(set(merged)) == len(merged)


# --- the CLI's optimistic rank agrees with the server's ---------------------------------------------


@FAST
@given(bounds())
def test_the_cli_computes_the_rank_the_server_would(pair):
    assert cli_rank_between(*pair) == rank_between(*pair)


# --- card references --------------------------------------------------------------------------------

CARD_ID = uuid.UUID("12345678-1234-5678-1234-567812345678")


@pytest.mark.parametrize("text", [str(CARD_ID), str(CARD_ID).upper(), CARD_ID.hex, f"{{{CARD_ID}}}",
                                  f"urn:uuid:{CARD_ID}"])
def test_as_uuid(text):
    assert as_uuid(text) == CARD_ID


@pytest.mark.parametrize("text", ["", "WEB-12", "12", str(CARD_ID)[:-1], str(CARD_ID) + "0",
                                  str(CARD_ID).replace("1", "g")])
def test_as_uuid_of_other_text(text):
    assert as_uuid(text) is None


@pytest.mark.parametrize(("ref", "numbers", "expected"), [
    (str(CARD_ID), False, (CARD_ID, None, None)),
    (str(CARD_ID), True, (CARD_ID, None, None)),
    ("web-12", False, (None, "WEB", 12)),
    (" WEB-999999999 ", True, (None, "WEB", 999_999_999)),
    ("12", True, (None, None, 12)),
    (" 7 ", True, (None, None, 7)),
    ("0012", True, (None, None, 12)),
    ("999999999", True, (None, None, 999_999_999)),
])
def test_parse_card_reference(ref, numbers, expected):
    assert parse_card_reference(ref, numbers) == expected


@pytest.mark.parametrize(("ref", "numbers"), [
    ("12", False), ("1234567890", True), ("WEB-0", True), ("WEB-1234567890", True), ("-1", True),
    ("1.5", True), ("", True), ("WEB 12", True), ("#12", True),
])
def test_parse_card_reference_of_other_text(ref, numbers):
    assert parse_card_reference(ref, numbers) is None


def test_numbers_fit_a_postgres_integer():
    assert MAX_NUMBER == 2**31 - 1
    assert parse_card_reference("999999999", numbers=True)[2] <= MAX_NUMBER


def test_parse_card_reference_of_a_superscript_digit():
    assert parse_card_reference("²", numbers=True) is None
    assert parse_card_reference("١٢", numbers=True) is None  # Arabic-Indic digits are not card numbers


def test_shown_quotes_and_shortens():
    assert shown("WEB-12") == "'WEB-12'"
    assert shown("x" * 64) == repr("x" * 64)
    long = shown("y" * 65)
    assert long == repr("y" * 61 + "...") and len(long) == 66
    assert shown("it's") == '"it\'s"'
