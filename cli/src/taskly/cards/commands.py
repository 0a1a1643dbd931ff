"""Card commands: ls, show, add, edit, mv, assign, search, rm, restore, open (comments: comments/; log: activity/).

Cards are named by key (`WEB-12`) or by number within the current board (`12`); commands whose
CARD is optional use the card of the current git branch. Reads come from the cache after a quick
pull; writes work offline (queued, exit 0, "queued" on stderr).
"""

from __future__ import annotations

import typer

from ..core.completion import (
    complete_card,
    complete_card_then_column,
    complete_card_then_user,
    complete_column,
    complete_label,
    complete_priority,
    complete_sprint,
    complete_user,
)
from ..core.context import factory

app = typer.Typer()

CARD = typer.Argument(..., metavar="CARD", autocompletion=complete_card,
                      help="Card key (WEB-12) or number in the current board (12).")
BRANCH_CARD = typer.Argument(None, metavar="[CARD]", autocompletion=complete_card,
                             help="Card key or number; default: the current branch's.")


SORT = typer.Option(None, "--sort", metavar="KEY", help="Order by key, priority, due, points, updated, created or title.")
DESC = typer.Option(False, "--desc", help="Descending order (with --sort; else the board order reversed).")
LIMIT = typer.Option(None, "--limit", "-n", min=1, metavar="N", help="At most N cards.")
OVERDUE = typer.Option(False, "--overdue", help="Only cards past their due date (not done).")
DUE_BEFORE = typer.Option(None, "--due-before", metavar="DATE", help="Due before DATE (YYYY-MM-DD, today, +7d, fri).")
DUE_AFTER = typer.Option(None, "--due-after", metavar="DATE", help="Due after DATE.")
UNASSIGNED = typer.Option(False, "--unassigned", help="Only cards assigned to nobody.")
NO_DONE = typer.Option(False, "--no-done", help="Leave out cards in done columns.")
UPDATED_SINCE = typer.Option(None, "--updated-since", metavar="DATE", help="Changed on or after DATE (-3d, yesterday, …).")
WHERE = typer.Option(None, "--where", "-w", metavar="FILTER",
                     help="Filter terms: 'label:bug column:todo @maya priority:high overdue sort:-due' (see taskly ls --help).")


@app.command("ls")
def ls(
    column: str = typer.Option(None, "--column", "-c", autocompletion=complete_column, help="Only this column (name, any case)."),
    label: list[str] = typer.Option(None, "--label", "-l", autocompletion=complete_label, help="Only cards with this label (repeatable: all)."),
    assignee: list[str] = typer.Option(None, "--assignee", "-a", autocompletion=complete_user, help="Assigned to this user (repeatable: any)."),
    mine: bool = typer.Option(False, "--mine", help="Only cards assigned to you."),
    priority: list[str] = typer.Option(None, "--priority", "-p", autocompletion=complete_priority, help="Only this priority (repeatable: any)."),
    sprint: str = typer.Option(None, "--sprint", metavar="SPRINT", autocompletion=complete_sprint, help="Only cards of this sprint (name, or current)."),
    all_cards: bool = typer.Option(False, "--all", help="Include deleted cards."),
    sort: str = SORT, desc: bool = DESC, limit: int = LIMIT, overdue: bool = OVERDUE, due_before: str = DUE_BEFORE,
    due_after: str = DUE_AFTER, unassigned: bool = UNASSIGNED, no_done: bool = NO_DONE,
    updated_since: str = UPDATED_SINCE, where: str = WHERE,
) -> None:
    """List the current board's cards, ordered by column then rank (or --sort).

    --where takes the filter grammar of the board's / too: label:NAME column:NAME assignee:USER (@USER)
    priority:P[,P] sprint:NAME mine overdue unassigned no-done due-before:DATE due-after:DATE
    updated-since:DATE sort:[-]KEY limit:N, and words the title, description or labels contain."""
    from ..core import resolve
    from .actions import as_cards, label_colors, listing_json, where_of
    from .render import render_cards

    f = factory()
    query = where_of(where, sort=sort, desc=desc, limit=limit, overdue=overdue, due_before=due_before,
                     due_after=due_after, unassigned=unassigned, no_done=no_done, updated_since=updated_since)
    cards = listing_json(f, column=column, labels=label or [], assignees=assignee or [], mine=mine,
                         priorities=priority or [], sprint=sprint, include_deleted=all_cards, where=query)
    pending = any(not card["key"] for card in cards)  # cards made offline show as KEY-?<handle>
    board_key = resolve.board_json(f)["key"] if pending else None
    f.output.data(cards, lambda c: render_cards(f.output, as_cards(c), board_key, label_colors(f, c)))


@app.command("show")
def show(card: str = BRANCH_CARD) -> None:
    """Show a card: fields, description and comments (JSON: the card with its comments)."""
    from ..core.output import to_jsonable
    from .actions import detail, label_colors
    from .render import render_card

    f = factory()
    found, comments = detail(f, card)
    if f.output.json:
        f.output.data({**to_jsonable(found), "comments": to_jsonable(comments)})
    else:
        zone = f.store.meta("timezone") if found.remind_at else None
        if zone:
            from zoneinfo import ZoneInfo

            zone = ZoneInfo(zone)
        render_card(f.output, found, comments, zone, label_colors(f, [found]))


def _options(title, description, label, priority, points, due, assign, sprint=None, repeat=None, every=None,
             remind=None) -> dict:
    return {"title": title, "description": description, "labels": label or None, "priority": priority,
            "points": points, "due": due, "assignees": assign or None, "sprint": sprint, "repeat": repeat,
            "every": every, "remind": remind}


REPEAT = typer.Option(None, "--repeat", metavar="RULE", help="Recur: daily, weekly, monthly or none.")
EVERY = typer.Option(None, "--every", min=1, max=365, metavar="N", help="With --repeat: every N days, weeks or months.")
REMIND = typer.Option(None, "--remind", metavar="WHEN",
                      help="Remind at: ISO date-time, 'tomorrow 9:00', '+2h', 'fri 14:00' (your time zone); none clears.")


SPRINT = typer.Option(None, "--sprint", metavar="SPRINT", autocompletion=complete_sprint, help="Sprint name, current (the active one) or none.")


@app.command("add")
def add(
    title: str = typer.Argument(None, help="The card's title (or write it in the editor with -e)."),
    column: str = typer.Option(None, "--column", "-c", autocompletion=complete_column, help="Column (default: the board's first)."),
    label: list[str] = typer.Option(None, "--label", "-l", autocompletion=complete_label, help="Label (repeatable)."),
    priority: str = typer.Option(None, "--priority", "-p", autocompletion=complete_priority, help="none, low, medium, high or urgent."),
    points: int = typer.Option(None, "--points", min=0, max=99, help="Story points."),
    due: str = typer.Option(None, "--due", help="YYYY-MM-DD, today, tomorrow, +3d, +2w."),
    assign: list[str] = typer.Option(None, "--assign", autocompletion=complete_user, help="Assignee username (repeatable; me = you)."),
    description: str = typer.Option(None, "--description", "-d", help="Markdown description."),
    sprint: str = SPRINT,
    repeat: str = REPEAT,
    every: int = EVERY,
    remind: str = REMIND,
    editor: bool = typer.Option(False, "-e", "--editor", help="Write title and description in $EDITOR."),
) -> None:
    """Create a card on the current board."""
    from ..core.errors import UsageError
    from ..core.render import key, report_write
    from .actions import create, edit_text

    f = factory()
    if editor:
        title, description = edit_text(f, title or "", description or "")
    if not title:
        raise UsageError("a title is needed: taskly add TITLE (or -e for the editor)")
    if every is not None and repeat is None:
        raise UsageError("--every goes with --repeat daily|weekly|monthly")
    options = _options(None, description, label, priority, points, due, assign, sprint, repeat, every, remind)
    options.pop("title")
    result = create(f, title, column, **options)
    report_write(f.output, result, f"Created {key(result.entity)} in {result.entity.column}")
    f.output.data(result.entity, lambda c: f.output.line(key(c)))


DRY_RUN = typer.Option(False, "--dry-run", help="List what would change; write nothing.")
CARDS = typer.Argument(None, metavar="[CARD]...", autocompletion=complete_card,
                       help="Card keys or numbers (several: one bulk write, all or none).")
MV_CARDS = typer.Argument(None, metavar="[CARD]...", autocompletion=complete_card_then_column,
                          help="Card keys or numbers (several: one bulk write, all or none).")


@app.command("edit")
def edit(
    cards: list[str] = CARDS,
    title: str = typer.Option(None, "--title", "-t", help="New title."),
    column: str = typer.Option(None, "--column", "-c", autocompletion=complete_column, help="Move to the bottom of this column."),
    label: list[str] = typer.Option(None, "--label", "-l", autocompletion=complete_label,
                                    help="Set the labels (repeatable); +LABEL adds one, -LABEL removes one."),
    add_label: list[str] = typer.Option(None, "--add-label", autocompletion=complete_label, help="Add a label (repeatable)."),
    remove_label: list[str] = typer.Option(None, "--remove-label", autocompletion=complete_label, help="Remove a label (repeatable)."),
    priority: str = typer.Option(None, "--priority", "-p", autocompletion=complete_priority, help="none, low, medium, high or urgent."),
    points: int = typer.Option(None, "--points", min=0, max=99, help="Story points."),
    due: str = typer.Option(None, "--due", help="YYYY-MM-DD, today, tomorrow, +3d, +2w; none clears."),
    assign: list[str] = typer.Option(None, "--assign", autocompletion=complete_user, help="Set the assignees (repeatable)."),
    description: str = typer.Option(None, "--description", "-d", help="New markdown description."),
    sprint: str = SPRINT,
    repeat: str = REPEAT,
    every: int = EVERY,
    remind: str = REMIND,
    editor: bool = typer.Option(False, "-e", "--editor", help="Edit title and description in $EDITOR."),
    where: str = WHERE,
    dry_run: bool = DRY_RUN,
) -> None:
    """Change a card's fields (only those given); several cards, or --where FILTER, in one write."""
    from ..core.errors import UsageError
    from ..core.render import key, report_write
    from .actions import edit as edit_card
    from .actions import edit_in_editor

    if len(cards or []) > 1 or where or dry_run:
        from .bulk import LabelChange, bulk_edit

        if title is not None or description is not None or editor or repeat or every or remind or assign:
            raise UsageError("several cards (or --where) take --label, --priority, --points, --due, --sprint "
                             "and --column; edit one card for the others")
        labels = LabelChange.parse(label or [], add_label or [], remove_label or [])
        _bulk(factory(), lambda f: bulk_edit(f, cards or [], where, labels=labels, priority=priority,
                                             points=points, due=due, sprint=sprint, column=column,
                                             dry_run=dry_run))
        return
    if not cards:
        raise UsageError("name a card (or several, or --where FILTER)")
    card = cards[0]
    f = factory()
    if label:  # +LABEL / -LABEL add and remove, as for several cards
        from .bulk import LabelChange

        change = LabelChange.parse(label)
        label = list(change.set_to) if change.set_to is not None else None
        add_label, remove_label = [*(add_label or []), *change.add], [*(remove_label or []), *change.remove]
    if editor:
        title, description, current = edit_in_editor(f, card, title, description)
    options = _options(title, description, label, priority, points, due, assign, sprint, repeat, every, remind)
    if editor and not (column or add_label or remove_label) and all(v is None for v in options.values()):
        f.output.note("no changes")  # the editor changed nothing and nothing else was asked: no write
        f.output.data(current, lambda c: f.output.line(key(c)))
        return
    result = edit_card(f, card, column, add_label or [], remove_label or [], **options)
    report_write(f.output, result, f"Updated {key(result.entity)}")
    f.output.data(result.entity, lambda c: f.output.line(key(c)))


def _bulk(f, run) -> None:
    """Run a bulk action and print one line per card: its key and what changed (`--json`: the cards
    as written, or with --dry-run what each would get)."""
    from ..core.render import key, report_write
    from .render import render_bulk

    outcome = run(f)
    if outcome.result is not None:
        report_write(f.output, outcome.result, f"Changed {len(outcome.planned)} card"
                     + ("s" * (len(outcome.planned) != 1)))
        f.output.data(outcome.result.entity, lambda _: render_bulk(f.output, outcome.planned, key))
    else:
        f.output.data(outcome.preview(), lambda _: render_bulk(f.output, outcome.planned, key))


@app.command("mv")
def mv(
    cards: list[str] = MV_CARDS,
    column: str = typer.Argument(..., autocompletion=complete_column, help="Target column (name, any case)."),
    top: bool = typer.Option(False, "--top", help="Put it first in the column."),
    bottom: bool = typer.Option(False, "--bottom", help="Put it last in the column (the default)."),
    after: str = typer.Option(None, "--after", metavar="CARD", autocompletion=complete_card, help="Put it just after this card."),
    before: str = typer.Option(None, "--before", metavar="CARD", autocompletion=complete_card, help="Put it just before this card."),
    where: str = WHERE,
    dry_run: bool = DRY_RUN,
) -> None:
    """Move cards to a column (bottom, unless --top/--after/--before); several, or --where FILTER,
    in one write."""
    from ..core.errors import UsageError
    from ..core.render import key, report_write
    from .actions import move

    if sum(map(bool, (top, bottom, after, before))) > 1:
        raise UsageError("choose one of --top, --bottom, --after, --before")
    if len(cards or []) > 1 or where or dry_run:
        if top or after or before:
            raise UsageError("--top, --after and --before place one card; several go to the bottom")
        from .bulk import bulk_move

        _bulk(factory(), lambda f: bulk_move(f, cards or [], where, column, dry_run=dry_run))
        return
    if not cards:
        raise UsageError("name a card and a column: taskly mv CARD COLUMN (or --where FILTER COLUMN)")
    f = factory()
    result = move(f, cards[0], column, position="top" if top else "bottom" if bottom else None,
                  before=before, after=after)
    report_write(f.output, result, f"Moved {key(result.entity)} to {result.entity.column}")
    f.output.data(result.entity, lambda c: f.output.line(key(c)))


@app.command("assign")
def assign(
    args: list[str] = typer.Argument(..., metavar="CARD... USER...", autocompletion=complete_card_then_user,
                                     help="Cards (keys or numbers), then usernames (me = you)."),
    add: bool = typer.Option(False, "--add", help="Add them to the current assignees."),
    remove: bool = typer.Option(False, "--remove", help="Remove them from the assignees."),
    where: str = WHERE,
    dry_run: bool = DRY_RUN,
) -> None:
    """Set cards' assignees (or --add / --remove some); several cards, or --where FILTER, in one write."""
    from ..core.errors import UsageError
    from ..core.render import key, report_write
    from .actions import assign as assign_card
    from .bulk import split_cards

    if add and remove:
        raise UsageError("choose --add or --remove, not both")
    mode = "add" if add else "remove" if remove else "set"
    cards, users = ([], list(args)) if where else split_cards(args)
    if not users:
        raise UsageError("name the users: taskly assign CARD... USER...")
    if len(cards) > 1 or where or dry_run:
        from .bulk import bulk_assign

        _bulk(factory(), lambda f: bulk_assign(f, cards, where, users, mode, dry_run=dry_run))
        return
    if not cards:
        raise UsageError("name a card: taskly assign CARD... USER... (or --where FILTER USER...)")
    f = factory()
    result = assign_card(f, cards[0], users, mode)
    names = ", ".join(result.entity.assignees) or "nobody"
    report_write(f.output, result, f"{key(result.entity)} is assigned to {names}")
    f.output.data(result.entity, lambda c: f.output.line(key(c)))


@app.command("search")
def search(query: list[str] = typer.Argument(..., metavar="QUERY...", help="Words that must all match."),
           all_cards: bool = typer.Option(False, "--all", help="Include deleted cards."),
           sort: str = SORT, desc: bool = DESC, limit: int = LIMIT, overdue: bool = OVERDUE,
           due_before: str = DUE_BEFORE, due_after: str = DUE_AFTER, unassigned: bool = UNASSIGNED,
           no_done: bool = NO_DONE, updated_since: str = UPDATED_SINCE, where: str = WHERE) -> None:
    """Search cards in the local cache (key, title, description, labels; any case; all words)."""
    from .actions import search as search_cards
    from .actions import where_of
    from .render import render_cards

    f = factory()
    chosen = where_of(where, sort=sort, desc=desc, limit=limit, overdue=overdue, due_before=due_before,
                      due_after=due_after, unassigned=unassigned, no_done=no_done, updated_since=updated_since)
    f.output.data(search_cards(f, " ".join(query), all_cards, chosen), lambda c: render_cards(f.output, c))


@app.command("rm")
def rm(cards: list[str] = CARDS, where: str = WHERE, dry_run: bool = DRY_RUN) -> None:
    """Delete cards (restorable with `taskly restore`); several, or --where FILTER, in one write."""
    from ..core.errors import UsageError
    from ..core.render import key, report_write
    from .actions import delete

    if len(cards or []) > 1 or where or dry_run:
        from .bulk import bulk_delete

        _bulk(factory(), lambda f: bulk_delete(f, cards or [], where, dry_run=dry_run))
        return
    if not cards:
        raise UsageError("name a card (or several, or --where FILTER)")
    f = factory()
    result = delete(f, cards[0])
    report_write(f.output, result, f"Deleted {key(result.entity)} (taskly restore {key(result.entity)})")
    f.output.data(result.entity, lambda c: None)


@app.command("restore")
def restore(card: str = CARD) -> None:
    """Restore a deleted card."""
    from ..core.render import key, report_write
    from .actions import restore as restore_card

    f = factory()
    result = restore_card(f, card)
    report_write(f.output, result, f"Restored {key(result.entity)}")
    f.output.data(result.entity, lambda c: None)


@app.command("open")
def open_card(
    card: str = BRANCH_CARD,
    print_url: bool = typer.Option(False, "--print", help="Print the URL instead of opening it."),
) -> None:
    """Open a card on GitHub: its pull request, else its branch, else its repository (exit 3: none).

    Without a display, in a pipe or with --print, print the URL instead (a `BROWSER` command set
    opens it from a pipe too)."""
    import sys

    from .actions import browse, url

    f = factory()
    address = url(f, card)
    if not print_url and not f.output.json and sys.stdout.isatty() and browse(f, address):
        f.output.note(f"Opening {address}")
        return
    f.output.data({"url": address}, lambda u: f.output.line(u["url"]))
