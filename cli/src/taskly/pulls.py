"""Pull requests of cards: waiting for their CI, and the board's automation rules.

Both need the server (`Offline`, exit 6, without it): CI changes on GitHub reach Taskly through
webhooks, so `wait` asks the server for the card each time rather than trusting the cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

from . import resolve
from .errors import Pending, TasklyError, UsageError

if TYPE_CHECKING:
    from taskly_shared.models import BoardAutomation, CardOut, PullRequestOut

    from .context import Factory

Verdict = Literal["success", "failure", "pending"]


class ChecksFailed(TasklyError):
    """A linked pull request's checks failed (exit 1)."""


def verdict(pulls: Sequence[PullRequestOut]) -> Verdict:
    """The CI of a card's pull requests: any failure fails; all green passes; else pending.

    PRs closed without merging do not count unless they are all there is; no PR yet, or a PR
    without any reported check, is pending (CI may not have started).
    """
    live = [p for p in pulls if p.state.value != "closed"] or list(pulls)
    if not live:
        return "pending"
    if any(p.ci.value == "failure" for p in live):
        return "failure"
    if all(p.ci.value == "success" for p in live):
        return "success"
    return "pending"


def describe(pull: PullRequestOut) -> str:
    """`acme/web#12 open, ci failure (build, lint failed)`."""
    failing = [c.name for c in pull.checks if c.state == "failure"]
    pending = [c.name for c in pull.checks if c.state == "pending"]
    detail = (f" ({', '.join(failing)} failed)" if failing
              else f" ({', '.join(pending)} pending)" if pending and pull.ci.value == "pending" else "")
    return f"{pull.repository}#{pull.number} {pull.state.value}, ci {pull.ci.value}{detail}"


def wait(f: Factory, ref: str | None, timeout: float, interval: float,
         progress: Callable[[str], None] = lambda message: None) -> tuple[CardOut, Verdict]:
    """The card once its PRs' checks are all green; ChecksFailed at the first failure; Pending
    (exit 8) when still pending after `timeout` seconds."""
    with resolve.needs_server(f, "wait for checks"):
        resolve.fresh(f, note_stale=False)
        cached = resolve.card(f, ref)
        deadline = time.monotonic() + timeout
        said = ""
        while True:
            card = f.api.get_card(cached.key or str(cached.id), timeout=10)
            state = verdict(card.pull_requests)
            lines = "; ".join(describe(p) for p in card.pull_requests) or "no pull request linked yet"
            if lines != said:
                progress(f"{card.key}: {lines}")
                said = lines
            if state == "failure":
                raise ChecksFailed(f"{card.key}: checks failed: {lines}")
            if state == "success":
                return card, state
            left = deadline - time.monotonic()
            if left <= 0:
                raise Pending(f"{card.key}: checks still pending after {timeout:g} s: {lines}")
            time.sleep(min(interval, left))


# --- automation rules ---------------------------------------------------------------------------------


def event_name(text: str) -> str:
    """`opened`, `pr-merged` or `PR_MERGED` → `pr_opened`, `pr_merged`; UsageError lists the valid ones."""
    from taskly_shared.models import AutomationEvent

    value = text.strip().lower().replace("-", "_")
    if not value.startswith("pr_"):
        value = f"pr_{value}"
    names = [event.value for event in AutomationEvent]
    if value not in names:
        raise UsageError(f"unknown event {text!r}" + resolve.choices(names))
    return value


def automation(f: Factory) -> BoardAutomation:
    """The current board's rules."""
    with resolve.needs_server(f, "read automation rules"):
        resolve.fresh(f, note_stale=False)
        return f.api.board_automation(resolve.board(f).id, timeout=10)


def set_rule(f: Factory, event: str, column: str | None = None, *, enabled: bool = True,
             reset: bool = False) -> BoardAutomation:
    """Move cards to `column` on `event`, or switch the event off, or back to Taskly's default."""
    from taskly_shared.models import AutomationRuleSet, AutomationUpdate

    name = event_name(event)
    with resolve.needs_server(f, "change automation rules"):
        resolve.fresh(f, note_stale=False)
        board = resolve.board(f)
        if column is not None:
            column = resolve.column(board, column).name
        rule = None if reset else AutomationRuleSet(column=column) if enabled else AutomationRuleSet(enabled=False)
        return f.api.set_board_automation(board.id, AutomationUpdate(rules={name: rule}))
