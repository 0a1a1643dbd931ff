"""`taskly comment [CARD] TEXT`, `taskly comment edit ID TEXT|-e`, `taskly comment rm ID` and
`taskly comments [CARD]`.

`comment`'s first argument is a subcommand (`edit`, `rm`) or, when it is none of them, what
`comment add` takes: the card (default: the current branch's) and the text. Writes work offline
(queued, exit 0, "queued" on stderr).
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from ..core.completion import complete_card
from ..core.context import factory


class CommentGroup(TyperGroup):
    """A group whose first argument is a subcommand or, when it is none of them, a comment to add."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.subcommand_metavar = "[CARD] TEXT | COMMAND [ARGS]..."

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        args = list(args)
        first = self._first_positional(args)
        if first is not None and args[first] not in self.commands:
            args.insert(first, "add")
        return super().parse_args(ctx, args)

    def _first_positional(self, args: list[str]) -> int | None:
        """The index of the first argument that is neither an option nor an option's value."""
        takes_value = {opt for param in self.params if getattr(param, "param_type_name", "") == "option"
                       and not getattr(param, "is_flag", False) and not getattr(param, "count", False)
                       for opt in param.opts}
        index = 0
        while index < len(args):
            arg = args[index]
            if arg == "--":
                return index + 1 if index + 1 < len(args) else None
            if not arg.startswith("-") or arg == "-":
                return index
            index += 2 if arg in takes_value else 1
        return None

    def list_commands(self, ctx: Any) -> list[str]:
        return [name for name in super().list_commands(ctx) if name != "add"]


app = typer.Typer()
"""The noun's commands: the `comment` group and `comments` (main's registry picks them by name)."""

comment_app = typer.Typer(cls=CommentGroup, no_args_is_help=True,
                          help="Comment on a card, or edit or delete a comment (edit ID, rm ID).")


@comment_app.command("add", hidden=True)
def add(args: list[str] = typer.Argument(..., metavar="[CARD] TEXT",
                                         help="Card (default: the current branch's) and text; - reads stdin.")) -> None:
    """Comment on a card."""
    import sys

    from ..core.render import comment_handle, report_write
    from .actions import add as add_comment

    ref, words = _card_and_text(args)
    body = sys.stdin.read() if words == ["-"] else " ".join(words)
    f = factory()
    result = add_comment(f, ref, body)
    report_write(f.output, result, f"Comment {comment_handle(result.entity)} added")
    f.output.data(result.entity, lambda c: f.output.line(str(c.id)))


@comment_app.command("edit")
def edit(comment: str = typer.Argument(..., metavar="ID", help="The comment's id or short id (as `show` prints it)."),
         text: list[str] = typer.Argument(None, metavar="[TEXT]", help="The new text; - reads stdin."),
         in_editor: bool = typer.Option(False, "-e", "--editor", help="Edit the text in $VISUAL/$EDITOR.")) -> None:
    """Change a comment's text (its author only); it then shows as edited."""
    import sys

    from ..core.errors import UsageError
    from ..core.render import comment_handle, report_write
    from .actions import edit as edit_comment

    if bool(text) == in_editor:
        raise UsageError("give the new TEXT or -e (not both)")
    body = None if in_editor else (sys.stdin.read() if text == ["-"] else " ".join(text))
    f = factory()
    result = edit_comment(f, comment, body, in_editor)
    if result is None:
        f.output.note("no changes")
        return
    report_write(f.output, result, f"Comment {comment_handle(result.entity)} edited")
    f.output.data(result.entity, lambda c: f.output.line(str(c.id)))


@comment_app.command("rm")
def rm(comment: str = typer.Argument(..., metavar="ID", help="The comment's id or short id.")) -> None:
    """Delete a comment (its author, or an admin of the workspace)."""
    from ..core.render import comment_handle, report_write
    from .actions import remove

    f = factory()
    result = remove(f, comment)
    report_write(f.output, result, f"Comment {comment_handle(result.entity)} deleted")
    f.output.data(result.entity, lambda c: None)


app.add_typer(comment_app, name="comment")


@app.command("comments")
def comments(card: str = typer.Argument(None, metavar="[CARD]", autocompletion=complete_card,
                                        help="Card key or number; default: the current branch's.")) -> None:
    """List a card's comments with their short ids, oldest first (edited ones say so)."""
    from .actions import listing
    from .render import render_comments

    f = factory()
    found, listed = listing(f, card)
    f.output.data(listed, lambda c: render_comments(f.output, found, c))


def _card_and_text(args: list[str]) -> tuple[str | None, list[str]]:
    from taskly_shared.keys import parse_card_key

    first = args[0].lstrip("#")
    if len(args) > 1 and (first.isdigit() or parse_card_key(first)):
        return args[0], args[1:]
    return None, args
