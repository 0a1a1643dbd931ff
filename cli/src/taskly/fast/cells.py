"""Terminal cell widths and cropping, as rich's `rich.cells` computes them (its latest Unicode table,
zero-width joiners and variation selectors included), without importing rich.

The fast reads (`taskly.fast`) lay out `taskly ls` tables with these, so a cut title ends at the
same character and a wide character split by the cut becomes a space, as on the typer path.
"""

from __future__ import annotations

from functools import lru_cache

from ._widths import NARROW_TO_WIDE, WIDTHS

_SINGLE_CELL_RANGES = ((0x20, 0x7E), (0xA0, 0xAC), (0xAE, 0x2FF), (0x370, 0x482), (0x2500, 0x25FC),
                       (0x2800, 0x28FF))
_single_cells = frozenset(chr(code) for start, end in _SINGLE_CELL_RANGES for code in range(start, end + 1))
_is_single_cell = _single_cells.issuperset
_SPECIAL = frozenset("\u200d\ufe0f")  # zero-width joiner, variation selector 16


@lru_cache(maxsize=4096)
def char_width(character: str) -> int:
    """Cells (0, 1 or 2) of one character."""
    code = ord(character)
    if (code and code < 32) or 0x7F <= code < 0xA0:
        return 0
    if code > WIDTHS[-1][1]:
        return 1
    low, high = 0, len(WIDTHS) - 1
    while low <= high:
        middle = (low + high) >> 1
        start, end, width = WIDTHS[middle]
        if code < start:
            high = middle - 1
        elif code > end:
            low = middle + 1
        else:
            return width
    return 1


def cell_len(text: str) -> int:
    """Cells `text` takes on a terminal."""
    if _is_single_cell(text):
        return len(text)
    if "\u200d" not in text and "\ufe0f" not in text:
        return sum(map(char_width, text))
    total, last, index = 0, None, 0
    while index < len(text):
        character = text[index]
        if character in _SPECIAL:
            if character == "\u200d":
                index += 1
            elif last:
                total += last in NARROW_TO_WIDE
                last = None
        else:
            width = char_width(character)
            if width:
                last = character
                total += width
        index += 1
    return total


def _graphemes(text: str) -> tuple[list[tuple[int, int, int]], int]:
    """(start, end, cells) of each grapheme, and the cells of the whole text."""
    spans: list[tuple[int, int, int]] = []
    index, total, last = 0, 0, None
    count = len(text)
    while index < count:
        character = text[index]
        if character in _SPECIAL:
            if not spans:
                spans.append((index, index + 1, 0))
                index += 1
                continue
            if character == "\u200d":
                index += 2 if index < count - 1 else 1
                start, _end, cells = spans[-1]
                spans[-1] = (start, index, cells)
            else:
                index += 1
                start, _end, cells = spans[-1]
                if last and last in NARROW_TO_WIDE:
                    last = None
                    cells += 1
                    total += 1
                spans[-1] = (start, index, cells)
            continue
        width = char_width(character)
        if width:
            last = character
            spans.append((index, index + 1, width))
            total += width
        elif spans:
            start, _end, cells = spans[-1]
            spans[-1] = (start, index + 1, cells)
        else:
            spans.append((index, index + 1, 0))
        index += 1
    return spans, total


def _split(text: str, position: int) -> str:
    """The part of `text` left of cell `position` (a wide character cut in two becomes a space)."""
    if position <= 0:
        return ""
    spans, total = _graphemes(text)
    offset = int((position / total) * len(spans))
    left = sum(span[2] for span in spans[:offset])
    while True:
        if left == position:
            return text if offset >= len(spans) else text[:spans[offset][0]]
        if left < position:
            start, _end, cells = spans[offset]
            if left + cells > position:
                return text[:start] + " "
            offset += 1
            left += cells
        else:
            start, _end, cells = spans[offset - 1]
            if left - cells < position:
                return text[:start] + " "
            offset -= 1
            left -= cells


def set_cell_size(text: str, total: int) -> str:
    """`text` cropped or padded with spaces to `total` cells."""
    if _is_single_cell(text):
        size = len(text)
        return text + " " * (total - size) if size < total else text[:total]
    if total <= 0:
        return ""
    size = cell_len(text)
    if size == total:
        return text
    if size < total:
        return text + " " * (total - size)
    return _split(text, total)
