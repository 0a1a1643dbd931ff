"""The flags every command accepts, as parsed for this process (read by the Factory and completion)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Globals:
    """Flags every command accepts, before or after its own arguments."""

    json: bool = False
    quiet: bool = False
    offline: bool = False
    no_input: bool = False
    server: str | None = None
    workspace: str | None = None
    board: str | None = None


GLOBALS = Globals()
