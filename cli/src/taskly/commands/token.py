"""`taskly token create|ls|revoke`: API tokens for CI and git hooks."""

from __future__ import annotations

import typer

from ..context import factory

app = typer.Typer(no_args_is_help=True, help="API tokens for CI and hooks: create, ls, revoke.")


@app.command("create")
def create(name: str = typer.Argument(..., help="What the token is for, e.g. ci."),
           expires: int = typer.Option(None, "--expires-days", min=1, max=3650,
                                       help="Days until it expires (default: never).")) -> None:
    """Create a token; its secret is printed once, on stdout."""
    from .. import manage

    f = factory()
    created = manage.create_token(f, name, expires)
    f.output.note(f"Created token {created.name}: store the secret now, it is not shown again "
                  "(use it as TASKLY_TOKEN)")
    f.output.data(created, lambda t: f.output.line(t.token))


@app.command("ls")
def ls() -> None:
    """List your API tokens (never their secrets)."""
    from .. import manage
    from ..render import render_tokens

    f = factory()
    f.output.data(manage.list_tokens(f), lambda t: render_tokens(f.output, t))


@app.command("revoke")
def revoke(token: str = typer.Argument(..., metavar="ID_OR_NAME", help="The token's id or name.")) -> None:
    """Revoke a token: it stops working at once."""
    from .. import manage

    f = factory()
    revoked = manage.revoke_token(f, token)
    f.output.note(f"Revoked token {revoked.name}")
    f.output.data(revoked, lambda t: None)
