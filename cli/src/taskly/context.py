"""Global flags and the lazy Factory handed to commands and the TUI.

Nothing heavy is imported here: the Factory builds the API client, the cache and the sync engine
on first use, so `taskly --help` never loads httpx, sqlite or textual.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any


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


def _setter(attribute: str):
    def callback(ctx, param, value):
        if value not in (None, False):
            setattr(GLOBALS, attribute, value)
        return value

    return callback


def _global_params():
    from typer._click import Option

    def flag(name: str, attribute: str, help: str, *short: str) -> Option:
        return Option([name, *short], is_flag=True, expose_value=False, is_eager=True,
                      callback=_setter(attribute), help=help)

    def value(name: str, attribute: str, help: str, metavar: str) -> Option:
        return Option([name], expose_value=False, is_eager=True, callback=_setter(attribute),
                      help=help, metavar=metavar)

    return [
        flag("--json", "json", "Print the result as JSON (the shared wire models)."),
        flag("--quiet", "quiet", "Print only data, no notes.", "-q"),
        flag("--offline", "offline", "Never touch the network; use the cache and queue writes."),
        flag("--no-input", "no_input", "Never prompt."),
        value("--server", "server", "Server URL (else TASKLY_SERVER, .taskly.toml, user config).", "URL"),
        value("--workspace", "workspace", "Workspace name (else TASKLY_WORKSPACE, ...).", "NAME"),
        value("--board", "board", "Board key (else TASKLY_BOARD, ...).", "KEY"),
    ]


def add_global_options(command):
    """Give `command` (and every command below it) the global flags, once."""
    if getattr(command, "_taskly_globals", False):
        return command
    command._taskly_globals = True
    names = {opt for param in command.params for opt in getattr(param, "opts", [])}
    command.params.extend(p for p in _global_params() if p.opts[0] not in names)
    for child in getattr(command, "commands", {}).values():
        add_global_options(child)
    return command


@dataclass
class Factory:
    """Builds what a command needs, on first use."""

    globals: Globals = field(default_factory=lambda: GLOBALS)
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    @cached_property
    def config(self):
        from .config import resolve

        return resolve(self.globals, self.environ)

    @cached_property
    def output(self):
        from .output import Output

        return Output(json=self.globals.json, quiet=self.globals.quiet, environ=self.environ)

    @cached_property
    def credentials(self):
        from .credentials import Credentials

        return Credentials(self.config, self.environ, self.output)

    def get(self, name: str) -> Any:
        return getattr(self, name)


def factory() -> Factory:
    return Factory()
