"""The board's entry point: the checks that need no textual, then the app (textual loads only there)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.context import Factory
    from .model import Clock


def open_board(f: Factory, board: str | None = None, *, clock: Clock | None = None) -> None:
    """Run the board app in this terminal; typed errors (exit codes) before the screen is taken."""
    from ..core import resolve
    from ..core.errors import TasklyError, UsageError
    from .reads import board_choices, read_board

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("`taskly board` needs a terminal: `taskly ls` prints the board's cards")
    store = f.store  # not logged in: exit 4 here, not inside the app
    if store.workspace_ids():  # a cache to paint from: the board must be in it (or come with a sync)
        try:
            read_board(f, board, network=True)
        except TasklyError:
            if not f.globals.offline:
                resolve.fresh(f, discover=True)
            try:
                read_board(f, board, network=True)
            except UsageError:  # no board named nor current: the board asks which one
                if board or f.config.board or not board_choices(f):
                    raise
    from .app import TasklyApp  # textual costs ~184 ms to import; only the board needs it

    try:
        TasklyApp(f, board, clock=clock).run()
    finally:
        f.close()
