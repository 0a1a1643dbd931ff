"""Card commands: ls, show, add, edit, mv, assign, comment, log, search, rm, restore, open.

Cards are named by key (`WEB-12`) or by number within the current board (`12`); commands whose
CARD is optional use the card of the current git branch. Reads come from the cache after a quick
pull; writes work offline (queued, exit 0, "queued" on stderr).
"""

from __future__ import annotations

import typer

from ..completion import complete_card, complete_column
from ..context import factory

app = typer.Typer()

CARD = typer.Argument(..., metavar="CARD", autocompletion=complete_card,
                      help="Card key (WEB-12) or number in the current board (12).")
BRANCH_CARD = typer.Argument(None, metavar="[CARD]", autocompletion=complete_card,
                             help="Card key or number; default: the current branch's.")


@app.command("ls")
def ls(
    column: str = typer.Option(None, "--column", "-c", autocompletion=complete_column, help="Only this column (name, any case)."),
    label: list[str] = typer.Option(None, "--label", "-l", help="Only cards with this label (repeatable: all)."),
    assignee: list[str] = typer.Option(None, "--assignee", "-a", help="Assigned to this user (repeatable: any)."),
    mine: bool = typer.Option(False, "--mine", help="Only cards assigned to you."),
    priority: list[str] = typer.Option(None, "--priority", "-p", help="Only this priority (repeatable: any)."),
    sprint: str = typer.Option(None, "--sprint", help="Only cards of this sprint (name)."),
    all_cards: bool = typer.Option(False, "--all", help="Include deleted cards."),
) -> None:
    """List the current board's cards, ordered by column then rank."""
    from ..cards import as_cards, listing_json
    from ..render import render_cards

    f = factory()
    cards = listing_json(f, column=column, labels=label or [], assignees=assignee or [], mine=mine,
                         priorities=priority or [], sprint=sprint, include_deleted=all_cards)
    f.output.data(cards, lambda c: render_cards(f.output, as_cards(c)))


@app.command("show")
def show(card: str = BRANCH_CARD) -> None:
    """Show a card: fields, description and comments (JSON: the card with its comments)."""
    from ..cards import detail
    from ..output import to_jsonable
    from ..render import render_card

    f = factory()
    found, comments = detail(f, card)
    if f.output.json:
        f.output.data({**to_jsonable(found), "comments": to_jsonable(comments)})
    else:
        render_card(f.output, found, comments)


def _options(title, description, label, priority, points, due, assign) -> dict:
    return {"title": title, "description": description, "labels": label or None, "priority": priority,
            "points": points, "due": due, "assignees": assign or None}


@app.command("add")
def add(
    title: str = typer.Argument(None, help="The card's title (or write it in the editor with -e)."),
    column: str = typer.Option(None, "--column", "-c", autocompletion=complete_column, help="Column (default: the board's first)."),
    label: list[str] = typer.Option(None, "--label", "-l", help="Label (repeatable)."),
    priority: str = typer.Option(None, "--priority", "-p", help="none, low, medium, high or urgent."),
    points: int = typer.Option(None, "--points", min=0, max=99, help="Story points."),
    due: str = typer.Option(None, "--due", help="YYYY-MM-DD, today, tomorrow, +3d, +2w."),
    assign: list[str] = typer.Option(None, "--assign", help="Assignee username (repeatable; me = you)."),
    description: str = typer.Option(None, "--description", "-d", help="Markdown description."),
    editor: bool = typer.Option(False, "-e", "--editor", help="Write title and description in $EDITOR."),
) -> None:
    """Create a card on the current board."""
    from ..cards import create, edit_text
    from ..errors import UsageError
    from ..render import key, report_write

    f = factory()
    if editor:
        title, description = edit_text(f, title or "", description or "")
    if not title:
        raise UsageError("a title is needed: taskly add TITLE (or -e for the editor)")
    options = _options(None, description, label, priority, points, due, assign)
    options.pop("title")
    result = create(f, title, column, **options)
    report_write(f.output, result, f"Created {key(result.entity)} in {result.entity.column}")
    f.output.data(result.entity, lambda c: f.output.line(key(c)))


@app.command("edit")
def edit(
    card: str = CARD,
    title: str = typer.Option(None, "--title", "-t", help="New title."),
    column: str = typer.Option(None, "--column", "-c", autocompletion=complete_column, help="Move to the bottom of this column."),
    label: list[str] = typer.Option(None, "--label", "-l", help="Set the labels (repeatable)."),
    add_label: list[str] = typer.Option(None, "--add-label", help="Add a label (repeatable)."),
    remove_label: list[str] = typer.Option(None, "--remove-label", help="Remove a label (repeatable)."),
    priority: str = typer.Option(None, "--priority", "-p", help="none, low, medium, high or urgent."),
    points: int = typer.Option(None, "--points", min=0, max=99, help="Story points."),
    due: str = typer.Option(None, "--due", help="YYYY-MM-DD, today, tomorrow, +3d, +2w; none clears."),
    assign: list[str] = typer.Option(None, "--assign", help="Set the assignees (repeatable)."),
    description: str = typer.Option(None, "--description", "-d", help="New markdown description."),
    editor: bool = typer.Option(False, "-e", "--editor", help="Edit title and description in $EDITOR."),
) -> None:
    """Change a card's fields (only those given)."""
    from .. import resolve
    from ..cards import edit as edit_card
    from ..cards import edit_text
    from ..render import key, report_write

    f = factory()
    if editor:
        current = resolve.card(f, card)
        title, description = edit_text(f, title or current.title,
                                       current.description if description is None else description)
    result = edit_card(f, card, column, add_label or [], remove_label or [],
                       **_options(title, description, label, priority, points, due, assign))
    report_write(f.output, result, f"Updated {key(result.entity)}")
    f.output.data(result.entity, lambda c: f.output.line(key(c)))


@app.command("mv")
def mv(
    card: str = CARD,
    column: str = typer.Argument(..., autocompletion=complete_column, help="Target column (name, any case)."),
    top: bool = typer.Option(False, "--top", help="Put it first in the column."),
    bottom: bool = typer.Option(False, "--bottom", help="Put it last in the column (the default)."),
    after: str = typer.Option(None, "--after", metavar="CARD", autocompletion=complete_card, help="Put it just after this card."),
    before: str = typer.Option(None, "--before", metavar="CARD", autocompletion=complete_card, help="Put it just before this card."),
) -> None:
    """Move a card to a column (bottom, unless --top/--after/--before)."""
    from ..cards import move
    from ..errors import UsageError
    from ..render import key, report_write

    if sum(map(bool, (top, bottom, after, before))) > 1:
        raise UsageError("choose one of --top, --bottom, --after, --before")
    f = factory()
    result = move(f, card, column, position="top" if top else "bottom" if bottom else None,
                  before=before, after=after)
    report_write(f.output, result, f"Moved {key(result.entity)} to {result.entity.column}")
    f.output.data(result.entity, lambda c: f.output.line(key(c)))


@app.command("assign")
def assign(
    card: str = CARD,
    users: list[str] = typer.Argument(..., metavar="USER...", help="Usernames (me = you)."),
    add: bool = typer.Option(False, "--add", help="Add them to the current assignees."),
    remove: bool = typer.Option(False, "--remove", help="Remove them from the assignees."),
) -> None:
    """Set a card's assignees (or --add / --remove some)."""
    from ..cards import assign as assign_card
    from ..errors import UsageError
    from ..render import key, report_write

    if add and remove:
        raise UsageError("choose --add or --remove, not both")
    f = factory()
    result = assign_card(f, card, users, "add" if add else "remove" if remove else "set")
    names = ", ".join(result.entity.assignees) or "nobody"
    report_write(f.output, result, f"{key(result.entity)} is assigned to {names}")
    f.output.data(result.entity, lambda c: f.output.line(key(c)))


@app.command("comment")
def comment(args: list[str] = typer.Argument(..., metavar="[CARD] TEXT",
                                             help="Card (default: the current branch's) and text; - reads stdin.")
            ) -> None:
    """Comment on a card."""
    import sys

    from ..cards import comment as add_comment
    from ..render import report_write

    ref, words = _card_and_text(args)
    body = sys.stdin.read() if words == ["-"] else " ".join(words)
    f = factory()
    result = add_comment(f, ref, body)
    report_write(f.output, result, "Comment added")
    f.output.data(result.entity, lambda c: f.output.line(str(c.id)))


def _card_and_text(args: list[str]) -> tuple[str | None, list[str]]:
    from taskly_shared.keys import parse_card_key

    first = args[0].lstrip("#")
    if len(args) > 1 and (first.isdigit() or parse_card_key(first)):
        return args[0], args[1:]
    return None, args


@app.command("log")
def log(card: str = BRANCH_CARD,
        limit: int = typer.Option(100, "--limit", "-n", min=1, max=1000, help="At most this many changes.")
        ) -> None:
    """Show a card's activity, newest first (needs the server)."""
    from ..cards import activity
    from ..render import render_activity

    f = factory()
    f.output.data(activity(f, card, limit), lambda c: render_activity(f.output, c))


@app.command("search")
def search(query: list[str] = typer.Argument(..., metavar="QUERY...", help="Words that must all match."),
           all_cards: bool = typer.Option(False, "--all", help="Include deleted cards.")) -> None:
    """Search cards in the local cache (key, title, description, labels; any case; all words)."""
    from ..cards import search as search_cards
    from ..render import render_cards

    f = factory()
    f.output.data(search_cards(f, " ".join(query), all_cards), lambda c: render_cards(f.output, c))


@app.command("rm")
def rm(card: str = CARD) -> None:
    """Delete a card (restorable with `taskly restore`)."""
    from ..cards import delete
    from ..render import key, report_write

    f = factory()
    result = delete(f, card)
    report_write(f.output, result, f"Deleted {key(result.entity)} (taskly restore {key(result.entity)})")
    f.output.data(result.entity, lambda c: None)


@app.command("restore")
def restore(card: str = CARD) -> None:
    """Restore a deleted card."""
    from ..cards import restore as restore_card
    from ..render import key, report_write

    f = factory()
    result = restore_card(f, card)
    report_write(f.output, result, f"Restored {key(result.entity)}")
    f.output.data(result.entity, lambda c: None)


@app.command("open")
def open_card(card: str = BRANCH_CARD) -> None:
    """Open a card in the browser; without a display, print its URL."""
    import sys

    from ..cards import url

    f = factory()
    address = url(f, card)
    display = f.environ.get("DISPLAY") or f.environ.get("WAYLAND_DISPLAY") or sys.platform == "darwin"
    if display and not f.output.json:
        import webbrowser

        if webbrowser.open(address):
            f.output.note(f"Opening {address}")
            return
    f.output.data({"url": address}, lambda u: f.output.line(u["url"]))
