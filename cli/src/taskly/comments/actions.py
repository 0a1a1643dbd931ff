"""Comments on cards: add, edit, delete (written to the cache and the outbox, so they work
offline), and a card's comments (refreshed from the server when it answers).

A comment is named by its id or a unique prefix of it: the 8-digit short id that `show`,
`comments` and the board's detail view print. Only its author edits a comment; its author or an
admin of the workspace deletes it: checked here against the cache first (so a write that the
server would refuse is not queued), and by the server when the write arrives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..cards import resolve as card_resolve
from ..core import resolve
from ..core.errors import Forbidden, UsageError

if TYPE_CHECKING:
    from taskly_shared.models import CardOut, CommentOut

    from ..core.context import Factory
    from ..sync.results import WriteResult

ADMIN_ROLES = ("admin", "owner")


def add(f: Factory, ref: str | None, body: str) -> WriteResult[CommentOut]:
    if not body.strip():
        raise UsageError("the comment is empty")
    resolve.fresh(f, note_stale=False)
    return f.engine.add_comment(card_resolve.card_id(f, ref), body)


def listing(f: Factory, ref: str | None) -> tuple[CardOut, list[CommentOut]]:
    """A card and its live comments, oldest first (fresh from the server when it answers)."""
    from ..cards.actions import detail

    return detail(f, ref)


def find(f: Factory, ref: str) -> dict[str, Any]:
    """A cached live comment by id or short id (after a quick pull)."""
    from ..sync.writes import find_comment

    resolve.fresh(f, note_stale=False)
    return find_comment(f.store, ref)


def edit(f: Factory, ref: str, body: str | None, in_editor: bool) -> WriteResult[CommentOut] | None:
    """A comment's new body (given, or from `$EDITOR`); None when the editor changed nothing."""
    comment = find(f, ref)
    me = resolve.me(f)
    if (comment.get("author") or "").lower() != me.lower():
        raise Forbidden(f"only the author can edit a comment; this one is {comment.get('author') or 'unknown'}'s",
                        code="forbidden")
    if in_editor:
        body = edit_body(f, str(comment["body"]))
        if body.strip("\n") == str(comment["body"]).strip("\n"):
            return None
    if body is None or not body.strip():
        raise UsageError("the comment is empty (taskly comment rm ID deletes it)")
    return f.engine.edit_comment(comment["id"], body)


def remove(f: Factory, ref: str) -> WriteResult[CommentOut]:
    comment = find(f, ref)
    me = resolve.me(f)
    if (comment.get("author") or "").lower() != me.lower():
        role = next((m.role.value for m in f.store.members(str(comment["workspace_id"]))
                     if m.username.lower() == me.lower()), None)
        if role not in ADMIN_ROLES:
            raise Forbidden("only the author or a workspace admin can delete a comment", code="forbidden")
    return f.engine.delete_comment(comment["id"])


EDITOR_HELP = ("# Edit the comment below (markdown). Lines starting with # before it are ignored.\n"
               "# An empty comment saves nothing.\n")


def edit_body(f: Factory, body: str) -> str:
    """The comment's body as edited in `$VISUAL`/`$EDITOR` (the help lines on top are dropped)."""
    from ..core import editor

    lines = editor.edit(f, EDITOR_HELP + body, "comment").split("\n")
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "\n".join(lines).strip("\n")
