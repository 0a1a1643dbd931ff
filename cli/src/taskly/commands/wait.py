"""`taskly wait [CARD] [--timeout S] [--interval S]`: wait for the card's pull requests' checks.

Exit 0 when every linked pull request's checks passed, 1 at the first failure, 8 when they are
still pending at the timeout (no pull request linked yet counts as pending). For CI scripts:
`taskly wait WEB-12 --timeout 900 && deploy`.
"""

from __future__ import annotations

import typer

from ..context import factory

app = typer.Typer()


@app.command("wait")
def wait(
    card: str = typer.Argument(None, metavar="[CARD]", help="Card key or number; default: the current branch's."),
    timeout: float = typer.Option(600.0, "--timeout", min=0, help="Seconds to wait before giving up (exit 8)."),
    interval: float = typer.Option(5.0, "--interval", min=0.1, help="Seconds between checks."),
) -> None:
    """Wait for the CI of a card's pull requests: 0 all green, 1 a failure, 8 still pending."""
    from ..pulls import wait as wait_for_checks
    from ..render import render_pull_requests

    f = factory()
    found, _ = wait_for_checks(f, card, timeout, interval, progress=f.output.note)
    f.output.note(f"{found.key}: all checks passed")
    f.output.data(found.pull_requests, lambda pulls: render_pull_requests(f.output, pulls))
