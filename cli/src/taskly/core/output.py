"""Data on stdout, messages on stderr; tables on a terminal, plain lines in pipes, JSON on --json."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # `typing` costs a few ms the fast reads (taskly.fast) do without
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any


def _escapes() -> dict[int, str]:
    table = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))}
    table.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x1B: "\\e"})
    # bidi embeddings, overrides and isolates (they reorder what follows), line and paragraph separators
    table.update({code: f"\\u{code:04x}" for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A),
                                                        0x2028, 0x2029)})
    return table


_ONE_LINE = _escapes()
_MULTILINE = {code: text for code, text in _ONE_LINE.items() if code not in (0x09, 0x0A)}


def printable(text: Any, multiline: bool = False) -> str:
    """`text` safe to show on a terminal: control characters (C0, DEL, C1, ESC → `\\e`) and bidi
    overrides become visible escapes, so stored text can never drive the terminal (title, clipboard,
    screen) nor break a table or a tab-separated row. `multiline` keeps tabs and newlines (a
    description, a comment); otherwise they show as `\\t` and `\\n`. `--json` never uses this.
    """
    text = "" if text is None else str(text)
    if text.isprintable():  # nothing to escape: every character escaped here is non-printable
        return text
    if multiline:
        return text.replace("\r\n", "\n").translate(_MULTILINE)
    return text.translate(_ONE_LINE)


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
        self.environ = environ
        self.json = json
        self.quiet = quiet
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.color = self.stdout.isatty() and "NO_COLOR" not in environ and environ.get("TERM") != "dumb"

    def data(self, value: Any, render: Callable[[Any], None] | None = None) -> None:
        """The command's result: JSON with --json, else `render(value)` (or plain text)."""
        if self.json or render is None:
            import json

            self.stdout.write(json.dumps(to_jsonable(value), indent=2 if self.stdout.isatty() else None))
            self.stdout.write("\n")
        else:
            render(value)

    def line(self, text: str = "", style: str | None = None) -> None:
        """A line of text for people (control characters escaped; renderers escape values first);
        `style` (e.g. "bold red") colours it on a colour terminal only."""
        spans = getattr(text, "spans", None)
        text, original = printable(text, multiline=True), text
        if spans and self.color and text == original:
            self._console().print(_text(text, spans, style or "", True), soft_wrap=True)
        elif style and self.color:
            self._console().print(text, style=style, soft_wrap=True)
        else:
            self.stdout.write(text + "\n")

    def note(self, message: str) -> None:
        """A message for the person, never for a script: stderr, one line, silenced by --quiet."""
        if not self.quiet:
            self.stderr.write(printable(message) + "\n")

    def warn(self, message: str) -> None:
        self.stderr.write(f"warning: {printable(message)}\n")

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[Any]],
              styles: Sequence[str | None] | None = None, shrink: Sequence[int] = (),
              keep: int | None = None, max_widths: dict[int, int] | None = None) -> None:
        """A table: tab-separated columns in a pipe; on a terminal, aligned columns that fit its
        width (colours only on a colour terminal). A row is always one line: when it is too wide,
        the columns in `shrink` (default: all but the first) are cut with `…` (the widest first;
        the others before `keep`, which keeps its room longest); columns empty in every row are
        left out. A cell is one line, its control characters escaped (a tab or newline in a title
        never splits a row); a `Styled` cell keeps its style."""
        rows = [list(row) for row in rows]
        cell_styles = [[getattr(cell, "style", None) for cell in row] for row in rows]
        cell_spans = [[getattr(cell, "spans", None) if printable(cell) == cell else None for cell in row]
                      for row in rows]
        headers = [printable(header) for header in headers]
        rows = [[printable(cell) for cell in row] for row in rows]
        if not self.stdout.isatty():
            for row in rows:
                self.stdout.write("\t".join(row) + "\n")
            return
        # rich costs ~40 ms; only terminal tables need it
        from rich.measure import Measurement
        from rich.table import Table

        shrink = list(shrink) or list(range(1, len(headers)))
        shown = [i for i in range(len(headers)) if not rows or any(row[i] for row in rows)]
        table = Table(box=None, pad_edge=False, header_style="bold dim" if self.color else None)
        for i in shown:  # rich narrows the widest shrinkable columns first; a cell never wraps
            table.add_column(headers[i], style=(styles[i] if styles and self.color else None),
                             no_wrap=i not in shrink, overflow="ellipsis", max_width=(max_widths or {}).get(i))
        for row, row_styles, row_spans in zip(rows, cell_styles, cell_spans, strict=True):
            table.add_row(*(_text(row[i], row_spans[i], row_styles[i] or "", self.color) for i in shown))
        console = self._console()
        natural = Measurement.get(console, console.options.update_width(1 << 16), table).maximum
        if natural > console.width and keep is not None:  # too wide: the others give way before `keep`
            narrow = max(8, (console.width - 60) // 4)  # 8 cells at 80 columns, 35 at 200
            for column, i in zip(table.columns, shown, strict=True):
                if i in shrink and i != keep:
                    column.max_width = min(column.max_width or narrow, narrow)
        console.print(table)

    def _console(self):
        from rich.console import Console

        # markup and emoji off: a title like `[bold]x[/]` or `:x:` shows as written; no colour
        # codes at all without colour (NO_COLOR, TERM=dumb); the terminal's width (or COLUMNS),
        # also on a dumb terminal (rich would assume 80)
        width, height = self._size()
        return Console(file=self.stdout, highlight=False, markup=False, emoji=False,
                       color_system="auto" if self.color else None, width=width, height=height)

    def _size(self) -> tuple[int, int]:
        """(columns, lines) of the terminal: COLUMNS/LINES when set, else asked of the terminal."""
        try:
            size = os.get_terminal_size(self.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            size = os.terminal_size((80, 24))
        found = []
        for name, default in (("COLUMNS", size.columns or 80), ("LINES", size.lines or 24)):
            value = self.environ.get(name, "")
            found.append(int(value) if value.isdigit() and int(value) > 0 else default)
        return found[0], found[1]


class Painted(str):
    """Text whose parts have their own styles on a colour terminal (labels in their colours):
    `spans` are (start, end, style) over the text."""

    spans: tuple[tuple[int, int, str], ...]

    def __new__(cls, text: str, spans: tuple[tuple[int, int, str], ...] = ()) -> Painted:
        value = super().__new__(cls, text)
        value.spans = spans
        return value


def _text(text: str, spans, style: str, color: bool):
    """rich Text of a cell or line: its spans styled (on a colour terminal, when escaping the text
    for the terminal left its length as it was)."""
    from rich.text import Text

    shown = Text(text, style=style if color else "", no_wrap=True, overflow="ellipsis")
    if color and spans:
        for start, end, span_style in spans:
            shown.stylize(span_style, start, end)
    return shown


class Styled(str):
    """A table cell or value with a style for colour terminals (`Styled("2026-01-02", "bold red")`)."""

    style: str | None

    def __new__(cls, text: str, style: str | None = None) -> Styled:
        value = super().__new__(cls, text)
        value.style = style
        return value


def error_line(exc: BaseException) -> None:
    """One line on stderr for a failed command; the detail of a server problem when there is one
    (control characters of any text it quotes are escaped)."""
    errors = getattr(exc, "errors", None)
    if type(exc).__name__ == "ValidationError" and callable(errors):  # pydantic's: many lines, a URL
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in errors())
        message = f"invalid {getattr(exc, 'title', 'value')}: {problems}"
    else:
        message = str(exc) or type(exc).__name__
    if len(message) > 2000:
        message = message[:2000] + "…"
    sys.stderr.write(f"taskly: {printable(message)}\n")
