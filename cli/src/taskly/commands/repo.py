"""`taskly repo connect|ls|disconnect`: GitHub repositories of the current workspace."""

from __future__ import annotations

import typer

from ..context import factory

app = typer.Typer(no_args_is_help=True, help="GitHub repositories: connect, ls, disconnect.")

NAME = typer.Argument(..., metavar="OWNER/NAME", help="The GitHub repository, e.g. acme/web.")


@app.command("connect")
def connect(
    name: str = NAME,
    wait_timeout: float = typer.Option(60.0, "--wait-timeout", metavar="S", min=0,
                                       help="Seconds to wait for the server's job (exit 8 after)."),
) -> None:
    """Connect a repository (admins): checks your access on GitHub, registers the webhook (or prints
    the URL and secret to add by hand, once), and makes it the current board's default repository
    when the board has none."""
    from .. import repos

    f = factory()
    done = repos.connect(f, name, wait_timeout, f.output.note)
    f.output.data(done.result, lambda _: _render_connected(f, done))


def _render_connected(f, done) -> None:
    out, result, repository = f.output, done.result, done.repository
    out.note(f"Connected {repository.get('full_name')} (default branch {repository.get('default_branch')})")
    if result.get("webhook") == "registered":
        out.note(f"Webhook registered on GitHub ({len(result.get('events') or [])} events)")
    if done.board is not None:
        if result.get("board_default"):
            out.note(f"Board {done.board.key} now uses it as its repository (`taskly start` creates branches there)")
        else:
            out.note(f"Board {done.board.key} keeps its repository; switch with "
                     f"`taskly board set-repo {repository.get('full_name')}`")
    if result.get("webhook") == "manual":
        out.warn(result.get("reason") or "add the webhook on GitHub by hand")
        out.line("Add this webhook on GitHub (repository Settings > Webhooks > Add webhook).")
        out.line("The secret is shown only now: keep it.")
        out.line(f"  Payload URL:   {result.get('url')}")
        out.line(f"  Content type:  application/{result.get('content_type') or 'json'}")
        out.line(f"  Secret:        {result.get('secret')}")
        out.line(f"  Events:        {', '.join(result.get('events') or [])}")
    else:
        out.line(str(repository.get("full_name")))


@app.command("ls")
def ls() -> None:
    """List the repositories connected to the current workspace and the boards using them."""
    from .. import repos, resolve

    f = factory()
    repositories = repos.listing(f)
    boards = repos.default_of(f.store.boards(str(resolve.workspace(f).id)))
    rows = [[r.full_name, r.default_branch, r.webhook, ", ".join(boards.get(str(r.id), []))]
            for r in repositories]
    f.output.data(repositories, lambda _: f.output.table(["REPOSITORY", "DEFAULT BRANCH", "WEBHOOK", "BOARDS"],
                                                         rows, styles=["bold", None, None, "cyan"]))


@app.command("disconnect")
def disconnect(name: str = NAME) -> None:
    """Disconnect a repository (admins): its webhook is removed, boards stop creating branches there."""
    from .. import repos

    f = factory()
    removed = repos.disconnect(f, name)
    f.output.note(f"Disconnected {removed.full_name}")
    f.output.data(removed, lambda r: f.output.line(r.full_name))
