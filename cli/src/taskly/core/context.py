"""Global flags and the lazy Factory handed to commands and the TUI.

Nothing heavy is imported here: the Factory builds the API client, the cache and the sync engine
on first use, so `taskly --help` never loads httpx, sqlite or textual.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .globals import GLOBALS, Globals

__all__ = ["GLOBALS", "Factory", "Globals", "add_global_options"]




def _setter(attribute: str):
    def callback(ctx, param, value):
        if value not in (None, False):
            setattr(GLOBALS, attribute, value)
        return value

    return callback


def _global_params():
    # typer 0.28 vendors a trimmed click without `Option`: its TyperOption is the option class
    from typer.core import TyperOption

    from .completion import complete_board

    def flag(name: str, attribute: str, help: str, *short: str) -> TyperOption:
        return TyperOption(param_decls=[name, *short], is_flag=True, default=False, expose_value=False,
                           is_eager=True, callback=_setter(attribute), help=help)

    def value(name: str, attribute: str, help: str, metavar: str, complete=None) -> TyperOption:
        return TyperOption(param_decls=[name], expose_value=False, is_eager=True,
                           callback=_setter(attribute), help=help, metavar=metavar,
                           shell_complete=(lambda ctx, param, incomplete: complete(incomplete)) if complete else None)

    return [
        flag("--json", "json", "Print the result as JSON (the shared wire models)."),
        flag("--quiet", "quiet", "Print only data, no notes.", "-q"),
        flag("--offline", "offline", "Never touch the network; use the cache and queue writes."),
        flag("--no-input", "no_input", "Never prompt."),
        value("--server", "server", "Server URL (else TASKLY_SERVER, .taskly.toml, user config).", "URL"),
        value("--workspace", "workspace", "Workspace name (else TASKLY_WORKSPACE, ...).", "WORKSPACE"),
        value("--board", "board", "Board key (else TASKLY_BOARD, ...).", "BOARD", complete_board),
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

    @property
    def server(self) -> str:
        """The server URL, or NotLoggedIn when none is configured anywhere."""
        if self.config.server:
            return self.config.server
        from .errors import NotLoggedIn

        raise NotLoggedIn("no server configured: run `taskly login --server URL` or set TASKLY_SERVER")

    @cached_property
    def login(self):
        """The stored login of the current server (None with TASKLY_TOKEN or when logged out)."""
        return None if self.credentials.env_token() else self.credentials.load(self.server)

    @property
    def account(self) -> str:
        """Whose cache this is: the stored username, or a digest of TASKLY_TOKEN."""
        token = self.credentials.env_token()
        if token:
            import hashlib

            return "token-" + hashlib.sha256(token.encode()).hexdigest()[:12]
        username = self.credentials.username(self.server)
        if username is None:
            from .errors import NotLoggedIn

            raise NotLoggedIn(f"not logged in to {self.server}: run `taskly login`")
        return username

    @cached_property
    def api_credentials(self):
        """What the API client authenticates with; refreshed tokens are stored again."""
        from ..api.credentials import SessionCredentials, StaticCredentials

        token = self.credentials.env_token()
        if token or self.login is None:
            return StaticCredentials(token)
        login = self.login

        def save(tokens) -> None:
            from .credentials import StoredLogin

            self.credentials.save(StoredLogin(login.server, tokens.user.username, tokens.access_token,
                                              tokens.refresh_token))

        return SessionCredentials(self.server, login.access_token, login.refresh_token, on_refresh=save)

    @cached_property
    def store(self):
        """The account's cache; a damaged one is rebuilt, and said so on stderr in one line."""
        from ..store import Store

        return Store.for_account(self.server, self.account, self.environ,
                                 report=lambda line: self.output.warn(line))

    @cached_property
    def engine(self):
        """The sync engine over the cache; `--offline` keeps it off the network."""
        from ..sync.engine import SyncEngine

        # Offline, the engine never authenticates: no credentials read (nor keyring imported).
        credentials = None if self.globals.offline else self.api_credentials
        return SyncEngine(self.server, credentials, self.store, offline=self.globals.offline)

    @property
    def api(self):
        return self.engine.api

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.close()

    def get(self, name: str) -> Any:
        return getattr(self, name)


def factory() -> Factory:
    return Factory()
