"""Which cards a pull request links to: keys in its head branch and title, closing words in its body."""

from __future__ import annotations

from taskly_shared.keys import closing_keys, mentioned_keys

from .payloads import PullSnapshot

MAX_KEYS = 50
"""Keys looked up per pull request: a body listing hundreds of keys links the first ones only."""


def linked_keys(pull: PullSnapshot) -> list[tuple[str, int]]:
    """Card keys of the head branch (`web-7-fix-login`), the title (`WEB-7: …`) and the body after a
    closing word (`Fixes WEB-7`); a bare key elsewhere in the body does not link. Resolved within
    the repository's workspace (`PullStore.cards_for_keys`)."""
    found: dict[tuple[str, int], None] = {}
    for key in (*mentioned_keys(pull.head_branch), *mentioned_keys(pull.title), *closing_keys(pull.body)):
        found[key] = None
    return list(found)[:MAX_KEYS]
