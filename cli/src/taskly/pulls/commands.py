"""`taskly wait [CARD] [--timeout S] [--interval S]`: wait for the card's pull requests' checks;
`taskly board automation show|set EVENT COLUMN|off EVENT|reset EVENT`: where pull-request events
move the current board's cards (needs the server; the board group adds `automation`).

`wait` exits 0 when every linked pull request's checks passed (or GitHub reported none at all: "no
checks"), 1 at the first failure, 8 when they are still pending at the timeout (no pull request
linked yet counts as pending), 130 on Ctrl-C. For CI scripts:
`taskly wait WEB-12 --timeout 900 && deploy`.
"""

from __future__ import annotations

import typer

from ..core.context import factory

app = typer.Typer()
"""The noun's top-level command: `wait` (main's registry picks it by name)."""

automation = typer.Typer(no_args_is_help=True, help="Where pull-request events move this board's cards: "
                                                    "show, set EVENT COLUMN, off EVENT, reset EVENT.")

EVENT = typer.Argument(..., metavar="EVENT", help="opened, ready_for_review, review_requested, approved, "
                                                  "changes_requested, converted_to_draft, merged, closed; "
                                                  "or pr_comment (the comment on linked pull requests).")


@app.command("wait")
def wait(
    card: str = typer.Argument(None, metavar="[CARD]", help="Card key or number; default: the current branch's."),
    timeout: float = typer.Option(600.0, "--timeout", min=0, help="Seconds to wait before giving up (exit 8)."),
    interval: float = typer.Option(5.0, "--interval", min=0.1, help="Seconds between checks."),
) -> None:
    """Wait for the CI of a card's pull requests: 0 all green, 1 a failure, 8 still pending."""
    from ..core.render import render_pull_requests
    from .actions import wait as wait_for_checks

    f = factory()
    found, state = wait_for_checks(f, card, timeout, interval, progress=f.output.note)
    f.output.note(f"{found.key}: no checks (no CI reported for the head commit)" if state == "none"
                  else f"{found.key}: all checks passed")
    f.output.data(found.pull_requests, lambda pulls: render_pull_requests(f.output, pulls))


# --- taskly pr sync ---------------------------------------------------------------------------------

pr_app = typer.Typer(no_args_is_help=True, help="Pull requests of cards: ls, sync them with GitHub now.")


@pr_app.command("ls")
def ls(mine: bool = typer.Option(False, "--mine", help="Yours only: you opened it, or its card is assigned to you.")) -> None:
    """The pull requests linked to the current board's cards, with their state, CI and reviews
    (open ones first)."""
    from .actions import linked
    from .render import render_linked

    f = factory()
    rows = linked(f, mine)
    f.output.data(rows, lambda r: render_linked(f.output, r))


@pr_app.command("sync")
def sync(
    card: str = typer.Argument(None, metavar="[CARD]", help="Card key or number; default: the current branch's."),
    repo: str = typer.Option(None, "--repo", metavar="OWNER/NAME", help="Every changed pull request of this repository."),
    wait_timeout: float = typer.Option(120.0, "--wait-timeout", metavar="SECONDS", min=0,
                                       help="Seconds to wait for the server's job (exit 8 after)."),
) -> None:
    """Re-read pull requests from GitHub now and apply what changed, as the webhooks would have
    (moves attributed to `reconcile`): repairs a card after a missed webhook."""
    from .actions import sync as run
    from .render import render_sync

    f = factory()
    results = run(f, card, repo, wait_timeout, f.output.note)
    f.output.data(results, lambda r: render_sync(f.output, r))


app.add_typer(pr_app, name="pr")


# --- taskly board automation ----------------------------------------------------------------------


def _show(rules) -> None:
    from .render import render_automation

    f = factory()
    f.output.data(rules, lambda r: render_automation(f.output, r))


@automation.command("show")
def show() -> None:
    """The current board's rules (Taskly's defaults unless changed)."""
    from .actions import automation as rules

    _show(rules(factory()))


@automation.command("set")
def set_rule(event: str = EVENT,
             column: str = typer.Argument(..., metavar="COLUMN", help="Column name (any case); on|off for pr_comment.")) -> None:
    """Move linked cards to COLUMN when EVENT happens (admins); `set pr_comment off` stops the
    comment Taskly keeps on linked pull requests."""
    from .actions import set_rule as change

    _show(change(factory(), event, column))


@automation.command("off")
def off(event: str = EVENT) -> None:
    """Move no card when EVENT happens (admins)."""
    from .actions import set_rule as change

    _show(change(factory(), event, enabled=False))


@automation.command("reset")
def reset(event: str = EVENT) -> None:
    """Back to Taskly's default rule for EVENT (admins)."""
    from .actions import set_rule as change

    _show(change(factory(), event, reset=True))
