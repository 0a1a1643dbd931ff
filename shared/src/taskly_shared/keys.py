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


BRANCH_TEMPLATE_FIELDS = ("key", "number", "slug")


def branch_from_template(template: str | None, board_key: str, number: int, title: str,
                         max_length: int = BRANCH_MAX) -> str:
    """A board's branch template (`{key}` lower-case card key, `{number}`, `{slug}`) filled in.

    The slug is cut at a word so the name stays within `max_length`; a template that does not
    give a usable git branch name falls back to `branch_name`.
    """
    if not template:
        return branch_name(board_key, number, title, max_length)
    key = format_card_key(board_key, number).lower()
    try:
        fixed = template.format(key=key, number=number, slug="")
    except (KeyError, IndexError, ValueError, AttributeError, TypeError):  # any text can be a template
        return branch_name(board_key, number, title, max_length)
    room = max_length - len(fixed)
    slug = slugify(title)
    if len(slug) > room:
        cut = slug[: room + 1]
        slug = cut[: cut.rfind("-")] if "-" in cut else slug[: max(room, 0)]
    name = template.format(key=key, number=number, slug=slug.strip("-"))
    name = re.sub(r"-{2,}", "-", name).strip("-/")
    name = re.sub(r"-+/", "/", re.sub(r"/-+", "/", name))
    if not _usable_branch(name) or len(name) > max_length:
        return branch_name(board_key, number, title, max_length)
    return name


def _usable_branch(name: str) -> bool:
    return bool(name) and re.fullmatch(r"[A-Za-z0-9._/-]+", name) is not None and not (
        name.startswith((".", "/", "-")) or name.endswith((".", "/", ".lock"))
        or ".." in name or "//" in name or "/." in name)


_KEY = r"(?<![A-Za-z0-9])[A-Za-z]{2,10}-[1-9][0-9]{0,8}(?![A-Za-z0-9])"
KEY_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9])(?P<board>[A-Za-z]{2,10})-(?P<number>[1-9][0-9]{0,8})(?![A-Za-z0-9])")
CLOSING_RE = re.compile(
    r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\b\s*:?\s*"
    rf"(?P<keys>{_KEY}(?:\s*(?:,|&|\band\b)\s*{_KEY})*)",
    re.IGNORECASE,
)


def mentioned_keys(text: str | None) -> list[tuple[str, int]]:
    """Every card key in `text` (`WEB-7`, `web-7-fix-login`, `feature/web-7`), once each, in order."""
    found: dict[tuple[str, int], None] = {}
    for match in KEY_TOKEN_RE.finditer(text or ""):
        found[(match["board"].upper(), int(match["number"]))] = None
    return list(found)


def closing_keys(text: str | None) -> list[tuple[str, int]]:
    """Card keys that follow a closing word: `Fixes WEB-7`, `closes: web-8, WEB-9 and WEB-10`.

    The words are close(s/d), fix(es/ed) and resolve(s/d), in any case; `Fixes #12` names an issue,
    not a card, and a key elsewhere in the text is not closed by it.
    """
    found: dict[tuple[str, int], None] = {}
    for match in CLOSING_RE.finditer(text or ""):
        for key in mentioned_keys(match["keys"]):
            found[key] = None
    return list(found)
