"""Card operations behind the card commands: resolve names in the cache, then read or write.

Reads refresh the cache first (a bounded delta pull, see `resolve.fresh`); writes go through the
sync engine, so they work offline (queued) and carry their mutation id.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from typing import TYPE_CHECKING, Any

from . import filters, resolve
from .errors import TasklyError, UsageError

if TYPE_CHECKING:
    from taskly_shared.models import CardOut, ChangeOut, CommentOut

    from .context import Factory
    from .sync.results import WriteResult


# --- reads --------------------------------------------------------------------------------------


def listing_json(f: Factory, *, column: str | None = None, labels: list[str] = (), assignees: list[str] = (),
                 mine: bool = False, priorities: list[str] = (), sprint: str | None = None,
                 include_deleted: bool = False) -> list[dict[str, Any]]:
    """The current board's cards in board order (column, then rank), filtered, as the cached wire
    JSON of CardOut (`as_cards` makes models): `ls --offline --json` never imports pydantic (~100 ms,
    more than the rest of the command)."""
    store = resolve.fresh(f)
    board = resolve.board_json(f)
    return filters.select(
        store.cards_json(board_id=board["id"], include_deleted=include_deleted),
        column_id=resolve.column_json(board, column)["id"] if column else None,
        labels=labels, assignees=[*assignees, *([resolve.me(f)] if mine else [])],
        priorities=[resolve.priority(p) for p in priorities],
        sprint_id=resolve.sprint_id(f, board["workspace_id"], sprint) if sprint else None,
    )


def as_cards(cards: list[dict[str, Any]]) -> list[CardOut]:
    from taskly_shared.models import CardOut

    return [CardOut.model_validate(card) for card in cards]


def detail(f: Factory, ref: str | None) -> tuple[CardOut, list[CommentOut]]:
    """A card and its comments (refreshed from the server when it answers)."""
    resolve.fresh(f)
    card = resolve.card(f, ref)
    if f.engine.last_error is not None:  # the server did not answer the sync: do not wait for it twice
        return card, f.store.comments(str(card.id))
    return card, f.engine.fetch_comments(str(card.id), timeout=resolve.READ_TIMEOUT)


def activity(f: Factory, ref: str | None, limit: int) -> list[ChangeOut]:
    """A card's activity, newest first; only the server has it (Offline, exit 6, without it)."""
    with resolve.needs_server(f, "show a card's activity"):
        resolve.fresh(f, note_stale=False)
        card = resolve.card(f, ref)
        return f.api.card_activity(card.key or str(card.id), limit=limit, timeout=resolve.READ_TIMEOUT * 4)


def search(f: Factory, query: str, include_deleted: bool = False) -> list[CardOut]:
    """Cards of the current workspace (else every cached one) matching every word of `query`.

    Cache-side: key, title, description and labels, case-insensitive.
    """
    store = resolve.fresh(f)
    try:
        workspace_id = str(resolve.workspace(f).id)
    except TasklyError:
        workspace_id = None
    return filters.search(store.cards(workspace_id=workspace_id, include_deleted=include_deleted), query)


def url(f: Factory, ref: str | None) -> str:
    """Where a card lives on the server (there is no web UI yet: its REST resource)."""
    resolve.fresh(f)
    card = resolve.card(f, ref)
    return f"{f.server}/api/v1/cards/{card.key or card.id}"


# --- writes -------------------------------------------------------------------------------------


def fields(f: Factory, workspace_id: str, *, title: str | None = None, description: str | None = None,
           labels: list[str] | None = None, priority: str | None = None, points: int | None = None,
           due: str | None = None, assignees: list[str] | None = None) -> dict[str, Any]:
    """The card fields given on the command line, checked (`--due none` clears the due date)."""
    values: dict[str, Any] = {}
    if title is not None:
        values["title"] = title
    if description is not None:
        values["description"] = description
    if labels is not None:
        values["labels"] = list(dict.fromkeys(label.strip() for label in labels))
    if priority is not None:
        values["priority"] = resolve.priority(priority)
    if points is not None:
        values["points"] = points
    if due is not None:
        values["due"] = resolve.due_date(due)
    if assignees is not None:
        values["assignees"] = resolve.usernames(f, workspace_id, assignees)
    return resolve.card_fields(values)


def create(f: Factory, title: str, column: str | None, **options: Any) -> WriteResult[CardOut]:
    resolve.fresh(f, note_stale=False)
    board = resolve.board(f)
    target = resolve.column(board, column) if column else None
    values = fields(f, str(board.workspace_id), title=title, **options)
    values.pop("title")
    return f.engine.create_card(str(board.id), title, column=str(target.id) if target else None,
                                workspace_id=str(board.workspace_id), **{k: v for k, v in values.items()
                                                                         if v is not None})


def edit(f: Factory, ref: str | None, column: str | None = None, add_labels: list[str] = (),
         remove_labels: list[str] = (), **options: Any) -> WriteResult[CardOut]:
    resolve.fresh(f, note_stale=False)
    card = resolve.card(f, ref)
    if add_labels or remove_labels:
        base = options.get("labels") if options.get("labels") is not None else card.labels
        gone = {label.lower() for label in remove_labels}
        options["labels"] = [label for label in [*base, *add_labels] if label.lower() not in gone]
    values = fields(f, str(card.workspace_id), **options)
    if column:
        board = f.store.board(str(card.board_id))
        values["column"] = str(resolve.column(board, column).id) if board else column
    if not values:
        raise UsageError("nothing to change: give --title, --description, --label, --priority, --points, "
                         "--due, --assign or --column")
    return f.engine.update_card(str(card.id), **values)


def move(f: Factory, ref: str, column: str, *, position: str | None = None, before: str | None = None,
         after: str | None = None) -> WriteResult[CardOut]:
    resolve.fresh(f, note_stale=False)
    card = resolve.card(f, ref)
    board = f.store.board(str(card.board_id))
    target = resolve.column(board, column)
    return f.engine.move_card(str(card.id), str(target.id), position=position,
                              before=resolve.card_id(f, before) if before else None,
                              after=resolve.card_id(f, after) if after else None)


def assign(f: Factory, ref: str, users: list[str], mode: str = "set") -> WriteResult[CardOut]:
    """Set the card's assignees, or add/remove some (`mode`)."""
    resolve.fresh(f, note_stale=False)
    card = resolve.card(f, ref)
    if mode == "remove":
        gone = {u.strip().lstrip("@").lower() for u in users}
        gone |= {resolve.me(f).lower()} if "me" in gone else set()
        names = [name for name in card.assignees if name.lower() not in gone]
    else:
        named = resolve.usernames(f, str(card.workspace_id), users)
        names = list(dict.fromkeys([*card.assignees, *named])) if mode == "add" else named
    return f.engine.update_card(str(card.id), assignees=names)


def comment(f: Factory, ref: str | None, body: str) -> WriteResult[CommentOut]:
    if not body.strip():
        raise UsageError("the comment is empty")
    resolve.fresh(f, note_stale=False)
    return f.engine.add_comment(resolve.card_id(f, ref), body)


def delete(f: Factory, ref: str) -> WriteResult[CardOut]:
    resolve.fresh(f, note_stale=False)
    return f.engine.delete_card(resolve.card_id(f, ref))


def restore(f: Factory, ref: str) -> WriteResult[CardOut]:
    resolve.fresh(f, note_stale=False)
    return f.engine.restore_card(resolve.card_id(f, ref))


# --- $EDITOR ------------------------------------------------------------------------------------


def edit_text(f: Factory, title: str = "", description: str = "") -> tuple[str, str]:
    """Title and description from `$VISUAL`/`$EDITOR`: the first line, then the text after a blank line."""
    if f.globals.no_input:
        raise UsageError("-e opens an editor, which --no-input forbids")
    editor = f.environ.get("VISUAL") or f.environ.get("EDITOR") or "vi"
    handle, path = tempfile.mkstemp(prefix="taskly-card-", suffix=".md")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(f"{title}\n\n{description}" if title or description else "")
        try:
            completed = subprocess.run([*shlex.split(editor), path])
        except OSError as exc:
            raise UsageError(f"cannot run the editor {editor!r}: {exc}") from None
        if completed.returncode != 0:
            raise TasklyError(f"the editor exited with {completed.returncode}; nothing saved")
        with open(path) as file:
            text = file.read()
    finally:
        os.unlink(path)
    return split_text(text)


def split_text(text: str) -> tuple[str, str]:
    lines = text.strip("\n").splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines or not lines[0].strip():
        raise UsageError("no title given: nothing saved")
    return lines[0].strip(), "\n".join(lines[1:]).strip("\n")
