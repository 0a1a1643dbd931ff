"""Card keys (`CARD-12`), board keys and branch names."""

import re
import unicodedata

BOARD_KEY_RE = re.compile(r"^[A-Z]{2,10}$")
CARD_KEY_RE = re.compile(r"^(?P<board>[A-Za-z]{2,10})-(?P<number>[1-9][0-9]{0,8})$")
BRANCH_KEY_RE = re.compile(r"^(?:[\w.-]+/)*(?P<board>[A-Za-z]{2,10})-(?P<number>[1-9][0-9]{0,8})(?:\b|[-_/])")
BRANCH_MAX = 60


def format_card_key(board_key: str, number: int) -> str:
    """`CARD` and 12 give `CARD-12`."""
    return f"{board_key}-{number}"


def parse_card_key(text: str) -> tuple[str, int] | None:
    """`card-12` gives ("CARD", 12); anything that is not a key gives None."""
    match = CARD_KEY_RE.match(text.strip())
    if match is None:
        return None
    return match["board"].upper(), int(match["number"])


def slugify(text: str) -> str:
    """ASCII, lower-case words joined by hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def branch_name(board_key: str, number: int, title: str, max_length: int = BRANCH_MAX) -> str:
    """`card-12-fix-login-redirect`: lower-case key and title slug, cut at a word, ≤ 60 chars."""
    prefix = f"{board_key.lower()}-{number}"
    slug = slugify(title)
    if not slug:
        return prefix
    name = f"{prefix}-{slug}"
    if len(name) <= max_length:
        return name
    cut = name[: max_length + 1]
    cut = cut[: cut.rfind("-")] if "-" in cut[len(prefix) + 1 :] else cut[:max_length]
    return cut.rstrip("-")


def key_from_branch(branch: str) -> tuple[str, int] | None:
    """The card key a branch starts with (`card-12-fix` or `feature/card-12`), if any."""
    match = BRANCH_KEY_RE.match(branch)
    if match is None:
        return None
    return match["board"].upper(), int(match["number"])
