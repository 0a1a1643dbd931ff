"""`taskly repo connect|ls|status|disconnect`: GitHub repositories of the current workspace (and
`connect` / `ls --available`: yours on GitHub, to pick one)."""

from __future__ import annotations

import typer

from ..core.context import factory
from ..core.output import printable

app = typer.Typer()
"""The noun's commands: the `repo` group (main's registry picks it by name)."""

repo_app = typer.Typer(no_args_is_help=True, help="GitHub repositories: connect, ls, status, disconnect.")

NAME = typer.Argument(..., metavar="OWNER/NAME", help="The GitHub repository, e.g. acme/web.")


@repo_app.command("connect")
def connect(
    name: str | None = typer.Argument(None, metavar="[OWNER/NAME]", show_default=False,
                                      help="The GitHub repository, e.g. acme/web; without it, pick one "
                                           "of those you administer (a prompt; exit 2 with the list "
                                           "under --no-input or without a terminal)."),
    wait_timeout: float = typer.Option(60.0, "--wait-timeout", metavar="SECONDS", min=0,
                                       help="Seconds to wait for the server's job (exit 8 after)."),
) -> None:
    """Connect a repository (admins): checks your access on GitHub, registers the webhook (or prints
    the URL and secret to add by hand, once), and makes it the current board's default repository
    when the board has none. Without OWNER/NAME it lists the repositories you can admin and asks
    which (with --no-input it prints them and exits 2)."""
    from . import actions

    f = factory()
    if name is None:
        name = actions.pick(f, lambda found: _render_available(f, found))
    done = actions.connect(f, name, wait_timeout, f.output.note)
    f.output.data(done.result, lambda _: _render_connected(f, done))


def _render_connected(f, done) -> None:
    out, result, repository = f.output, done.result, done.repository
    out.note(f"Connected {repository.get('full_name')} (default branch {repository.get('default_branch')})")
    if result.get("webhook") == "registered":
        out.note(f"Webhook registered on GitHub ({len(result.get('events') or [])} events)")
    if result.get("pulls_queued") is not None:
        queued = result["pulls_queued"]
        out.note(f"{queued} open or recent pull request{'' if queued == 1 else 's'} naming a card "
                 "queued for linking")
    if result.get("backfill_error"):
        out.warn(f"existing pull requests not read yet ({printable(result['backfill_error'])}); "
                 "the next reconcile links them")
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


def _render_available(f, choices, *, numbered: bool = False, stream=None) -> None:
    """The repositories you can admin: numbered (the ones left to connect) on stderr for `connect`,
    a table on stdout for `ls --available`."""
    if numbered:
        left = [repo for repo in choices if not repo.get("connected")]
        for index, repo in enumerate(left, 1):
            private = " (private)" if repo.get("private") else ""
            stream(f"{index:>3}. {printable(repo['full_name'])}{private}"
                   f"{'  ' + printable(repo['description']) if repo.get('description') else ''}")
        return
    rows = [[repo["full_name"], "private" if repo.get("private") else "public", repo.get("default_branch") or "",
             "connected" if repo.get("connected") else "", repo.get("description") or ""] for repo in choices]
    f.output.table(["REPOSITORY", "VISIBILITY", "DEFAULT BRANCH", "HERE", "DESCRIPTION"], rows,
                   styles=["bold", None, None, "green", "dim"])


@repo_app.command("ls")
def ls(available: bool = typer.Option(False, "--available",
                                      help="List your repositories on GitHub that you can connect "
                                           "(those you administer) instead.")) -> None:
    """List the repositories connected to the current workspace and the boards using them; with
    --available, your repositories on GitHub that you administer (what `repo connect` offers)."""
    from ..core import resolve
    from . import actions

    f = factory()
    if available:
        found = actions.available(f)
        f.output.data(found, lambda _: _render_available(f, found))
        return
    repositories = actions.listing(f)
    boards = actions.default_of(f.store.boards(str(resolve.workspace(f).id)))
    rows = [[r.full_name, r.default_branch, r.webhook, ", ".join(boards.get(str(r.id), []))]
            for r in repositories]
    f.output.data(repositories, lambda _: f.output.table(["REPOSITORY", "DEFAULT BRANCH", "WEBHOOK", "BOARDS"],
                                                         rows, styles=["bold", None, None, "cyan"]))


def _render_available(f, found) -> None:
    """Your GitHub repositories: name, visibility, default branch, whether this workspace has it."""
    from . import actions

    connected = actions.connected_names(f)
    rows = [[r.full_name, "private" if r.private else "public", r.default_branch,
             "connected" if r.full_name.lower() in connected else ""] for r in found]
    f.output.table(["REPOSITORY", "VISIBILITY", "DEFAULT BRANCH", "HERE"], rows,
                   styles=["bold", None, None, "green"])


@repo_app.command("status")
def status(name: str = NAME) -> None:
    """Show the repository's webhook deliveries (the last one, the last 24 hours, failures) and when
    its pull requests were last reconciled with GitHub."""
    from . import actions

    f = factory()
    found = actions.status(f, name)
    f.output.data(found, lambda s: _render_status(f, s))


def _render_status(f, found) -> None:
    from ..core.render import when

    rows = [("repository", printable(found.repository.full_name)),
            ("webhook", found.repository.webhook),
            ("last delivery", when(found.last_delivery_at) if found.last_delivery_at else "never"),
            ("last 24 h", f"{found.deliveries_24h} deliveries, {found.failed_24h} failed"),
            ("reconciled", when(found.reconciled_at) if found.reconciled_at else "never")]
    budget = found.github_budget
    if budget is not None:
        share = 100 * budget.remaining / budget.limit if budget.limit else 0
        rows.append(("GitHub budget", f"{budget.remaining} of {budget.limit} calls left ({share:.0f} %), "
                                      f"resets at {budget.reset_at.astimezone():%H:%M:%S}"
                                      + ("; background work waits for the reset" if share < 5 else "")))
    else:
        rows.append(("GitHub budget", "unknown (no GitHub call yet)"))
    if found.last_failure is not None:
        failure = found.last_failure
        rows.append(("last failure", f"{when(failure.received_at)} {printable(failure.event)} "
                                     f"{printable(failure.delivery_id)}: {printable(failure.error or 'not processed')}"))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        f.output.line(f"{label.ljust(width)}  {value}")


@repo_app.command("disconnect")
def disconnect(name: str = NAME) -> None:
    """Disconnect a repository (admins): its webhook is removed, boards stop creating branches there."""
    from . import actions

    f = factory()
    removed = actions.disconnect(f, name)
    f.output.note(f"Disconnected {removed.full_name}")
    f.output.data(removed, lambda r: f.output.line(r.full_name))


app.add_typer(repo_app, name="repo")
