"""Data on stdout, messages on stderr; tables on a terminal, plain lines in pipes, JSON on --json."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any


def to_jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


class Output:
    def __init__(self, json: bool = False, quiet: bool = False,
                 environ: dict[str, str] | None = None, stdout=None, stderr=None) -> None:
        environ = os.environ if environ is None else environ
        self.json = json
        self.quiet = quiet
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.color = self.stdout.isatty() and "NO_COLOR" not in environ and environ.get("TERM") != "dumb"

    def data(self, value: Any, render: Callable[[Any], None] | None = None) -> None:
        """The command's result: JSON with --json, else `render(value)` (or plain text)."""
        if self.json or render is None:
            self.stdout.write(json.dumps(to_jsonable(value), indent=2 if self.stdout.isatty() else None))
            self.stdout.write("\n")
        else:
            render(value)

    def line(self, text: str = "") -> None:
        self.stdout.write(text + "\n")

    def note(self, message: str) -> None:
        """A message for the person, never for a script: stderr, silenced by --quiet."""
        if not self.quiet:
            self.stderr.write(message + "\n")

    def warn(self, message: str) -> None:
        self.stderr.write(f"warning: {message}\n")

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[Any]],
              styles: Sequence[str | None] | None = None) -> None:
        """A table: rich on a colour terminal, tab-separated columns in a pipe."""
        rows = [["" if cell is None else str(cell) for cell in row] for row in rows]
        if not self.color:
            widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
            if self.stdout.isatty():
                for row in [list(headers), *rows]:
                    self.stdout.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")
            else:
                for row in rows:
                    self.stdout.write("\t".join(row) + "\n")
            return
        # rich costs ~40 ms; only terminal tables need it
        from rich.console import Console
        from rich.table import Table

        table = Table(box=None, pad_edge=False, header_style="bold dim")
        for index, header in enumerate(headers):
            table.add_column(header, style=(styles[index] if styles else None), overflow="fold")
        for row in rows:
            table.add_row(*row)
        Console(file=self.stdout, highlight=False).print(table)


def error_line(exc: BaseException) -> None:
    """One line on stderr for a failed command; the detail of a server problem when there is one."""
    message = str(exc) or type(exc).__name__
    sys.stderr.write(f"taskly: {message}\n")
