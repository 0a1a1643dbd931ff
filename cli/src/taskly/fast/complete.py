"""Shell completion of the commonest words without typer: a card as the first argument of the card
commands, `mv`'s column (or another card), and `ls --column`'s value, for bash and zsh. The candidates come from
`core.completion` (the functions typer calls) and are filtered and formatted as typer does; any
other word, shell or quoting defers to typer's own completion."""

from __future__ import annotations

from .context import Defer, parse

CARD_FIRST = ("show", "edit", "mv", "assign", "log", "rm", "restore", "open")
"""Commands whose first argument is a card (`autocompletion=complete_card`)."""


def words(instruction: str, environ: dict[str, str]) -> tuple[str, list[str], str]:
    """(shell, args, incomplete) of a `_TASKLY_COMPLETE` request, as typer's classes read them."""
    first, _, second = instruction.partition("_")
    action, shell = (first, second) if first in ("complete", "source") else (second, first)
    if action != "complete" or shell not in ("bash", "zsh"):
        raise Defer("not a bash or zsh completion")
    line = environ.get("COMP_WORDS" if shell == "bash" else "_TYPER_COMPLETE_ARGS", "")
    if any(char in line for char in "'\"\\=") or not line.isprintable():
        raise Defer("quoting typer's shlex reads")
    split = line.split()
    if shell == "bash":
        try:
            position = int(environ["COMP_CWORD"])
        except (KeyError, ValueError) as exc:
            raise Defer("no COMP_CWORD") from exc
        if position < 1:
            raise Defer("no word")
        return shell, split[1:position], split[position] if position < len(split) else ""
    args = split[1:]
    if args and not line.endswith(" "):
        return shell, args[:-1], args[-1]
    return shell, args, ""


def candidates(args: list[str], incomplete: str) -> list[str]:
    from ..core import completion

    if not args or incomplete.startswith("-"):
        raise Defer("a command or option name")
    command, rest = args[0], args[1:]
    if rest and rest[-1] in ("--column", "-c") and command == "ls":
        parsed = parse(rest[:-1], {"--mine": "mine", "--all": "all"}, {"--column": "column", "-c": "column",
                       "--sprint": "sprint"}, {"--label": "l", "-l": "l", "--priority": "p", "-p": "p",
                                               "--assignee": "a", "-a": "a"})
        complete = completion.complete_column
    elif command in CARD_FIRST:
        parsed = parse(rest, {}, {}, {}, positionals=1 if command == "mv" else 0)
        if parsed["args"] and command != "mv":
            raise Defer("a later argument")
        if command == "mv":
            def complete(typed: str) -> list[str]:
                return completion.cards_then_column(bool(parsed["args"]), typed)
        else:
            complete = completion.complete_card
    else:
        raise Defer("a word the fast completion does not know")
    from ..core.globals import GLOBALS

    for name in ("server", "workspace", "board"):  # typed before the TAB: typer's callbacks set them
        if parsed[name]:
            setattr(GLOBALS, name, parsed[name])
    return [value for value in complete(incomplete) if value.startswith(incomplete)]


def run(instruction: str, environ: dict[str, str]) -> int:
    import sys

    from ..core.completion import bash_escape

    shell, args, incomplete = words(instruction, environ)
    found = candidates(args, incomplete)
    if shell == "bash":
        text = "\n".join(bash_escape(value) for value in found)
    else:
        text = "\n".join(value for value in found if value and value.isprintable())
    sys.stdout.write(text + "\n")
    return 0
