"""`taskly ls` and `taskly show` from the cache: the same rows and text as `taskly.cards.commands`,
read with sqlite3 and rendered without pydantic, typer or rich."""

from __future__ import annotations

import os
import sqlite3
from datetime import date

from ..cards import filters
from ..core.output import Output, printable
from ..sync.prompt import json_loads
from .context import Config, Defer
from .table import color_system, paint, render_table, supported_console

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MIN_WIDTH = 20
"""Narrower terminals are left to rich (the typer path): at a few cells its layout has corners the
fast tables do not reproduce."""
PRIORITIES = ("none", "low", "medium", "high", "urgent")
"""`taskly_shared.models.Priority`'s values (tests/unit/test_fast_reads.py compares them)."""

_CARD_SELECT = ("SELECT c.json, col.name, col.kind FROM cards c LEFT JOIN columns col ON col.id = c.column_id")
_HEX = frozenset("0123456789abcdefABCDEF")


def normal_uuid(value: str) -> str | None:
    """`store.reads.normal_uuid` without `re`: the canonical form of a UUID, else None."""
    chunks, position = [], 0
    for n, size in enumerate((8, 4, 4, 4, 12)):
        if n and value[position:position + 1] == "-":
            position += 1
        chunk = value[position:position + size]
        if len(chunk) != size or not _HEX.issuperset(chunk):
            return None
        chunks.append(chunk.lower())
        position += size
    return "-".join(chunks) if position == len(value) else None


def card_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    """`Reads._card_dict`: the cached wire JSON, with its column's current name and kind."""
    card = json_loads(row[0])
    if row[1] is not None:
        card["column"], card["column_kind"] = row[1], row[2]
    return card


# --- names (core.resolve, for the cases it answers from the cache alone) ------------------------


def workspace_id(conn: sqlite3.Connection, ref: str) -> str | None:
    uuid = normal_uuid(ref)
    row = (conn.execute("SELECT id FROM workspaces WHERE id = ?", (uuid,)).fetchone() if uuid else
           conn.execute("SELECT id FROM workspaces WHERE lower(name) = lower(?)", (ref,)).fetchone())
    return row[0] if row else None


def _board(conn: sqlite3.Connection, text: str) -> dict[str, Any]:
    board = json_loads(text)
    board["columns"] = [json_loads(column) for (column,) in conn.execute(
        "SELECT json FROM columns WHERE board_id = ? ORDER BY rank", (board["id"],))]
    return board


def board_json(conn: sqlite3.Connection, ref: str, scope: str | None) -> dict[str, Any] | None:
    board_id = normal_uuid(ref)
    where, params = ("", ()) if scope is None else (" AND workspace_id = ?", (scope,))
    if board_id:
        row = conn.execute("SELECT json FROM boards WHERE id = ?" + where, (board_id, *params)).fetchone()
    else:
        row = (conn.execute("SELECT json FROM boards WHERE key = upper(?)" + where, (ref, *params)).fetchone()
               or conn.execute("SELECT json FROM boards WHERE lower(name) = lower(?)" + where,
                               (ref, *params)).fetchone())
    return _board(conn, row[0]) if row else None


def current_board(conn: sqlite3.Connection, config: Config) -> dict[str, Any]:
    """`resolve.board_json(f)`: the configured board, else the current workspace's only board."""
    scope = workspace_id(conn, config.workspace) if config.workspace else None
    if config.workspace and scope is None:
        raise Defer("an unknown workspace (the typer path asks the server or says so)")
    if config.board:
        found = board_json(conn, config.board, scope) if scope else board_json(conn, config.board, None)
        if found is None:
            raise Defer("a board the cache does not know as named")
        return found
    if scope is None:
        known = conn.execute("SELECT id FROM workspaces").fetchall()
        if len(known) != 1:
            raise Defer("no current workspace")
        scope = known[0][0]
    boards = conn.execute("SELECT json FROM boards WHERE workspace_id = ?", (scope,)).fetchall()
    if len(boards) != 1:
        raise Defer("no current board")
    return _board(conn, boards[0][0])


def column_id(board: dict[str, Any], name: str) -> str:
    wanted = name.strip().lower()
    for candidate in board["columns"]:
        if candidate["name"].lower() == wanted or candidate["id"] == wanted:
            return candidate["id"]
    raise Defer("an unknown column (the typer path says which exist)")


# --- ls -----------------------------------------------------------------------------------------


LS_VALUES = {"--column": "column", "-c": "column"}
LS_LISTS = {"--label": "label", "-l": "label", "--priority": "priority", "-p": "priority",
            "--assignee": "assignee", "-a": "assignee"}
LS_FLAGS = {"--all": "all", "--mine": "mine"}


def me(config: Config, environ: dict[str, str]) -> str:
    """`resolve.me`: the stored login's username (with only TASKLY_TOKEN the server says: the typer path)."""
    from ..sync import prompt

    if environ.get("TASKLY_TOKEN"):
        raise Defer("who you are: the server knows")
    try:
        entry = prompt._read_json(os.path.join(prompt._dir(environ, "config"), "credentials.json")).get(
            config.server)
    except (OSError, ValueError, AttributeError) as exc:
        raise Defer("no readable credentials file") from exc
    if not isinstance(entry, dict) or not entry.get("access_token") or not isinstance(entry.get("username"), str):
        raise Defer("a login kept in the keyring")
    return entry["username"]


def usernames(conn: sqlite3.Connection, workspace_id: str, names: list[str], config: Config,
              environ: dict[str, str]) -> list[str]:
    """`resolve.usernames`: members by username (any case, `@` optional, `me` for yourself)."""
    members = {}
    for (text,) in conn.execute("SELECT json FROM members WHERE workspace_id = ? ORDER BY lower(username)",
                                (workspace_id,)):
        username = json_loads(text)["username"]
        members[username.lower()] = username
    found: list[str] = []
    for raw in names:
        name = raw.strip().lstrip("@")
        if name.lower() == "me":
            name = me(config, environ)
        username = members.get(name.lower())
        if username is None:
            raise Defer("not a member (the typer path lists them)")
        if username not in found:
            found.append(username)
    return found


def listing(conn: sqlite3.Connection, board: dict[str, Any], parsed: dict, config: Config,
            environ: dict[str, str]) -> list[dict[str, Any]]:
    """`cards.actions.listing_json` for the filters the fast path takes."""
    chosen_column = column_id(board, parsed["column"]) if parsed["column"] else None
    assignees = [*(usernames(conn, board["workspace_id"], parsed["assignee"], config, environ)
                   if parsed["assignee"] else []), *([me(config, environ)] if parsed["mine"] else [])]
    priorities = [p.strip().lower() for p in parsed["priority"]]
    if any(p not in PRIORITIES for p in priorities):
        raise Defer("an unknown priority")
    sql = f"{_CARD_SELECT} WHERE c.board_id = ?" + ("" if parsed["all"] else " AND c.deleted = 0")
    rows = conn.execute(sql + " ORDER BY col.rank, c.rank, c.id", (board["id"],)).fetchall()
    cards = [{**card_dict(row), "conflicts": []} for row in rows]
    return filters.select(cards, column_id=chosen_column, labels=parsed["label"], assignees=assignees,
                          priorities=priorities)


class _Priority(str):
    @property
    def value(self) -> str:
        return str(self)


class CardView:
    """The attributes of `CardOut` that text rendering reads, over the cached wire JSON."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__.update(data)
        self.priority = _Priority(data.get("priority") or "none")
        self.due = date.fromisoformat(data["due"]) if data.get("due") else None
        for name, default in (("labels", []), ("assignees", []), ("points", None), ("deleted_at", None),
                              ("description", ""), ("pull_requests", [])):
            self.__dict__.setdefault(name, default)


class FastOutput(Output):
    """`Output` whose terminal tables are drawn by `taskly.fast.table` (rich's layout, without rich)."""

    def line(self, text: str = "", style: str | None = None) -> None:
        spans = getattr(text, "spans", None)
        if (style or spans) and self.color:  # rich's console.print(Text or text, style=…, soft_wrap=True)
            printed = printable(text, multiline=True)
            if "\n" in printed or "\t" in printed:  # rich splits the one and expands the other
                raise Defer("a styled line of several lines or with tabs")
            try:
                self.stdout.write(paint(printed, style, spans if printed == text else None,
                                        color_system(self.environ)) + "\n")
            except ValueError as exc:
                raise Defer(str(exc)) from exc
        else:
            super().line(text)

    def table(self, headers, rows, styles=None, shrink=(), keep=None, max_widths=None) -> None:
        if not self.stdout.isatty():
            return super().table(headers, rows, styles, shrink, keep, max_widths)
        width = self._size()[0]
        if width < MIN_WIDTH or not supported_console(self.environ):
            raise Defer("a terminal the fast tables do not draw")
        rows = [list(row) for row in rows]
        system = color_system(self.environ)
        cell_styles = [[getattr(cell, "style", None) for cell in row] for row in rows]
        cell_spans = [[getattr(cell, "spans", None) if printable(cell) == cell else None for cell in row]
                      for row in rows]
        try:
            text = render_table([printable(h) for h in headers], [[printable(c) for c in row] for row in rows],
                                cell_styles, styles, shrink, keep, max_widths, width,
                                self.color and system is not None, system or "standard", cell_spans)
        except ValueError as exc:
            raise Defer(str(exc)) from exc
        except IndexError as exc:  # rich's set_cell_size fails on a few texts (a cut after lone joiners):
            raise Defer("a cut rich itself fails on (the typer path says what it does)") from exc
        self.stdout.write(text)


def ls(conn: sqlite3.Connection, config: Config, parsed: dict, out: FastOutput) -> int:
    from ..cards.render import render_cards

    board = current_board(conn, config)
    cards = listing(conn, board, parsed, config, out.environ)
    if out.json:
        out.data(cards)
        return 0
    pending = any(not card["key"] for card in cards)
    out.data(cards, lambda c: render_cards(out, [CardView(card) for card in c], board["key"] if pending else None))
    return 0


# --- show ---------------------------------------------------------------------------------------


class _Choice(str):
    """A StrEnum value of CardOut (`priority`, `recurrence`): a str with `.value`."""

    @property
    def value(self) -> str:
        return str(self)


def _when(text: str | None):
    from datetime import datetime

    return datetime.fromisoformat(text) if text else None


class CardDetail(CardView):
    """`CardView` with what `render_card` reads besides: times as datetimes, the repeat rule."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(data)
        if self.pull_requests:
            raise Defer("pull requests (the typer path shows them)")
        self.recurrence = _Choice(data.get("recurrence") or "none")
        self.recurrence_interval = data.get("recurrence_interval") or 1
        for name in ("remind_at", "created_at", "updated_at", "deleted_at"):
            setattr(self, name, _when(data.get(name)))
        for name in ("branch", "created_by"):
            self.__dict__.setdefault(name, None)


class CommentView:
    def __init__(self, data: dict[str, Any]) -> None:
        self.id, self.author, self.body, self.edited = data["id"], data.get("author"), data["body"], data["edited"]
        self.created_at = _when(data["created_at"])


def find_card(conn: sqlite3.Connection, config: Config, ref: str) -> dict[str, Any]:
    """`cards.resolve.card` for a key (`WEB-12`, any case) or a number in the current board."""
    ref = ref.strip().lstrip("#")
    if ref.isascii() and ref.isdigit():
        if len(ref.lstrip("0")) > 18:
            raise Defer("past SQLite's INTEGER")
        board = current_board(conn, config)
        row = conn.execute(f"{_CARD_SELECT} WHERE c.board_id = ? AND c.number = ? LIMIT 1",
                           (board["id"], int(ref))).fetchone()
    else:
        prefix, dash, number = ref.partition("-")
        if not (dash and 2 <= len(prefix) <= 10 and prefix.isascii() and prefix.isalpha()
                and number.isascii() and number.isdigit() and len(number.lstrip("0")) <= 18):
            raise Defer("a card named by id or handle")
        key = f"{prefix.upper()}-{int(number)}"
        scope = workspace_id(conn, config.workspace) if config.workspace else None
        if config.workspace and scope is None:
            raise Defer("an unknown workspace")
        row = None
        if scope is not None:
            row = conn.execute(f"{_CARD_SELECT} WHERE c.key = ? AND c.workspace_id = ? LIMIT 1",
                               (key, scope)).fetchone()
        row = row or conn.execute(f"{_CARD_SELECT} WHERE c.key = ? LIMIT 1", (key,)).fetchone()
    if row is None:
        raise Defer("no such card (the typer path says so)")
    return card_dict(row)


def show(conn: sqlite3.Connection, config: Config, parsed: dict, out: FastOutput) -> int:
    """`taskly show [CARD] --offline` as text (`--json` is pydantic's dump: the typer path's)."""
    from ..cards.render import render_card
    from ..sync import prompt

    if out.json:
        raise Defer("show --json")
    ref = parsed["args"][0] if parsed["args"] else prompt.branch_key(prompt.head_branch())
    if ref is None:
        raise Defer("no card and no branch to take it from")
    card = CardDetail(find_card(conn, config, ref))
    rows = conn.execute("SELECT json FROM comments WHERE card_id = ? ORDER BY created_at, id", (card.id,))
    comments = [CommentView(data) for data in map(json_loads, (text for (text,) in rows)) if not data.get("deleted")]
    zone = None
    if card.remind_at:
        row = conn.execute("SELECT value FROM meta WHERE key = 'timezone'").fetchone()
        if row and row[0]:
            from zoneinfo import ZoneInfo

            zone = ZoneInfo(row[0])
    if out.stdout.isatty() and not supported_console(out.environ):
        raise Defer("a terminal rich treats differently")
    render_card(out, card, comments, zone)
    return 0
