"""`taskly demo`: a local server with a realistic board, signed in and shown; `--stop` stops it."""

from __future__ import annotations

import sys

import typer

from ..core.context import factory

app = typer.Typer()


@app.command("demo")
def demo(
    no_tui: bool = typer.Option(False, "--no-tui", help="Print the board as a table and exit."),
    stop: bool = typer.Option(False, "--stop", help="Stop the demo server (and its database)."),
) -> None:
    """Start (or reuse) the demo server, create the Demo board once, log in to it and show it."""
    from .server import DemoServer

    f = factory()
    out = f.output
    server = DemoServer.for_environ(f.environ)
    previous_path = server.home / "previous.json"
    if stop:
        from .data import restore

        url, stopped = server.url, server.stop()
        message = "demo server stopped" if stopped else "the demo server was not running"
        restored = restore(previous_path, f.environ)
        if restored is not None:
            message += ("; your server, workspace and board settings are as before the demo"
                        if not restored.get("server") else f"; {_describe(restored)} are current again")
        out.data({"server": url, "stopped": stopped}, lambda _: out.note(message))
        return
    from ..boards.render import render_board
    from .data import BOARD_KEY, WORKSPACE, load_board, replaced, seed, sign_in

    url, pid, reused = server.ensure_running(out.note)
    out.note(f"demo server {'running' if reused else 'started'} at {url} (pid {pid}; "
             f"log {server.log_path}); `taskly demo --stop` stops it")
    tokens, workspace, board, created = seed(url, redate=server.redate)
    previous = replaced(url, f.environ)
    if previous is not None:
        out.note(f"the demo makes {url}, workspace {WORKSPACE} and board {BOARD_KEY} current in place of "
                 f"{_describe(previous)}; `taskly demo --stop` puts them back")
    sign_in(url, tokens, f.environ, out, previous_path)
    detail = load_board(url, tokens, str(board.id), f.environ)
    kept = len(detail.cards) - created  # what earlier runs made (renamed, moved, edited since or not)
    if created:
        out.note(f"created {created} cards on {board.key} in workspace {workspace.name}"
                 + (f" ({kept} already there, kept as they are)" if kept > 0 else ""))
    else:
        out.note(f"demo data already present: {kept} cards on {board.key} in workspace {workspace.name}, "
                 "kept as they are")
    out.note(f"logged in as {tokens.user.username}; {url}, workspace {workspace.name} and board "
             f"{board.key} are now the current ones")
    overrides = _overrides(f)
    if overrides:
        out.warn(f"{', '.join(overrides)} still take(s) precedence over the demo "
                 "for other commands")
    if not no_tui and not f.globals.json and sys.stdin.isatty() and sys.stdout.isatty():
        from dataclasses import replace

        from ..core.context import Factory
        from ..tui.run import open_board  # textual costs ~184 ms to import; only the board needs it

        demo_globals = replace(f.globals, server=url, workspace=workspace.name, board=board.key)
        open_board(Factory(globals=demo_globals, environ=f.environ), board.key)
        return
    # `--no-tui` (or no terminal) prints the board.
    out.data(detail, lambda d: render_board(out, d, d.columns, d.cards))


def _describe(current: dict) -> str:
    """`SERVER, workspace W, board B` (those that are set), or `no server` on a fresh setup."""
    if not current.get("server"):
        return "no server"
    parts = [str(current["server"])]
    parts += [f"{key} {current[key]}" for key in ("workspace", "board") if current.get(key)]
    return ", ".join(parts)


def _overrides(f) -> list[str]:
    """What makes other commands use another server, workspace or board than the demo's."""
    found = [f"TASKLY_{key.upper()}" if source == "env" else f"{key} in .taskly.toml"
             for key, source in f.config.sources.items() if source in ("env", "project")]
    return [*found, "TASKLY_TOKEN"] if f.credentials.env_token() else found
