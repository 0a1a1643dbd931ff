"""Card keys, branch names and the keys a commit or pull request mentions or closes."""

from __future__ import annotations

import pytest
from taskly_shared.keys import (
    BRANCH_MAX,
    branch_from_template,
    branch_name,
    closing_keys,
    format_card_key,
    key_from_branch,
    mentioned_keys,
    parse_card_key,
    slugify,
)

LONG_TITLE = "Fix the login redirect loop on Safari and Firefox browsers today"


def test_format_card_key():
    assert format_card_key("WEB", 12) == "WEB-12"


@pytest.mark.parametrize(("text", "expected"), [
    ("WEB-12", ("WEB", 12)),
    ("web-12", ("WEB", 12)),
    ("  Web-1 ", ("WEB", 1)),
    ("AB-999999999", ("AB", 999999999)),
    ("ABCDEFGHIJ-3", ("ABCDEFGHIJ", 3)),
])
def test_parse_card_key(text, expected):
    assert parse_card_key(text) == expected


@pytest.mark.parametrize("text", ["", "WEB", "WEB-", "WEB-0", "WEB-012", "W-1", "ABCDEFGHIJK-1",
                                  "AB-1000000000", "WEB12", "WEB_12", "WEB-12x", "WEB-1-2", "W3B-1", "#12",
                                  "12"])
def test_parse_card_key_refuses(text):
    assert parse_card_key(text) is None


@pytest.mark.parametrize(("board", "number"), [("WEB", 1), ("AB", 999999999), ("ABCDEFGHIJ", 42)])
def test_format_and_parse_round_trip(board, number):
    assert parse_card_key(format_card_key(board, number)) == (board, number)


@pytest.mark.parametrize(("text", "expected"), [
    ("Fix login redirect", "fix-login-redirect"),
    ("  Crème brûlée: v2.0!  ", "creme-brulee-v2-0"),
    ("ÅNGSTRÖM & naïve café", "angstrom-naive-cafe"),
    ("日本語", ""),
    ("---", ""),
    ("", ""),
    ("a__b  c", "a-b-c"),
])
def test_slugify(text, expected):
    assert slugify(text) == expected


def test_branch_name_short_title():
    assert branch_name("WEB", 12, "Fix login redirect") == "web-12-fix-login-redirect"


def test_branch_name_without_a_slug_is_the_key():
    assert branch_name("WEB", 12, "") == "web-12"
    assert branch_name("WEB", 12, "!!! 日本") == "web-12"


def test_branch_name_is_cut_at_a_word_within_the_limit():
    name = branch_name("WEB", 12, LONG_TITLE)
    assert name == "web-12-fix-the-login-redirect-loop-on-safari-and-firefox"
    assert len(name) <= BRANCH_MAX and LONG_TITLE.lower().replace(" ", "-").startswith(name[7:])


def test_branch_name_exactly_at_the_limit_is_kept():
    title = "x" * (BRANCH_MAX - len("web-12-"))
    assert branch_name("WEB", 12, title) == f"web-12-{title}"
    assert len(branch_name("WEB", 12, title + " y")) == BRANCH_MAX


def test_branch_name_cuts_a_single_long_word():
    name = branch_name("WEB", 12, "a" * 100)
    assert name == "web-12-" + "a" * (BRANCH_MAX - 7) and len(name) == BRANCH_MAX


def test_branch_name_word_ending_at_the_limit():
    title = "a" * (BRANCH_MAX - 7) + " next"
    assert branch_name("WEB", 12, title) == "web-12-" + "a" * (BRANCH_MAX - 7)


@pytest.mark.parametrize("limit", [20, 30, 45, 60, 80])
def test_branch_name_respects_any_limit_and_keeps_the_key(limit):
    name = branch_name("WEB", 12, LONG_TITLE, max_length=limit)
    assert len(name) <= limit and not name.endswith("-")
    assert key_from_branch(name) == ("WEB", 12)


@pytest.mark.parametrize(("branch", "expected"), [
    ("web-12", ("WEB", 12)),
    ("web-12-fix-login", ("WEB", 12)),
    ("WEB-12_fix", ("WEB", 12)),
    ("web-12/sub", ("WEB", 12)),
    ("web-12.fix", ("WEB", 12)),
    ("feature/web-12", ("WEB", 12)),
    ("users/me/feature/web-7-x", ("WEB", 7)),
    ("fix.v2/web-7", ("WEB", 7)),
])
def test_key_from_branch(branch, expected):
    assert key_from_branch(branch) == expected


@pytest.mark.parametrize("branch", ["main", "web-0-x", "web-12x", "feature-web-12", "fix/web", "w-12",
                                    "web-1234567890", "x web-12", "/web-12x"])
def test_key_from_branch_refuses(branch):
    assert key_from_branch(branch) is None


def test_key_from_branch_of_branch_name_round_trips():
    for board, number, title in (("WEB", 1, "x"), ("ABCDEFGHIJ", 999999999, LONG_TITLE), ("OPS", 7, "")):
        assert key_from_branch(branch_name(board, number, title)) == (board, number)


# --- templates --------------------------------------------------------------------------------------


@pytest.mark.parametrize("template", [None, ""])
def test_no_template_is_the_default_branch_name(template):
    assert branch_from_template(template, "WEB", 12, "Fix login") == "web-12-fix-login"


@pytest.mark.parametrize(("template", "expected"), [
    ("feature/{key}-{slug}", "feature/web-12-fix-login"),
    ("{key}/{slug}", "web-12/fix-login"),
    ("{number}-{slug}", "12-fix-login"),
    ("{key}", "web-12"),
    ("dev/{key}", "dev/web-12"),
])
def test_template_fields(template, expected):
    assert branch_from_template(template, "WEB", 12, "Fix login") == expected


def test_template_with_an_empty_slug_drops_the_separators():
    assert branch_from_template("feature/{key}-{slug}", "WEB", 12, "!!!") == "feature/web-12"
    assert branch_from_template("{slug}/{key}", "WEB", 12, "") == "web-12"
    assert branch_from_template("{key}--{slug}", "WEB", 12, "x") == "web-12-x"


def test_template_slug_is_cut_at_a_word():
    name = branch_from_template("feature/{key}-{slug}", "WEB", 12, LONG_TITLE)
    assert name == "feature/web-12-fix-the-login-redirect-loop-on-safari-and"
    assert len(name) <= BRANCH_MAX


def test_template_keeps_the_limit_with_text_after_the_slug():
    name = branch_from_template("feat/{key}-{slug}-{number}", "WEB", 12, LONG_TITLE)
    assert len(name) <= BRANCH_MAX and name.startswith("feat/web-12-fix-") and name.endswith("-12")


@pytest.mark.parametrize("template", [
    "{unknown}", "{0}", "{}", "{key", "key}", "../{key}", "{key}.lock", "{key} {slug}", ".{key}", "a//{key}", "{key}/.x", "x" * 70 + "{key}", "{key:>300}", "{key}~1", "{key}@{{x}}",
])
def test_unusable_templates_fall_back_to_the_default(template):
    assert branch_from_template(template, "WEB", 12, "Fix login") == "web-12-fix-login"


def test_leading_and_trailing_separators_are_trimmed():
    assert branch_from_template("-{key}/", "WEB", 12, "Fix login") == "web-12"
    assert branch_from_template("/{key}-/-{slug}-", "WEB", 12, "Fix login") == "web-12/fix-login"


@pytest.mark.parametrize("template", ["{key.upper}", "{key!z}", "{key:d}", "{key[99]}"])
def test_templates_that_break_format_fall_back_to_the_default(template):
    assert branch_from_template(template, "WEB", 12, "Fix login") == "web-12-fix-login"


@pytest.mark.parametrize("template", ["{key.nope}", "{number[0]}", "{number.real.x}"])
def test_templates_with_bad_attribute_or_index_fall_back_to_the_default(template):
    # A board's branch_template is only length-checked (BoardPatch), so any text can reach here.
    assert branch_from_template(template, "WEB", 12, "Fix login") == "web-12-fix-login"


# --- mentions and closing words ---------------------------------------------------------------------


def test_mentioned_keys_in_order_once_each():
    text = "WEB-7 relates to api-3, see feature/web-7 and (OPS-12); web-7 again"
    assert mentioned_keys(text) == [("WEB", 7), ("API", 3), ("OPS", 12)]


@pytest.mark.parametrize("text", [None, "", "no keys here", "WEB-0", "WEB-7x", "WEB-07", "#12",
                                  "W-1", "abcdefghijk-1", "web-1234567890", "2WEB-1"])
def test_no_mentions(text):
    assert mentioned_keys(text) == []


def test_mentions_in_branch_names():
    assert mentioned_keys("web-7-fix-login") == [("WEB", 7)]
    assert mentioned_keys("Merge branch 'feature/web-8_x' into main") == [("WEB", 8)]


@pytest.mark.parametrize(("text", "expected"), [
    ("Fixes WEB-7", [("WEB", 7)]),
    ("fix web-7", [("WEB", 7)]),
    ("FIXED: WEB-7", [("WEB", 7)]),
    ("close WEB-1", [("WEB", 1)]),
    ("Closes WEB-1", [("WEB", 1)]),
    ("closed WEB-1", [("WEB", 1)]),
    ("resolve WEB-1, resolves WEB-2 and resolved WEB-3", [("WEB", 1), ("WEB", 2), ("WEB", 3)]),
    ("closes: web-8, WEB-9 and WEB-10", [("WEB", 8), ("WEB", 9), ("WEB", 10)]),
    ("fixes WEB-1 & WEB-2,WEB-3", [("WEB", 1), ("WEB", 2), ("WEB", 3)]),
    ("Fixes WEB-1\n\nAlso fixes web-1 and OPS-2", [("WEB", 1), ("OPS", 2)]),
])
def test_closing_keys(text, expected):
    assert closing_keys(text) == expected


@pytest.mark.parametrize("text", [None, "", "Fixes #12", "WEB-7", "see WEB-7, fixes nothing",
                                  "prefix WEB-7", "closing WEB-7", "fixing WEB-7", "Fixes WEB-0",
                                  "unresolved WEB-7"])
def test_not_closing(text):
    assert closing_keys(text) == []


def test_only_keys_right_after_the_closing_word_are_closed():
    assert closing_keys("Fixes WEB-1 WEB-2, relates to WEB-3") == [("WEB", 1)]
    assert closing_keys("WEB-3: fixes WEB-4") == [("WEB", 4)]
