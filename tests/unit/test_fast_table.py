"""The fast reads' terminal tables (`taskly.fast.table`) are rich's, byte for byte: random tables
of hostile and wide text at many widths, with and without colour, drawn both ways."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import pytest
from taskly.core import labels
from taskly.core.output import Output, Painted, Styled, printable
from taskly.fast import _widths, table
from taskly.fast.cells import cell_len, set_cell_size

ALPHABET = ["a", "b", "Z", " ", "-", "é", "ß", "漢", "字", "한", "😀", "👍🏽", "❤️", "👩‍💻", "\u0301", "\u200d",
            "\ufe0f", "\uff57", "\t", "\x1b", "\u202e", "…", "[b]", ":x:", "#", "1", "\u00a0", "\u3000"]


def _text(rng: random.Random, longest: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, longest)))


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


SYSTEMS = {None: {"NO_COLOR": "1", "TERM": "xterm-256color"},  # (colour system, rich's environment)
           "standard": {"TERM": "xterm"}, "256": {"TERM": "xterm-256color"},
           "truecolor": {"TERM": "xterm", "COLORTERM": "truecolor"}}


def _rich(headers, rows, styles, shrink, keep, max_widths, width, system) -> str:
    """Output.table on a terminal: rich's Console reads its colour system from os.environ."""
    from unittest import mock

    from rich.style import Style

    # rich keeps a style's codes on the (cached) style, whatever the colour system: a process has one
    Style.parse.cache_clear()
    Style._add.cache_clear()
    environ = {"COLUMNS": str(width), **SYSTEMS[system]}
    stdout = _Terminal()
    with mock.patch.dict(os.environ, environ, clear=True):
        assert table.color_system(os.environ) == (system or "256")
        Output(environ=environ, stdout=stdout).table(headers, rows, styles=styles, shrink=shrink, keep=keep,
                                                     max_widths=max_widths)
    return stdout.getvalue()


def _fast(headers, rows, styles, shrink, keep, max_widths, width, system) -> str:
    cell_styles = [[getattr(cell, "style", None) for cell in row] for row in rows]
    spans = [[getattr(cell, "spans", None) if printable(cell) == cell else None for cell in row] for row in rows]
    cells = [[printable(cell) for cell in row] for row in rows]
    return table.render_table([printable(h) for h in headers], cells, cell_styles, styles, shrink, keep, max_widths,
                              width, system is not None, system or "standard", spans)


def _painted(rng: random.Random, longest: int) -> Painted:
    """Labels in their colours: names (some hostile) joined by `, `, each a chip of a random colour."""
    names = [_text(rng, rng.choice([2, 6, 12])) for _ in range(rng.randint(0, 4))]
    colours = [f"#{rng.randrange(1 << 24):06x}" if rng.random() < 0.8 else rng.choice(GREYS) for _ in names]
    painted = labels.painted(names, dict(zip(names, colours, strict=True)))
    if rng.random() < 0.2:  # a span over the whole cell beneath the chips
        return Painted(painted, ((0, len(painted), "bold white on #0a0a0a"), *painted.spans))
    return painted


GREYS = ["#000000", "#ffffff", "#808080", "#7f7f7f", "#0a0a0a", "#f5f5f5", "#999a99", "#333333"]


HEADERS = ["KEY", "COLUMN", "TITLE", "PRIORITY", "ASSIGNEES", "LABELS", "POINTS", "DUE", ""]
STYLES = ["bold cyan", "magenta", None, "yellow", "green", "blue", None, None, "red"]


@pytest.mark.parametrize("system", list(SYSTEMS))
@pytest.mark.parametrize("seed", range(24))
def test_random_tables_match_rich(seed: int, system: str | None) -> None:
    rng = random.Random(seed)
    columns = rng.randint(8, 9)
    rows = []
    for _ in range(rng.randint(0, 12)):
        row = [_text(rng, rng.choice([3, 8, 30, 70])) for _ in range(columns)]
        if rng.random() < 0.3:
            row[7] = Styled(row[7] or "2026-01-01 (overdue)", "bold red")
        if rng.random() < 0.7:
            row[5] = _painted(rng, 40)
        if rng.random() < 0.2:
            row[rng.choice([0, 2, 4])] = _painted(rng, 40)
        if rng.random() < 0.2:
            row[rng.randrange(columns)] = ""
        rows.append(row)
    for width in (20, 33, 47, 80, 133, 240):  # cards.MIN_WIDTH and up
        args = (HEADERS[:columns], rows, STYLES[:columns], (1, 2, 4, 5), 2, {1: 16, 4: 24, 5: 30}, width, system)
        assert _fast(*args) == _rich(*args), (seed, width, system)


@pytest.mark.parametrize("system", ["standard", "256", "truecolor"])
def test_every_chip_colour_matches_rich(system: str) -> None:
    """rich's downgrade of a label's colour (the 256 colours' cube and greys, the 16 colours' match)."""
    from rich.color import ColorSystem
    from rich.style import Style

    rng = random.Random(7)
    colours = [f"#{rng.randrange(1 << 24):06x}" for _ in range(3000)] + [f"#{v:02x}{v:02x}{v:02x}" for v in range(256)]
    rich_system = {"standard": ColorSystem.STANDARD, "256": ColorSystem.EIGHT_BIT, "truecolor": ColorSystem.TRUECOLOR}
    Style.parse.cache_clear()
    for colour in colours:
        style = labels.chip_style(colour)
        expected = Style.parse(style)._make_ansi_codes(rich_system[system])
        assert table.sgr(table.parse_style(f"bold dim {style}"), system) == "1;2;" + expected, colour


def test_palette_is_rich() -> None:
    from rich._palettes import STANDARD_PALETTE

    assert tuple(map(tuple, STANDARD_PALETTE._colors)) == table.STANDARD_PALETTE


@pytest.mark.parametrize(("environ", "system"), [
    ({"TERM": "xterm-256color"}, "256"), ({"TERM": "xterm-kitty"}, "256"), ({"TERM": "rxvt-16color"}, "standard"),
    ({"TERM": "xterm"}, "standard"), ({}, "standard"), ({"TERM": "xterm", "COLORTERM": " 24Bit "}, "truecolor"),
    ({"TERM": "dumb", "COLORTERM": "truecolor"}, None), ({"TERM": "UNKNOWN"}, None),
    ({"TERM": "screen-256color-bce"}, "standard"), ({"TERM": " XTERM-256COLOR "}, "256")])
def test_color_system_is_rich(environ: dict[str, str], system: str | None) -> None:
    from rich.console import Console

    console = Console(file=_Terminal(), _environ=environ)
    found = console._detect_color_system()
    assert table.color_system(environ) == system == (found and {1: "standard", 2: "256", 3: "truecolor"}[found])


def test_widths_table_is_rich_latest() -> None:
    from rich._unicode_data import load

    table = load("latest")
    assert tuple(map(tuple, table.widths)) == _widths.WIDTHS and table.narrow_to_wide == _widths.NARROW_TO_WIDE, \
        "rich's table changed: write widths_module() to cli/src/taskly/fast/_widths.py"


def widths_module() -> str:
    """The text of taskly/fast/_widths.py for the installed rich."""
    from rich._unicode_data import load

    table = load("latest")
    path = Path(_widths.__file__)
    head = path.read_text().split("UNICODE_VERSION =", 1)[0]
    rows = [f"({start:#x}, {end:#x}, {width})," for start, end, width in table.widths]
    body = "\n".join("    " + " ".join(rows[i:i + 4]) for i in range(0, len(rows), 4))
    return (f"{head}UNICODE_VERSION = {table.unicode_version!r}\n\nWIDTHS: tuple[tuple[int, int, int], ...] = (\n"
            f"{body}\n)\n\nNARROW_TO_WIDE = frozenset(\n    {''.join(sorted(table.narrow_to_wide))!a})\n")


def test_widths_module_is_generated() -> None:
    assert widths_module() == Path(_widths.__file__).read_text()


@pytest.mark.parametrize("seed", range(5))
def test_cell_functions_match_rich(seed: int) -> None:
    from rich import cells

    rng = random.Random(seed)
    for _ in range(400):
        text = _text(rng, 12)
        assert cell_len(text) == cells.cell_len(text), ascii(text)
        for size in range(-1, 14):
            assert set_cell_size(text, size) == cells.set_cell_size(text, size), (ascii(text), size)


@pytest.mark.parametrize("system", list(SYSTEMS))
def test_painted_lines_match_rich(system: str | None) -> None:
    """`show`'s labels line (and a styled line): FastOutput.line writes what rich's console does."""
    from unittest import mock

    from rich.style import Style
    from taskly.fast.cards import FastOutput
    from taskly.fast.context import Defer

    rng = random.Random(3)
    compared = 0
    for _ in range(200):
        painted = _painted(rng, 40)
        text = Painted(f"  labels    {painted}", tuple((a + 12, b + 12, s) for a, b, s in painted.spans))
        style = rng.choice([None, "bold red", "dim"])
        Style.parse.cache_clear()
        Style._add.cache_clear()
        with mock.patch.dict(os.environ, SYSTEMS[system], clear=True):
            typer, fast = _Terminal(), _Terminal()
            Output(environ=dict(os.environ), stdout=typer).line(text, style)
            try:
                FastOutput(environ=dict(os.environ), stdout=fast).line(text, style)
            except Defer:  # a tab: rich expands it, the typer path draws the line
                assert "\t" in text and system is not None and fast.getvalue() == ""
                continue
        assert fast.getvalue() == typer.getvalue(), ascii(text)
        compared += 1
    assert compared > 100
