"""Fast reads: `taskly ls` (and the other reads listed in `COMMANDS` and `SUBCOMMANDS`) answered from the cache
before typer, click, rich or pydantic are imported, when the cache may answer (`--offline`, a pull
under TASKLY_FRESH_SECONDS ago, or a live listener following the workspace).

`run` returns the exit code, or None when the typer path must run the command instead: for any
flag, state or error the fast path does not reproduce byte for byte (an unknown flag, `--help`, a
name the cache does not know, a narrow terminal …). Nothing is written before that decision.
TASKLY_FAST=0 turns the fast path off (tests compare the two paths with it).
"""

from __future__ import annotations

import os
import sys

from .context import GLOBAL_FLAGS, GLOBAL_VALUES, Defer

COMMANDS = ("ls", "show", "status", "sprint")
SUBCOMMANDS = {"sprint": ("show",)}
"""The fast subcommands of a group (`taskly sprint show`): its other commands are the typer path's."""


def _command(args: list[str]) -> int | None:
    """Index of the command name in `args` (global flags may come first)."""
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in GLOBAL_FLAGS:
            index += 1
        elif arg in GLOBAL_VALUES:
            index += 2
        elif arg.startswith("-"):
            return None
        else:
            return index
    return None


def run(args: list[str], environ: dict[str, str] | None = None) -> int | None:
    """The exit code of a fast read, or None: the typer path runs the command. Errors the fast
    path meets after its decision (a damaged config, a missing workspace) propagate to `main`,
    which reports them as it does for the typer path."""
    environ = dict(os.environ) if environ is None else environ
    if environ.get("TASKLY_FAST") == "0":
        return None
    if environ.get("_TASKLY_COMPLETE"):  # a TAB: the shell runs `taskly` without arguments
        from . import complete

        try:
            return complete.run(environ["_TASKLY_COMPLETE"], environ) if not args else None
        except Defer:
            return None
    index = _command(args)
    if index is None or args[index] not in COMMANDS:
        return None
    name, rest = args[index], args[:index] + args[index + 1:]
    if name in SUBCOMMANDS:
        if index + 1 >= len(args) or args[index + 1] not in SUBCOMMANDS[name]:
            return None
        name, rest = f"{name} {args[index + 1]}", args[:index] + args[index + 2:]
    try:
        if name == "sprint show":
            from .sprints import show

            return show(rest, environ)
        return (_status if name == "status" else _read)(name, rest, environ)
    except Defer as exc:
        if environ.get("TASKLY_DEBUG"):
            sys.stderr.write(f"taskly: fast read deferred: {exc}\n")
        return None


def _read(name: str, rest: list[str], environ: dict[str, str]) -> int:
    """`ls` (offline, fresh, or after an empty delta) and `show` (offline: online it fetches the
    card's comments)."""
    import sqlite3

    from . import cards
    from .context import Config, fresh_enough, open_cache, parse, queued

    if name == "ls":
        parsed = parse(rest, cards.LS_FLAGS, cards.LS_VALUES, cards.LS_LISTS)
    else:
        parsed = parse(rest, {}, {}, {}, positionals=1)
        if not parsed["offline"]:
            raise Defer("show online fetches the comments")
    config = Config(parsed, environ)
    conn, path = open_cache(config, environ)
    try:
        out = cards.FastOutput(json=parsed["json"], quiet=parsed["quiet"], environ=environ)
        if not parsed["offline"]:
            workspace_id = cards.current_board(conn, config)["workspace_id"]
            if queued(conn):
                raise Defer("queued writes to push first")
            if not fresh_enough(conn, workspace_id, environ):
                from .delta import nothing_new, touch

                reason = nothing_new(conn, config.server, workspace_id, environ)
                if reason is not None:
                    raise Defer(f"the cache needs a pull first: {reason}")
                touch(path, workspace_id)
        code = (cards.ls if name == "ls" else cards.show)(conn, config, parsed, out)
        sys.stdout.flush()
        return code
    except sqlite3.Error as exc:  # nothing printed yet: the store looks at the file
        raise Defer(f"the cache answered {exc}") from exc
    finally:
        conn.close()


def _status(name: str, rest: list[str], environ: dict[str, str]) -> int:
    """`taskly status --offline [-v]`: the typer path's own gathering and rendering (online, status
    asks the server how it is: that is the typer path's)."""
    from ..core.context import GLOBALS, Factory
    from ..sync.render import render_status
    from ..sync.status import gather_status
    from .context import parse

    parsed = parse(rest, {"--verbose": "verbose", "-v": "verbose"}, {}, {})
    if not parsed["offline"]:
        raise Defer("status online asks the server")
    for name in ("json", "quiet", "offline", "no_input", "server", "workspace", "board"):
        if parsed[name] not in (None, False):  # as the typer path's option callbacks set them
            setattr(GLOBALS, name, parsed[name])
    f = Factory(environ=environ)
    report = gather_status(f)
    f.output.data(report.as_dict(), lambda _: render_status(f.output, report, parsed["verbose"]))
    f.close()
    return 0 if report.logged_in else 4
