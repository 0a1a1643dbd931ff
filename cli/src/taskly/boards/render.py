"""Text views of boards and their columns for people; `--json` bypasses all of this."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ..core.output import printable
from ..core.render import key, short

if TYPE_CHECKING:
    from taskly_shared.models import BoardOut, CardOut, ColumnOut

    from ..core.output import Output


def render_board(out: Output, board: BoardOut, columns: Sequence[ColumnOut], cards: Iterable[CardOut]) -> None:
    """A board as a table: one table column per board column, its cards below it in rank order."""
    by_column: dict[str, list[CardOut]] = {str(column.id): [] for column in columns}
    for card in cards:
        if not card.deleted_at and str(card.column_id) in by_column:
            by_column[str(card.column_id)].append(card)
    headers = []
    for column in columns:
        count = len(by_column[str(column.id)])
        headers.append(f"{column.name} ({count}/{column.wip_limit})" if column.wip_limit else
                       f"{column.name} ({count})")
    terminal = out.stdout.isatty()
    width = (max(16, (shutil.get_terminal_size((120, 24)).columns - 2 * len(columns)) // max(1, len(columns)))
             if terminal else 1000)
    depth = max((len(v) for v in by_column.values()), default=0)
    rows = []
    for index in range(depth):
        row = []
        for column in columns:
            stack = by_column[str(column.id)]
            row.append(short(f"{key(stack[index], board.key)} {printable(stack[index].title)}", width)
                       if index < len(stack) else "")
        rows.append(row)
    out.line(f"{board.key} · {printable(board.name)}")
    if not terminal:  # a pipe gets tab-separated rows: the column names are its first row here
        out.line("\t".join(printable(header) for header in headers))
    out.table(headers, rows, shrink=range(len(headers)))  # the board's columns share the width


def render_boards(out: Output, boards: Sequence[BoardOut], current: str | None = None) -> None:
    """`taskly board ls`: the current board marked, each board's key, name, the key its next card
    gets (the server's counter) and its columns."""
    rows = [["*" if str(b.id) == current else "", b.key, b.name, f"{b.key}-{b.next_card_number}",
             " → ".join(printable(c.name) for c in b.columns), "archived" if b.archived else ""] for b in boards]
    out.table(["", "KEY", "NAME", "NEXT CARD", "COLUMNS", ""], rows,
              styles=["green", "bold cyan", "bold", "dim", None, "yellow"], shrink=(2, 4), keep=2)


def render_columns(out: Output, columns: Sequence[dict]) -> None:
    """`taskly column ls`: position, name, kind, WIP limit and cards (`12/10` over the limit, in red)."""
    from ..core.output import Styled

    rows = []
    for column in columns:
        limit, cards = column.get("wip_limit"), column["cards"]
        count = (Styled(f"{cards}/{limit}", "bold red") if limit and cards > limit else f"{cards}/{limit}") \
            if limit else str(cards)
        rows.append([column["position"], column["name"], column["kind"], limit or "", count])
    out.table(["#", "NAME", "KIND", "WIP", "CARDS"], rows, styles=["dim", "bold", None, None, None])
