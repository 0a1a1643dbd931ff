"""`taskly login`, `logout`, `whoami`; `taskly token create|ls|revoke`: API tokens for CI and git hooks."""

from __future__ import annotations

import sys

import typer

from ..core.context import factory

app = typer.Typer()
"""The noun's commands: `login`, `logout`, `whoami` and the `token` group (main's registry picks
them by name)."""

token_app = typer.Typer(no_args_is_help=True, help="API tokens for CI and hooks: create, ls, revoke.")


@app.command("login")
def login(
    dev: str = typer.Option(None, "--dev", metavar="NAME", help="Dev login by name (servers with dev login)."),
    with_token: bool = typer.Option(False, "--with-token", help="Read an API token from stdin."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open the browser (GitHub login)."),
) -> None:
    """Sign in to the server given by --server (else TASKLY_SERVER, .taskly.toml, user config).

    Without --dev or --with-token: with GitHub, by the device flow (a code to enter on GitHub).
    """
    from ..core.config import save_user
    from ..core.errors import UsageError
    from ..core.resolve import needs_server
    from .actions import sign_in

    f = factory()
    server = f.config.server
    if not server:
        raise UsageError("login needs a server: taskly login --server URL")
    if dev and with_token:
        raise UsageError("choose one way to log in: GitHub (default), --dev NAME or --with-token")
    token = sys.stdin.read().strip() if with_token else None
    if with_token and not token:
        raise UsageError("--with-token reads the token from stdin, and stdin was empty")
    previous = f.credentials.load(server)
    with needs_server(f, f"log in to {server}"):
        if dev or with_token:
            user, _ = sign_in(server, f.credentials, dev_name=dev, token=token)
        else:
            from .github_login import device_sign_in

            user, _ = device_sign_in(server, f.credentials, lambda d: _show_code(f, d, no_browser))
    switched = previous is not None and previous.username != user.username
    # another user's current workspace and board mean nothing to this one
    save_user(f.config.user_path, server=server, **({"workspace": None, "board": None} if switched else {}))
    f.output.note(f"Logged in to {server} as {user.username}")
    _pull_workspaces(f.environ)
    f.output.data(user, lambda u: None)


def _pull_workspaces(environ: dict[str, str]) -> None:
    """Bring the user's workspaces into the cache, so `ls` and `workspace ls` work at once.

    Best effort: the login stands when the pull fails (the next read tries again)."""
    from ..core.context import Factory
    from ..core.errors import TasklyError
    from ..core.resolve import SETTLE_TIMEOUT, stale_reason

    fresh = Factory(environ=environ)  # the login just stored is read again
    try:
        result = fresh.engine.pull(timeout=SETTLE_TIMEOUT, discover=True)
    except TasklyError as exc:
        fresh.output.note(f"could not fetch your workspaces yet: {exc}")
        return
    finally:
        fresh.close()
    if result.stale:
        fresh.output.note(f"could not fetch your workspaces yet: {stale_reason(result.error, fresh.server)}")


def _show_code(f, device, no_browser: bool) -> None:
    """The code and where to enter it, on stderr even with --quiet (the user must see them)."""
    from .github_login import can_open_browser, open_browser

    say = f.output.stderr.write
    say(f"! First copy your one-time code: {device.user_code}\n")
    if not no_browser and can_open_browser(f.environ) and open_browser(device.verification_uri):
        say(f"Opened {device.verification_uri} in your browser: enter the code there.\n")
    else:
        say(f"Then open {device.verification_uri} in your browser and enter it.\n")
    say("Waiting for GitHub...\n")
    f.output.stderr.flush()


@app.command("logout")
def logout() -> None:
    """Revoke this login on the server (best effort) and forget it locally."""
    from ..core.errors import NotLoggedIn
    from .actions import sign_out

    f = factory()
    removed, problem = sign_out(f.server, f.credentials, f.api_credentials, revoke=not f.globals.offline)
    if removed is None:
        raise NotLoggedIn(f"not logged in to {f.server}")
    if problem:
        f.output.warn(f"could not revoke the login on the server ({problem}); removed it locally")
    f.output.note(f"Logged out of {f.server} ({removed.username})")
    f.output.data({"server": f.server, "username": removed.username, "revoked": problem is None},
                  lambda _: None)


@app.command("whoami")
def whoami() -> None:
    """Show the signed-in user and the server (exit 4 when not logged in)."""
    from ..core.errors import NotLoggedIn, Offline

    f = factory()
    username = f.login.username if f.login else None
    if username is None and not f.credentials.env_token():
        raise NotLoggedIn(f"not logged in to {f.server}: run `taskly login`")
    user = None
    if not f.globals.offline:
        try:
            user = f.api.me(timeout=1.5)
        except Offline as exc:
            f.output.note(f"server unreachable ({exc}); showing the stored login")
    info = {"server": f.server, "username": user.username if user else username,
            "user": user, "token": "TASKLY_TOKEN" if f.credentials.env_token() else "login"}
    f.output.data(info, lambda i: _render_whoami(f.output, i))


def _render_whoami(out, info: dict) -> None:
    out.line(f"{info['username'] or '(API token)'} on {info['server']}")
    if info["user"] is not None and info["user"].github_sign_in_required:
        out.line("GitHub: sign in again with taskly login")


# --- taskly token ---------------------------------------------------------------------------------


@token_app.command("create")
def create(name: str = typer.Argument(..., help="What the token is for, e.g. ci."),
           expires: int = typer.Option(None, "--expires-days", min=1, max=3650,
                                       help="Days until it expires (default: never).")) -> None:
    """Create a token; its secret is printed once, on stdout."""
    from .actions import create_token

    f = factory()
    created = create_token(f, name, expires)
    f.output.note(f"Created token {created.name}: store the secret now, it is not shown again "
                  "(use it as TASKLY_TOKEN)")
    f.output.data(created, lambda t: f.output.line(t.token))


@token_app.command("ls")
def ls() -> None:
    """List your API tokens (never their secrets)."""
    from .actions import list_tokens
    from .render import render_tokens

    f = factory()
    f.output.data(list_tokens(f), lambda t: render_tokens(f.output, t))


@token_app.command("revoke")
def revoke(token: str = typer.Argument(..., metavar="ID_OR_NAME", help="The token's id or name.")) -> None:
    """Revoke a token: it stops working at once."""
    from .actions import revoke_token

    f = factory()
    revoked = revoke_token(f, token)
    f.output.note(f"Revoked token {revoked.name}")
    f.output.data(revoked, lambda t: None)


app.add_typer(token_app, name="token")
