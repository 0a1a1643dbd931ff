"""`Output.table` on a terminal, byte for byte as rich lays it out, without rich (~40 ms).

The typer path draws terminal tables with rich's `Table(box=None, pad_edge=False)`; this module
computes the same column widths (rich's measure, collapse and ratio-reduce steps), cuts and pads
cells the same way (`…`, wide characters) and writes the same SGR codes for the few styles the
tables use, labels painted in their colours (`core.output.Painted` spans, `black|white on #rrggbb`)
included: rich's colour system is detected as its Console does (`color_system`) and a colour is
downgraded to 256 or 16 colours with rich's formulas. Only that configuration is reproduced: `supported_console` says when rich would do
anything else (an environment that changes its terminal or colour detection), and then the fast
path defers to the typer path. tests/unit/test_fast_table.py compares the two on random tables.
"""

from __future__ import annotations

import os
from itertools import pairwise

from .cells import cell_len, set_cell_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

_ATTRIBUTES = {"bold": 0, "dim": 1}
_COLORS = {"black": 0, "red": 1, "green": 2, "yellow": 3, "blue": 4, "magenta": 5, "cyan": 6, "white": 7}
_HEX = frozenset("0123456789abcdefABCDEF")

Style = tuple  # (bold, dim, colour, background): None where the style does not set it; a colour is a
# standard colour's number (0-7) or an (r, g, b) triplet
NULL: Style = (None, None, None, None)

RICH_ENVIRONMENT = ("TTY_COMPATIBLE", "FORCE_COLOR", "UNICODE_VERSION", "JUPYTER_COLUMNS", "JUPYTER_LINES",
                    "TTY_INTERACTIVE")
"""Variables rich reads that change its output; with any of them set, the typer path draws."""

STANDARD_PALETTE = ((0, 0, 0), (170, 0, 0), (0, 170, 0), (170, 85, 0), (0, 0, 170), (170, 0, 170), (0, 170, 170),
                    (170, 170, 170), (85, 85, 85), (255, 85, 85), (85, 255, 85), (255, 255, 85), (85, 85, 255),
                    (255, 85, 255), (85, 255, 255), (255, 255, 255))
"""rich._palettes.STANDARD_PALETTE (tests/unit/test_fast_table.py compares them)."""


def supported_console(environ: Mapping[str, str]) -> bool:
    """Whether rich, on this system and environment, would draw what `render_table` draws."""
    return os.name == "posix" and not any(name in environ for name in RICH_ENVIRONMENT)


def color_system(environ: Mapping[str, str]) -> str | None:
    """rich's `Console._detect_color_system` on a (POSIX) terminal: "truecolor", "256" or "standard";
    None on a dumb or unknown TERM (no colour codes at all)."""
    term = environ.get("TERM", "")
    if term.lower() in ("dumb", "unknown"):
        return None
    if environ.get("COLORTERM", "").strip().lower() in ("truecolor", "24bit"):
        return "truecolor"
    colours = term.strip().lower().rpartition("-")[2]
    return "256" if colours in ("256color", "kitty") else "standard"


def _colour(word: str) -> int | tuple[int, int, int]:
    if word in _COLORS:
        return _COLORS[word]
    if len(word) == 7 and word[0] == "#" and _HEX.issuperset(word[1:]):
        return int(word[1:3], 16), int(word[3:5], 16), int(word[5:7], 16)
    raise ValueError(f"colour {word!r} is not one the fast tables know")


def parse_style(text: str | None) -> Style:
    """A style of the few words the tables use: `bold`, `dim`, a colour, `on` a colour."""
    if not text:
        return NULL
    bold = dim = colour = background = None
    words = iter(text.split())
    for word in words:
        if word == "bold":
            bold = True
        elif word == "dim":
            dim = True
        elif word == "on":
            background = _colour(next(words, ""))
        else:
            try:
                colour = _colour(word)
            except ValueError:
                raise ValueError(f"style {text!r} is not one the fast tables know") from None
    return (bold, dim, colour, background)


_COMBINED: dict[tuple[Style, Style], Style] = {}


def combine(base: Style, over: Style) -> Style:
    """`over` set on `base` (rich's Style.__add__ for these styles)."""
    combined = _COMBINED.get((base, over))
    if combined is None:
        combined = _COMBINED[base, over] = tuple(b if o is None else o for b, o in zip(base, over, strict=True))
    return combined


def _eight_bit(red: int, green: int, blue: int) -> int:
    """rich's Color.downgrade of a truecolor colour to the 256 colours."""
    from colorsys import rgb_to_hls

    _hue, light, saturation = rgb_to_hls(red / 255.0, green / 255.0, blue / 255.0)
    if saturation < 0.15:  # rich takes it for a grey
        gray = round(light * 25.0)
        return 16 if gray == 0 else 231 if gray == 25 else 231 + gray
    six = [value / 95 if value < 95 else 1 + (value - 95) / 40 for value in (red, green, blue)]
    return 16 + 36 * round(six[0]) + 6 * round(six[1]) + round(six[2])


def _standard(red: int, green: int, blue: int) -> int:
    """rich's Palette.match of STANDARD_PALETTE: the nearest of the 16 colours (its weighted distance)."""
    from math import sqrt

    def distance(index: int) -> float:
        red2, green2, blue2 = STANDARD_PALETTE[index]
        red_mean = (red + red2) // 2
        r, g, b = red - red2, green - green2, blue - blue2
        return sqrt((((512 + red_mean) * r * r) >> 8) + 4 * g * g + (((767 - red_mean) * b * b) >> 8))

    return min(range(len(STANDARD_PALETTE)), key=distance)


def _colour_codes(colour: int | tuple[int, int, int], foreground: bool, system: str) -> str:
    """Color.downgrade(system).get_ansi_codes(foreground)."""
    if isinstance(colour, tuple):
        if system == "truecolor":
            return f"{38 if foreground else 48};2;{colour[0]};{colour[1]};{colour[2]}"
        if system == "256":
            return f"{38 if foreground else 48};5;{_eight_bit(*colour)}"
        colour = _standard(*colour)
    fore, back = (30, 40) if colour < 8 else (82, 92)
    return str((fore if foreground else back) + colour)


def sgr(style: Style, system: str = "standard") -> str:
    """Style._make_ansi_codes: attributes, then colour, then background, in `system`."""
    codes = [code for code, on in (("1", style[0]), ("2", style[1])) if on]
    if style[2] is not None:
        codes.append(_colour_codes(style[2], True, system))
    if style[3] is not None:
        codes.append(_colour_codes(style[3], False, system))
    return ";".join(codes)


def paint(text: str, style: str | None, spans: Sequence[tuple[int, int, str]] | None, system: str | None) -> str:
    """A line as rich's `console.print(Text(text, style=style) with spans, soft_wrap=True)` writes it
    (without the newline) on a terminal of colour `system` (`color_system`; None: no codes)."""
    if system is None:
        return text
    length = len(text)
    parts = _painted(text, parse_style(style), [(start, min(end, length), parse_style(over))
                                                for start, end, over in spans or () if 0 <= start < min(end, length)])
    out = []
    for part, part_style in parts:
        code = sgr(part_style, system)
        if part:
            out.append(f"\x1b[{code}m{part}\x1b[0m" if code else part)
    return "".join(out)


# --- measuring (rich.measure.Measurement on (minimum, maximum) pairs) ------------------------------


def _text_size(text: str) -> tuple[int, int]:
    """Text.__rich_measure__ (longest word, longest line), its minimum capped by its maximum."""
    lines = text.splitlines()
    high = max(cell_len(line) for line in lines) if lines else 0
    words = text.split()
    low = max(cell_len(word) for word in words) if words else high
    return min(max(0, low), high), high


def _cell_size(low: int, high: int, width: int, extra: int) -> tuple[int, int]:
    """Measurement.get of Padding(Text) with `extra` cells of padding, for a text of (low, high)."""
    if width < 1:
        return 0, 0
    if width - extra < 1:
        return width, width
    low, high = min(low, width), min(high, width)
    if high < 1:
        low = high = 0
    return min(low + extra, width), min(high + extra, width)


class _Column:
    """A column's cells and how rich measures them. Every step of rich's measure is monotonic in a
    cell's (minimum, maximum), so the column's measure at any width is that of its largest ones."""

    __slots__ = ("cells", "high", "left", "low", "max_width", "no_wrap", "right", "sizes", "style")

    def __init__(self, cells: list[str], left: int, right: int, no_wrap: bool, max_width: int | None,
                 style: Style) -> None:
        self.cells, self.left, self.right = cells, left, right
        self.no_wrap, self.max_width, self.style = no_wrap, max_width, style
        self.sizes = [_text_size(text) for text in cells]
        self.low = max(size[0] for size in self.sizes)
        self.high = max(size[1] for size in self.sizes)

    def measure(self, width: int) -> tuple[int, int]:
        if width < 1:
            return 0, 0
        extra = self.left + self.right
        low, high = _cell_size(self.low, self.high, width, extra)
        if self.max_width is not None:
            limit = self.max_width + extra
            low, high = min(low, limit), min(high, limit)
        return low, high


def _ratio_reduce(total: int, ratios: list[int], maximums: list[int], values: list[int]) -> list[int]:
    ratios = [ratio if maximum else 0 for ratio, maximum in zip(ratios, maximums, strict=True)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return values[:]
    remaining, result = total, []
    for ratio, maximum, value in zip(ratios, maximums, values, strict=True):
        if ratio and total_ratio > 0:
            distributed = min(maximum, round(ratio * remaining / total_ratio))
            result.append(value - distributed)
            remaining -= distributed
            total_ratio -= ratio
        else:
            result.append(value)
    return result


def _collapse(widths: list[int], wrapable: list[bool], max_width: int) -> list[int]:
    total = sum(widths)
    excess = total - max_width
    if any(wrapable):
        while total and excess > 0:
            widest = max(width for width, wrap in zip(widths, wrapable, strict=True) if wrap)
            second = max(width if wrap and width != widest else 0 for width, wrap in zip(widths, wrapable, strict=True))
            difference = widest - second
            ratios = [1 if (width == widest and wrap) else 0 for width, wrap in zip(widths, wrapable, strict=True)]
            if not any(ratios) or not difference:
                break
            widths = _ratio_reduce(excess, ratios, [min(excess, difference)] * len(widths), widths)
            total = sum(widths)
            excess = total - max_width
    return widths


def _widths(columns: list[_Column], max_width: int) -> list[int]:
    """Table._calculate_column_widths (no expand, no fixed widths)."""
    widths = [column.measure(max_width)[1] or 1 for column in columns]
    if sum(widths) > max_width:
        widths = _collapse(widths, [not column.no_wrap for column in columns], max_width)
        if sum(widths) > max_width:
            widths = _ratio_reduce(sum(widths) - max_width, [1] * len(widths), widths, widths)
        widths = [column.measure(width)[1] or 0 for width, column in zip(widths, columns, strict=True)]
    return widths


# --- drawing ------------------------------------------------------------------------------------


def _truncate(text: str, size: int, width: int) -> str:
    """Text.truncate(width, overflow="ellipsis", pad=True), as left justification does it, then
    Text.wrap's own truncate, for a text of `size` cells."""
    if size > width:
        text = set_cell_size(text, width - 1) + "…"
    elif size < width:
        text += " " * (width - size)
    if cell_len(text) > width:
        text = set_cell_size(text, width - 1) + "…"
    return text


def _fit(segments: list[tuple[str, Style]], length: int, pad_style: Style | None, pad: bool = True
         ) -> list[tuple[str, Style]]:
    """Segment.adjust_line_length."""
    total = sum(cell_len(text) for text, _ in segments)
    if total < length:
        return [*segments, (" " * (length - total), pad_style)] if pad else segments[:]
    if total == length:
        return segments[:]
    fitted, total = [], 0
    for text, style in segments:
        size = cell_len(text)
        if total + size < length:
            fitted.append((text, style))
            total += size
        else:
            fitted.append((set_cell_size(text, length - total), style))
            break
    return fitted


def _painted(text: str, style: Style, spans: Sequence[tuple[int, int, Style]]) -> list[tuple[str, Style]]:
    """Text.render: the text cut at every span's start and end, each part in the text's style with
    the spans over it combined in their order. Spans past the text's end (cut off with `…`) are
    trimmed to it, as Text._trim_spans does."""
    if not spans:
        return [(text, style)]
    length = len(text)
    spans = [(start, min(end, length), over) for start, end, over in spans if start < length]
    offsets = sorted({0, length, *(start for start, _, _ in spans), *(end for _, end, _ in spans)})
    segments = []
    for offset, following in pairwise(offsets):
        current = style
        for start, end, over in spans:
            if start <= offset < end:
                current = combine(current, over)
        segments.append((text[offset:following], current))
    return segments


def _cell(column: _Column, row: int, text_style: Style, base: Style, width: int,
          spans: Sequence[tuple[int, int, Style]] = ()) -> list[tuple[str, Style]]:
    """One cell's line: Padding(Text) rendered at `width`, `base` (column or header style) applied;
    `spans` (start, end, style) styled parts of the text (labels in their colours)."""
    inner = width - column.left - column.right
    if inner < 1:  # rich renders nothing there, and the row fills it with blanks
        return [(" " * width, base)]
    text = _truncate(column.cells[row], column.sizes[row][1], inner)
    content = _painted(text, text_style, spans)
    if (cell_len(text) if len(content) == 1 else sum(cell_len(part) for part, _ in content)) != inner:
        # a cut through joined characters (or parts that measure apart otherwise than together): rich's
        # crop and pad of the line's segments, as it does them
        line = _fit(content, inner, NULL)
        segments = ([(" " * column.left, NULL)] if column.left else []) + line + (
            [(" " * column.right, NULL)] if column.right else [])
        return _fit([(segment, combine(base, style)) for segment, style in segments], width, base)
    return [*([(" " * column.left, base)] if column.left else []),
            *((part, combine(base, style)) for part, style in content),
            *([(" " * column.right, base)] if column.right else [])]


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], cell_styles: Sequence[Sequence[str | None]],
                 styles: Sequence[str | None] | None, shrink: Sequence[int], keep: int | None,
                 max_widths: Mapping[int, int] | None, width: int, color: bool, system: str = "standard",
                 cell_spans: Sequence[Sequence[Sequence[tuple[int, int, str]] | None]] | None = None) -> str:
    """What `Output.table` prints on a terminal of `width` (≥ 20) columns (`color`: Output's colour
    flag, and rich writing colour codes in `system`, see `color_system`), given escaped one-line
    cells, their styles and the (start, end, style) spans of painted ones."""
    shrink = list(shrink) or list(range(1, len(headers)))
    shown = [i for i in range(len(headers)) if not rows or any(row[i] for row in rows)]
    columns = []
    for n, i in enumerate(shown):
        columns.append(_Column([headers[i], *(row[i] for row in rows)], 0 if n == 0 else 1,
                               0 if n == len(shown) - 1 else 1, i not in shrink, (max_widths or {}).get(i),
                               parse_style(styles[i] if styles and color else None)))
    natural_width = sum(_widths(columns, 1 << 16))
    natural = min(sum(column.measure(natural_width)[1] for column in columns), 1 << 16)
    if natural > width and keep is not None:  # Output.table: the others give way before `keep`
        narrow = max(8, (width - 60) // 4)
        for column, i in zip(columns, shown, strict=True):
            if i in shrink and i != keep:
                column.max_width = min(column.max_width or narrow, narrow)
    widths = _widths(columns, width)
    header_style = parse_style("bold dim" if color else None)
    parsed_styles: dict[str | None, Style] = {}
    codes: dict[Style, str] = {}
    placed = list(zip(columns, shown, widths, strict=True))
    crop = sum(widths) > width  # Console.print crops each line to the terminal's width
    out = []
    for r in range(len(rows) + 1):
        line: list[tuple[str, Style]] = []
        for column, i, column_width in placed:
            if r == 0:
                line += _cell(column, 0, NULL, header_style, column_width)
                continue
            name = cell_styles[r - 1][i] if color else None
            text_style = parsed_styles.get(name)
            if text_style is None:
                text_style = parsed_styles[name] = parse_style(name)
            painted = cell_spans[r - 1][i] if color and cell_spans else None
            spans = [(start, min(end, len(rows[r - 1][i])), parsed_styles.get(over) or parsed_styles.setdefault(
                over, parse_style(over))) for start, end, over in painted
                     if 0 <= start < min(end, len(rows[r - 1][i]))] if painted else ()  # Text.stylize's
            line += _cell(column, r, text_style, column.style, column_width, spans)
        for text, style in _fit(line, width, None, pad=False) if crop else line:
            if text:
                code = codes.get(style) if style else ""
                if code is None:
                    code = codes[style] = sgr(style, system)
                out.append(f"\x1b[{code}m{text}\x1b[0m" if code else text)
        out.append("\n")
    return "".join(out)
