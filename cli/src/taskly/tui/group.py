"""`taskly board [BOARD]`: the `board` command group opens the board unless given a subcommand.

`taskly board create|ls|use …` run their subcommand; `taskly board` and `taskly board WEB` (any
first argument that is not a subcommand) open the Textual board. Light to import: typer only.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup

BOARD_ARGUMENT = "taskly.board"
"""Where `BoardGroup` leaves the BOARD argument for the group's callback (`ctx.meta`)."""


class BoardGroup(TyperGroup):
    """A group whose first argument is a subcommand or, when it is none of them, a board."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.subcommand_metavar = "[BOARD] | COMMAND [ARGS]..."

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        args = list(args)
        index = self._first_positional(args)
        if index is not None and args[index] not in self.commands:
            ctx.meta[BOARD_ARGUMENT] = args.pop(index)
        return super().parse_args(ctx, args)

    def _first_positional(self, args: list[str]) -> int | None:
        """The index of the first argument that is neither an option nor an option's value."""
        takes_value = {opt for param in self.params if getattr(param, "param_type_name", "") == "option"
                       and not getattr(param, "is_flag", False) and not getattr(param, "count", False)
                       for opt in param.opts}
        index = 0
        while index < len(args):
            arg = args[index]
            if arg == "--":
                return None
            if not arg.startswith("-") or arg == "-":
                return index
            index += 2 if arg in takes_value else 1
        return None
