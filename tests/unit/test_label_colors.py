"""Label colours: the palette every machine picks alike, colour parsing, and labels painted in
tables and lines on a colour terminal only (NO_COLOR, TERM=dumb and pipes get the names alone)."""

from __future__ import annotations

import io
import re

import pytest
from taskly.core.labels import chip_style, painted
from taskly.core.output import Output
from taskly_shared.labels import PALETTE, normal_color, palette_color


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_palette_is_stable_and_colours_normalise() -> None:
    assert palette_color("bug") == palette_color("bug") and palette_color("bug") in PALETTE
    assert len({palette_color(f"label{i}") for i in range(200)}) == len(PALETTE)  # all of it gets used
    assert normal_color("D73A4A") == normal_color("#d73a4a") == "#d73a4a"
    assert normal_color("#0f0") == "#00ff00"
    for bad in ("red", "#12345", "#1234567", "#gggggg", ""):
        with pytest.raises(ValueError):
            normal_color(bad)
    assert chip_style("#fbca04") == "black on #fbca04" and chip_style("#0052cc") == "white on #0052cc"


def test_painted_spans_cover_each_name() -> None:
    text = painted(["bug", "ui"], {"bug": "#d73a4a"})
    assert text == "bug, ui"
    assert text.spans == ((0, 3, "white on #d73a4a"), (5, 7, chip_style(palette_color("ui"))))


def _table(environ: dict[str, str], stdout: io.StringIO) -> str:
    out = Output(environ=environ, stdout=stdout)
    out.table(["KEY", "LABELS"], [["WEB-1", painted(["bug", "ui"], {"bug": "#d73a4a"})]])
    out.line(painted(["bug"], {"bug": "#d73a4a"}))
    return stdout.getvalue()


def test_labels_coloured_on_a_colour_terminal_only() -> None:
    coloured = _table({"COLORTERM": "truecolor", "TERM": "xterm-256color"}, Terminal())
    assert re.search("\x1b\\[[0-9;]+mbug\x1b\\[0m, \x1b\\[[0-9;]+mui\x1b\\[0m", coloured), coloured
    plain = _table({"NO_COLOR": "1", "TERM": "xterm-256color"}, Terminal())
    assert "\x1b" not in plain and "bug, ui" in plain
    dumb = _table({"TERM": "dumb"}, Terminal())
    assert "\x1b" not in dumb
    piped = _table({"COLORTERM": "truecolor"}, io.StringIO())
    assert piped == "WEB-1\tbug, ui\nbug\n"
