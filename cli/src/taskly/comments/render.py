"""A card's comments for people (`taskly comments CARD`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..core.output import printable
from ..core.render import comment_handle, key, when

if TYPE_CHECKING:
    from taskly_shared.models import CardOut, CommentOut

    from ..core.output import Output


def render_comments(out: Output, card: CardOut, comments: Sequence[CommentOut]) -> None:
    """Each comment: its short id, author, time (edited ones say so), then its text; in a pipe, one
    tab-separated line each (id, author, time, edited, the text with its newlines escaped)."""
    if not out.stdout.isatty():
        for c in comments:
            out.line("\t".join([comment_handle(c), printable(c.author or "?"), c.created_at.isoformat(),
                                "edited" if c.edited else "", printable(c.body)]))
        return
    out.line(f"{key(card)}  {printable(card.title)} · {len(comments)} comment{'s' * (len(comments) != 1)}")
    for c in comments:
        out.line()
        out.line(f"{comment_handle(c)}  {printable(c.author or '?')} · {when(c.created_at)}"
                 f"{' (edited)' if c.edited else ''}", style="dim")
        for line in printable(c.body.rstrip(), multiline=True).split("\n"):
            out.line(f"  {line}")
