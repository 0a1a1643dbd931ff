"""One comment in a card's details: its author, age and short id, then its markdown text.

It takes the focus (tab, a click), and then `e` and `x` act on it: it posts `EditRequested` or
`DeleteRequested` and the app does the rest (the form, the question, the write).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Markdown, Static

from ...core.output import printable
from ...core.render import comment_handle
from ..bindings import COMMENT

if TYPE_CHECKING:

    from taskly_shared.models import CommentOut


class CommentItem(Vertical, can_focus=True):
    """A focusable comment; `e` edits it, `x` deletes it."""

    BINDINGS = COMMENT
    DEFAULT_CSS = """
    CommentItem { height: auto; }
    CommentItem:focus { background: $boost; }
    """

    class EditRequested(Message):
        def __init__(self, comment: CommentOut) -> None:
            super().__init__()
            self.comment = comment

    class DeleteRequested(Message):
        def __init__(self, comment: CommentOut) -> None:
            super().__init__()
            self.comment = comment

    def __init__(self, comment: CommentOut, age: str) -> None:
        super().__init__(classes="comment-item")
        self.comment = comment
        self.age = age

    def compose(self) -> ComposeResult:
        comment = self.comment
        yield Static(f"{printable(comment.author or '?')} · {self.age} · {comment_handle(comment)}"
                     f"{' (edited)' if comment.edited else ''}", classes="comment-author", markup=False)
        yield Markdown(printable(comment.body, multiline=True), classes="comment-body")

    def action_edit_comment(self) -> None:
        self.post_message(self.EditRequested(self.comment))

    def action_delete_comment(self) -> None:
        self.post_message(self.DeleteRequested(self.comment))

