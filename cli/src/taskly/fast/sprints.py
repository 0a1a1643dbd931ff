"""`taskly sprint show [NAME] --offline` from the cache: the typer path's own stats
(`taskly.core.sprints`) and rendering (`taskly.sprints.render.render_sprint`) over the cached wire
JSON, read with sqlite3, drawn by `FastOutput` (no typer, click, rich nor pydantic).

What it does not reproduce exactly it leaves to the typer path (`Defer`): `--json` (pydantic's
dump), online (a pull first), a board or sprint the cache does not name (the typer path's error), a
table the fast tables do not draw. The view is drawn into a buffer and written only once whole, so
a table that defers halfway has printed nothing.
"""

from __future__ import annotations

import sqlite3
import sys

from ..core import sprints
from ..sync.prompt import json_loads
from .cards import _CARD_SELECT, FastOutput, card_dict, current_board
from .context import Config, Defer, open_cache, parse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _Held:
    """A stream that keeps what is written until `release`, asking the real one whether it is a
    terminal and how wide (`Output` decides colours and table widths by it)."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    def flush(self) -> None:
        pass

    def release(self) -> None:
        self.stream.write("".join(self.parts))
        self.stream.flush()


class SprintView:
    """`taskly.sprints.actions.SprintView` (what `render_sprint` reads) without its module's imports."""

    def __init__(self, sprint: dict[str, Any], cards: list[dict[str, Any]], columns: list[dict[str, Any]],
                 board_key: str) -> None:
        self.sprint, self.cards, self.columns, self.board_key = sprint, cards, columns, board_key


def sprints_json(conn: sqlite3.Connection, board_id: str) -> list[dict[str, Any]]:
    """`Store.sprints_json(board_id=…)`: the board's live cached sprints, by start date."""
    rows = conn.execute("SELECT json, workspace_id FROM sprints WHERE board_id = ? AND deleted = 0", (board_id,))
    found = [{**json_loads(text), "workspace_id": workspace} for text, workspace in rows]
    return sorted(found, key=lambda s: (str(s.get("start_date")), str(s.get("name")).lower()))


def cards_json(conn: sqlite3.Connection, board_id: str) -> list[dict[str, Any]]:
    """`Store.cards_json(board_id=…)`: the board's live cards in board order."""
    rows = conn.execute(f"{_CARD_SELECT} WHERE c.board_id = ? AND c.deleted = 0 ORDER BY col.rank, c.rank, c.id",
                        (board_id,))
    return [{**card_dict(row), "conflicts": []} for row in rows]


def view(conn: sqlite3.Connection, config: Config, ref: str | None) -> SprintView:
    """`taskly.sprints.actions.view` offline, for a sprint the cache names."""
    board = current_board(conn, config)
    today = sprints.today()
    sprint = sprints.named(sprints_json(conn, board["id"]), ref, today)
    if sprint is None:
        raise Defer("no such sprint, or no active one (the typer path says which exist)")
    cards = cards_json(conn, board["id"])
    return SprintView(sprints.with_stats(sprint, cards, today), sprints.members(sprint["id"], cards),
                      board["columns"], board["key"])


def show(rest: list[str], environ: dict[str, str]) -> int:
    """`taskly sprint show [NAME] --offline` as text."""
    from ..sprints.render import render_sprint

    parsed = parse(rest, {}, {}, {}, positionals=1)
    if not parsed["offline"]:
        raise Defer("sprint show online pulls first")
    if parsed["json"]:
        raise Defer("sprint show --json (pydantic's dump)")
    config = Config(parsed, environ)
    conn, _path = open_cache(config, environ)
    held = _Held(sys.stdout)
    try:
        found = view(conn, config, parsed["args"][0] if parsed["args"] else None)
        render_sprint(FastOutput(quiet=parsed["quiet"], environ=environ, stdout=held), found)
    except sqlite3.Error as exc:  # nothing printed yet: the store looks at the file
        raise Defer(f"the cache answered {exc}") from exc
    finally:
        conn.close()
    held.release()
    return 0
