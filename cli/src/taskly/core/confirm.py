"""Asking before a destructive command (`workspace rm`, `board rm`, `label rm`): `--yes` skips it."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from .errors import TasklyError, UsageError
from .output import printable

if TYPE_CHECKING:
    from .context import Factory


def confirm(f: Factory, question: str, yes: bool) -> None:
    """Go on with `--yes`, or when the person at the terminal answers y; a usage error (exit 2)
    without a terminal or with --no-input, an error (exit 1) when they answer anything else."""
    if yes:
        return
    if f.globals.no_input or not sys.stdin.isatty():
        raise UsageError(f"{question} — add --yes to confirm (there is no terminal to ask)")
    sys.stderr.write(f"{printable(question)} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise TasklyError("cancelled: nothing changed")
