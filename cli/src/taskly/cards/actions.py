"""Card operations behind the card commands: resolve names in the cache, then read or write.

Reads refresh the cache first (a bounded delta pull, see `taskly.core.resolve.fresh`); writes go through the
sync engine, so they work offline (queued) and carry their mutation id.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..core import resolve
from ..core.errors import NotFound, TasklyError, UsageError
from . import filters
from . import resolve as card_resolve

if TYPE_CHECKING:
    from taskly_shared.models import BoardOut, CardOut, ChangeOut, CommentOut, PullRequestOut

    from ..core.context import Factory
    from ..sync.results import WriteResult


# --- reads --------------------------------------------------------------------------------------


def listing_json(f: Factory, *, column: str | None = None, labels: list[str] = (), assignees: list[str] = (),
                 mine: bool = False, priorities: list[str] = (), sprint: str | None = None,
                 include_deleted: bool = False, where: filters.Where | None = None) -> list[dict[str, Any]]:
    """The current board's cards in board order (column, then rank), filtered and sorted (`where`:
    the rest of the flags and `--where`), as the cached wire JSON of CardOut (`as_cards` makes
    models): `ls --offline --json` never imports pydantic (~100 ms, more than the rest of the command)."""
    store = resolve.fresh(f)
    board = resolve.board_json(f)
    flags = filters.Where(labels=tuple(labels), columns=(column,) if column else (), assignees=tuple(assignees),
                          mine=mine, priorities=tuple(card_resolve.priority(p) for p in priorities),
                          sprint=sprint)
    query = resolved(f, board, flags.merged(where or filters.Where()))
    return filters.choose(store.cards_json(board_id=board["id"], include_deleted=include_deleted), query,
                          me=resolve.me(f) if query.mine else None)


def resolved(f: Factory, board: dict[str, Any] | None, where: filters.Where) -> filters.Where:
    """`where` with its names checked against the cache: columns of `board` (by id), members
    (`me` too), the sprint (by id); an unknown one is NotFound (exit 3) listing the valid ones.
    Without a board (search across boards) columns match by name and a sprint cannot be named."""
    from dataclasses import replace

    changes: dict[str, Any] = {}
    if where.columns and board is not None:
        changes["columns"] = tuple(resolve.column_json(board, name)["id"] for name in where.columns)
    if where.assignees:
        workspace_id = board["workspace_id"] if board is not None else str(resolve.workspace(f).id)
        changes["assignees"] = tuple(resolve.usernames(f, workspace_id, list(where.assignees)))
    if where.sprint:
        if board is None:
            raise UsageError("sprint: needs a board (taskly board use KEY, or --board)")
        changes["sprint_id"] = str(card_resolve.sprint(f, board, where.sprint)["id"])
    return replace(where, **changes) if changes else where


def where_of(text: str | None = None, *, sort: str | None = None, desc: bool = False, limit: int | None = None,
             overdue: bool = False, due_before: str | None = None, due_after: str | None = None,
             unassigned: bool = False, no_done: bool = False, updated_since: str | None = None) -> filters.Where:
    """The filter of `ls`/`search`/bulk commands' flags and `--where TEXT` (the filter grammar)."""
    from datetime import date

    from ..core.when import parse_day

    today = date.today()
    flags = filters.Where(
        sort=filters.sort_key(sort) if sort else None, desc=desc,
        limit=filters.limit(limit) if limit is not None else None, overdue=overdue,
        due_before=parse_day(due_before, today, "--due-before") if due_before else None,
        due_after=parse_day(due_after, today, "--due-after") if due_after else None,
        unassigned=unassigned, no_done=no_done,
        updated_since=filters.since(updated_since, today) if updated_since else None)
    return filters.parse(text, today).merged(flags) if text else flags


def label_colors(f: Factory, cards: list[Any]) -> dict[str, str]:
    """The cached label catalogue's colours of the workspace of `cards` (wire JSON or CardOut)."""
    from ..core.labels import colors

    if not cards:
        return {}
    first = cards[0]
    workspace_id = first["workspace_id"] if isinstance(first, dict) else first.workspace_id
    return colors(f.store, str(workspace_id))


def as_cards(cards: list[dict[str, Any]]) -> list[CardOut]:
    from taskly_shared.models import CardOut

    return [CardOut.model_validate(card) for card in cards]


def detail(f: Factory, ref: str | None) -> tuple[CardOut, list[CommentOut]]:
    """A card and its comments (refreshed from the server when it answers)."""
    resolve.fresh(f)
    card = card_resolve.card(f, ref)
    if f.engine.last_error is not None:  # the server did not answer the sync: do not wait for it twice
        return card, f.store.comments(str(card.id))
    return card, f.engine.fetch_comments(str(card.id), timeout=resolve.READ_TIMEOUT)


def activity(f: Factory, ref: str | None, limit: int) -> list[ChangeOut]:
    """A card's activity, newest first; only the server has it (Offline, exit 6, without it)."""
    with resolve.needs_server(f, "show a card's activity"):
        resolve.fresh(f, note_stale=False)
        card = card_resolve.card(f, ref)
        return f.api.card_activity(card.key or str(card.id), limit=limit, timeout=resolve.READ_TIMEOUT * 4)


def search(f: Factory, query: str, include_deleted: bool = False,
           where: filters.Where | None = None) -> list[CardOut]:
    """Cards of the current workspace (else every cached one) matching every word of `query` and
    `where` (sorted by it; else in board order).

    Cache-side: key, title, description and labels, case-insensitive.
    """
    store = resolve.fresh(f)
    try:
        workspace_id = str(resolve.workspace(f).id)
    except TasklyError:
        workspace_id = None
    if not query.split():
        return []
    board = None
    if where is not None and where.sprint:
        board = resolve.board_json(f)
    query_where = resolved(f, board, filters.Where(text=query).merged(where or filters.Where()))
    return filters.choose(store.cards(workspace_id=workspace_id, include_deleted=include_deleted), query_where,
                          me=resolve.me(f) if query_where.mine else None)


def url(f: Factory, ref: str | None) -> str:
    """Where a card lives on GitHub: its pull request (the newest open one, else the newest), else
    its branch in the board's repository, else that repository; NotFound (exit 3) with none."""
    resolve.fresh(f)
    return card_url(f, card_resolve.card(f, ref))


def card_url(f: Factory, card: CardOut) -> str:
    """`url` of a card already in hand (the TUI's `o` uses it on the card it shows)."""
    from urllib.parse import quote

    pull = main_pull(card.pull_requests)
    if pull is not None:
        return str(pull.url)
    repository = _board_repository_url(f, card)
    if repository and card.branch:
        return f"{repository}/tree/{quote(card.branch, safe='/')}"
    if repository:
        return repository
    raise NotFound(f"{card.key} has no pull request, no branch and no repository on GitHub to open")


PULL_STATE_RANK = {"open": 2, "draft": 1}
"""An open pull request goes first, then a draft, then merged and closed ones."""


def main_pull(pulls: list[PullRequestOut]) -> PullRequestOut | None:
    """The pull request a card opens: the open one (a draft after), else the most recently updated
    (GitHub's `updated_at`, then the higher number); only those with an address."""
    with_url = [p for p in pulls if p.url]
    if not with_url:
        return None
    return max(with_url, key=lambda p: (PULL_STATE_RANK.get(p.state.value, 0), p.updated_at is not None,
                                        p.updated_at.timestamp() if p.updated_at else 0.0, p.number))


def browse(f: Factory, address: str) -> bool:
    """Open `address` in a web browser when there is a display; False when none opened it (the
    caller shows the address instead). `BROWSER` (of the factory's environment) is honoured as
    Python's `webbrowser` reads it: browser names or commands (`%s` for the URL), `:`-separated."""
    import sys
    import webbrowser  # ~10 ms; only when a browser may be opened

    if not (f.environ.get("DISPLAY") or f.environ.get("WAYLAND_DISPLAY") or sys.platform == "darwin"):
        return False
    choices = [c for c in (f.environ.get("BROWSER") or "").split(os.pathsep) if c.strip()]
    if not choices:
        return webbrowser.open(address)
    for choice in choices:
        try:
            if webbrowser.get(choice).open(address):
                return True
        except webbrowser.Error:
            continue
    return False


def _board_repository_url(f: Factory, card: CardOut) -> str | None:
    """The web address of the card's board's connected repository (cache first, then the server)."""
    from ..core.errors import Offline

    board = f.store.board(str(card.board_id), str(card.workspace_id))
    wanted = str(board.default_repository_id) if board and board.default_repository_id else None
    if wanted is None:
        return None
    for cached in f.store.entities("repository", str(card.workspace_id)):
        if str(cached.get("id")) == wanted and cached.get("html_url"):
            return str(cached["html_url"]).rstrip("/")
    if f.globals.offline:
        return None
    try:
        repositories = f.api.list_repositories(str(card.workspace_id), timeout=resolve.READ_TIMEOUT)
    except Offline:
        return None
    return next((r.html_url.rstrip("/") for r in repositories if str(r.id) == wanted), None)


# --- writes -------------------------------------------------------------------------------------


def fields(f: Factory, workspace_id: str, *, title: str | None = None, description: str | None = None,
           labels: list[str] | None = None, priority: str | None = None, points: int | None = None,
           due: str | None = None, assignees: list[str] | None = None, sprint: str | None = None,
           board: dict[str, Any] | None = None, repeat: str | None = None, every: int | None = None,
           remind: str | None = None) -> dict[str, Any]:
    """The card fields given on the command line, checked (`--due none` clears the due date,
    `--sprint none` the sprint, `--remind none` the reminder; `--sprint` names a sprint of `board`;
    `--remind` is read in the user's time zone)."""
    values: dict[str, Any] = {}
    if repeat is not None:
        from ..core.recurrence import rule

        values["recurrence"] = rule(repeat)
    if every is not None:
        values["recurrence_interval"] = every
    if remind is not None:
        from datetime import UTC, datetime

        from ..core.when import parse_when

        values["remind_at"] = parse_when(remind, datetime.now(UTC), user_zone(f))
    if sprint is not None and board is not None:
        values["sprint_id"] = card_resolve.sprint_id(f, board, sprint)
    if title is not None:
        values["title"] = title
    if description is not None:
        values["description"] = description
    if labels is not None:
        values["labels"] = list(dict.fromkeys(label.strip() for label in labels))
    if priority is not None:
        values["priority"] = card_resolve.priority(priority)
    if points is not None:
        values["points"] = points
    if due is not None:
        values["due"] = card_resolve.due_date(due)
    if assignees is not None:
        values["assignees"] = resolve.usernames(f, workspace_id, assignees)
    return card_resolve.card_fields(values)


def user_zone(f: Factory):
    """The user's time zone (`taskly config set timezone`): the server's setting, kept in the
    cache for offline use; UTC when it was never read."""
    from zoneinfo import ZoneInfo

    from ..core.errors import ApiError, Offline

    name = f.store.meta("timezone")
    if not f.globals.offline:
        try:
            name = f.api.settings(timeout=resolve.READ_TIMEOUT).timezone
        except (Offline, ApiError) as exc:
            if name is None:
                f.output.note(f"time zone unknown ({exc}): reading --remind in UTC")
        else:
            remember_zone(f, name)
    return ZoneInfo(name or "UTC")


def remember_zone(f: Factory, name: str) -> None:
    if f.store.meta("timezone") != name:
        with f.store.transaction() as tx:
            tx.set_meta("timezone", name)


def create(f: Factory, title: str, column: str | None, **options: Any) -> WriteResult[CardOut]:
    resolve.fresh(f, note_stale=False)
    board = resolve.board(f)
    target = resolve.column(board, column) if column else None
    values = fields(f, str(board.workspace_id), title=title, board={"id": str(board.id), "key": board.key},
                    **options)
    values.pop("title")
    result = f.engine.create_card(str(board.id), title, column=str(target.id) if target else None,
                                  workspace_id=str(board.workspace_id), **{k: v for k, v in values.items()
                                                                           if v is not None})
    warn_over_capacity(f, result.entity)
    return result


def edit(f: Factory, ref: str | None, column: str | None = None, add_labels: list[str] = (),
         remove_labels: list[str] = (), **options: Any) -> WriteResult[CardOut]:
    resolve.fresh(f, note_stale=False)
    card = card_resolve.card(f, ref)
    if add_labels or remove_labels:
        base = options.get("labels") if options.get("labels") is not None else card.labels
        gone = {label.lower() for label in remove_labels}
        options["labels"] = [label for label in [*base, *add_labels] if label.lower() not in gone]
    values = fields(f, str(card.workspace_id), board=f.store.board_json(str(card.board_id)), **options)
    if column:
        board = f.store.board(str(card.board_id))
        values["column"] = str(resolve.column(board, column).id) if board else column
    if not values:
        raise UsageError("nothing to change: give --title, --description, --label, --priority, --points, "
                         "--due, --assign, --sprint, --repeat, --every, --remind or --column")
    result = f.engine.update_card(str(card.id), **values)
    if "sprint_id" in values or "points" in values:
        warn_over_capacity(f, result.entity)
    return result


def warn_over_capacity(f: Factory, card: CardOut) -> None:
    """A warning on stderr when the card's sprint is now committed past its capacity."""
    from ..core import sprints

    if card.sprint_id is None:
        return
    sprint = f.store.sprint_json(str(card.sprint_id))
    if sprint is not None:
        note = sprints.overflow_note(sprint, f.store.cards_json(board_id=str(card.board_id)))
        if note:
            f.output.warn(note)


def move(f: Factory, ref: str, column: str, *, position: str | None = None, before: str | None = None,
         after: str | None = None) -> WriteResult[CardOut]:
    resolve.fresh(f, note_stale=False)
    card = card_resolve.card(f, ref)
    board = f.store.board(str(card.board_id))
    target = resolve.column(board, column)
    return f.engine.move_card(str(card.id), str(target.id), position=position,
                              before=_neighbour(f, card, board, before, "--before") if before else None,
                              after=_neighbour(f, card, board, after, "--after") if after else None)


def _neighbour(f: Factory, card: CardOut, board: BoardOut, ref: str, flag: str) -> str:
    """The id of the card given to --before/--after; errors name it by its key, never its id."""
    other = card_resolve.card(f, ref)
    if other.board_id != card.board_id:
        raise NotFound(f"{flag} {other.key or ref}: not a card of board {board.key}")
    if other.id == card.id:
        raise UsageError(f"{flag} {other.key or ref}: that is the card being moved")
    return str(other.id)


def assign(f: Factory, ref: str, users: list[str], mode: str = "set") -> WriteResult[CardOut]:
    """Set the card's assignees, or add/remove some (`mode`)."""
    resolve.fresh(f, note_stale=False)
    card = card_resolve.card(f, ref)
    if mode == "remove":
        gone = {u.strip().lstrip("@").lower() for u in users}
        gone |= {resolve.me(f).lower()} if "me" in gone else set()
        names = [name for name in card.assignees if name.lower() not in gone]
    else:
        named = resolve.usernames(f, str(card.workspace_id), users)
        names = list(dict.fromkeys([*card.assignees, *named])) if mode == "add" else named
    return f.engine.update_card(str(card.id), assignees=names)


def delete(f: Factory, ref: str) -> WriteResult[CardOut]:
    resolve.fresh(f, note_stale=False)
    return f.engine.delete_card(card_resolve.card_id(f, ref))


def restore(f: Factory, ref: str) -> WriteResult[CardOut]:
    resolve.fresh(f, note_stale=False)
    return f.engine.restore_card(card_resolve.card_id(f, ref))


# --- $EDITOR ------------------------------------------------------------------------------------


EDITOR_HELP = (
    "# The first line is the card's title. After a blank line comes its description (markdown).\n"
    "# Lines starting with # before the title are ignored (# headings in the description are kept).\n"
    "# An empty title saves nothing.\n"
)
"""What the `-e` buffer starts with; `split_text` reads the buffer as this says."""


def edit_text(f: Factory, title: str = "", description: str = "") -> tuple[str, str]:
    """Title and description from `$VISUAL`/`$EDITOR`: the first line, then the text after a blank
    line (the buffer starts with `EDITOR_HELP`, comment lines that are ignored)."""
    from ..core import editor

    text = editor.edit(f, EDITOR_HELP + (f"{title}\n\n{description}" if title or description else "\n"), "card")
    return split_text(text)


def edit_in_editor(f: Factory, ref: str, title: str | None, description: str | None
                   ) -> tuple[str | None, str | None, CardOut]:
    """`edit -e`: the card's title and description (or those given) edited in the editor; each is
    None when it comes back as the card has it. Also returns the card."""
    current = card_resolve.card(f, ref)
    new_title, new_description = edit_text(f, title or current.title,
                                           current.description if description is None else description)
    return (None if new_title == current.title else new_title,
            None if new_description.strip("\n") == current.description.strip("\n") else new_description,
            current)


def split_text(text: str) -> tuple[str, str]:
    """`(title, description)` of an editor buffer: comment lines (`#`) and blank lines before the
    title are skipped, the first line is the title, the rest (a blank line first) the description."""
    lines = text.strip("\n").splitlines()
    while lines and (not lines[0].strip() or lines[0].startswith("#")):
        lines.pop(0)
    if not lines or not lines[0].strip():
        raise UsageError("no title given: nothing saved")
    return lines[0].strip(), "\n".join(lines[1:]).strip("\n")
