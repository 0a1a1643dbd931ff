"""Pull requests of cards: waiting for their CI, and the board's automation rules.

Both need the server (`Offline`, exit 6, without it): CI changes on GitHub reach Taskly through
webhooks, so `wait` asks the server for the card each time rather than trusting the cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

from ..cards import resolve as card_resolve
from ..core import resolve
from ..core.errors import Interrupted, Pending, TasklyError, UsageError

if TYPE_CHECKING:
    from taskly_shared.models import BoardAutomation, CardOut, LinkedPullRequest, PullRequestOut

    from ..core.context import Factory

Verdict = Literal["success", "failure", "pending", "none"]


class ChecksFailed(TasklyError):
    """A linked pull request's checks failed (exit 1)."""


def verdict(pulls: Sequence[PullRequestOut]) -> Verdict:
    """The CI of a card's pull requests: any failure fails; all green passes; none reported by any
    of them is "none"; else pending.

    PRs closed without merging do not count unless they are all there is; no PR yet is pending.
    """
    live = [p for p in pulls if p.state.value != "closed"] or list(pulls)
    if not live:
        return "pending"
    if all(p.ci.value == "none" and not p.checks for p in live):
        return "none"
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
    """The card once its PRs' checks are all green ("success"), or when GitHub reported no check
    and no status for their head commits at the first poll and still none one interval later
    ("none": no CI configured); ChecksFailed at the first failure; Pending (exit 8) when still
    pending after `timeout` seconds; Interrupted (exit 130) on Ctrl-C."""
    started = time.monotonic()
    seen = ["no pull request linked yet"]  # what the last poll said: the Ctrl-C message repeats it
    try:
        return _wait(f, ref, timeout, interval, progress, started, seen)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted after {time.monotonic() - started:.0f} s; "
                          f"checks still pending: {seen[0]}") from None


def _wait(f: Factory, ref: str | None, timeout: float, interval: float, progress: Callable[[str], None],
          started: float, seen: list[str]) -> tuple[CardOut, Verdict]:
    with resolve.needs_server(f, "wait for checks"):
        resolve.fresh(f, note_stale=False)
        cached = card_resolve.card(f, ref)
        deadline = started + timeout
        said = ""
        polls = 0
        while True:
            card = f.api.get_card(cached.key or str(cached.id), timeout=10)
            polls += 1
            state = verdict(card.pull_requests)
            lines = "; ".join(describe(p) for p in card.pull_requests) or "no pull request linked yet"
            seen[0] = f"{card.key}: {lines}"
            if lines != said:
                progress(f"{card.key}: {lines}")
                said = lines
            if state == "failure":
                raise ChecksFailed(f"{card.key}: checks failed: {lines}")
            if state == "success" or (state == "none" and polls >= 2):
                return card, state
            if state == "none":  # no check at the first poll: once more, in case CI is just starting
                time.sleep(min(interval, max(deadline - time.monotonic(), 0)))
                continue
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


PR_COMMENT = "pr_comment"
"""Not an event: the comment Taskly keeps on linked pull requests, `on` or `off`."""


def is_pr_comment(text: str) -> bool:
    return text.strip().lower().replace("-", "_") in (PR_COMMENT, "comment")


def set_pr_comment(f: Factory, value: str | bool) -> BoardAutomation:
    """Switch the board's pull-request comment on or off."""
    from taskly_shared.models import AutomationUpdate

    if isinstance(value, str):
        word = value.strip().lower()
        if word not in ("on", "off", "true", "false", "yes", "no"):
            raise UsageError(f"pr_comment is on or off, not {value!r}")
        value = word in ("on", "true", "yes")
    with resolve.needs_server(f, "change automation rules"):
        resolve.fresh(f, note_stale=False)
        board = resolve.board(f)
        return f.api.set_board_automation(board.id, AutomationUpdate(pr_comment=value))


def set_rule(f: Factory, event: str, column: str | None = None, *, enabled: bool = True,
             reset: bool = False) -> BoardAutomation:
    """Move cards to `column` on `event`, or switch the event off, or back to Taskly's default
    (`pr_comment`: COLUMN is on or off)."""
    from taskly_shared.models import AutomationRuleSet, AutomationUpdate

    if is_pr_comment(event):
        return set_pr_comment(f, column if column is not None else (reset or enabled))
    name = event_name(event)
    with resolve.needs_server(f, "change automation rules"):
        resolve.fresh(f, note_stale=False)
        board = resolve.board(f)
        if column is not None:
            column = resolve.column(board, column).name
        rule = None if reset else AutomationRuleSet(column=column) if enabled else AutomationRuleSet(enabled=False)
        return f.api.set_board_automation(board.id, AutomationUpdate(rules={name: rule}))


# --- taskly pr sync ---------------------------------------------------------------------------------


def sync(f: Factory, ref: str | None, repo: str | None, timeout: float,
         progress: Callable[[str], None] = lambda message: None) -> list[dict]:
    """Re-read pull requests from GitHub now (the server's reconcile job) and return what each job
    changed: with `repo` (OWNER/NAME) every pull request of that repository changed since its last
    reconcile (open ones and the last 14 days at least); else the card's pull requests, or — when
    none is linked yet (a dropped webhook) — its board's repository in full."""
    from ..core.errors import NotFound
    from ..core.jobs import poll_job

    if ref is not None and repo is not None:
        raise UsageError("give a CARD or --repo OWNER/NAME, not both")
    with resolve.needs_server(f, "sync pull requests"):
        resolve.fresh(f, note_stale=False)
        workspace = resolve.workspace(f)
        repositories = {r.full_name.lower(): r for r in f.api.list_repositories(str(workspace.id))}
        targets: list[tuple[str, list[int] | None]] = []
        if repo is not None:
            found = repositories.get(repo.strip().lower())
            if found is None:
                raise NotFound(f"{repo} is not connected to this workspace"
                               + resolve.choices([r.full_name for r in repositories.values()], "connected"))
            targets.append((str(found.id), None))
        else:
            card = f.api.get_card(card_resolve.card(f, ref).key, timeout=10)
            numbers: dict[str, list[int]] = {}
            for pull in card.pull_requests:
                numbers.setdefault(pull.repository.lower(), []).append(pull.number)
            for name, wanted in numbers.items():
                if name in repositories:
                    targets.append((str(repositories[name].id), wanted))
            if not targets:
                board = next((b for b in f.store.boards(str(workspace.id)) if str(b.id) == str(card.board_id)), None)
                default = getattr(board, "default_repository_id", None)
                targets = [(str(r.id), None) for r in repositories.values()
                           if default is None or str(r.id) == str(default)]
            if not targets:
                raise NotFound(f"{card.key} has no pull request and the workspace no connected repository: "
                               "connect one with `taskly repo connect OWNER/NAME`")
        results = []
        for repository_id, wanted in targets:
            accepted = f.api.sync_repository(repository_id, wanted)
            progress(f"Syncing {accepted.full_name} with GitHub...")
            job = poll_job(f, accepted.job_id, timeout, f"sync {accepted.full_name}", progress,
                           working="GitHub: reading pull requests...")
            results.append(job.result if isinstance(job.result, dict) else {})
        resolve.settle(f)
    return results


# --- taskly pr ls ----------------------------------------------------------------------------------


def linked(f: Factory, mine: bool = False) -> list[LinkedPullRequest]:
    """The pull requests linked to the current board's cards (open and draft first, then the most
    recently updated), one row per card and pull request; `mine`: yours (you opened it, or the card
    is assigned to you)."""
    from taskly_shared.models import LinkedPullRequest

    from ..cards.actions import as_cards, listing_json

    cards = as_cards(listing_json(f))
    me = resolve.me(f).lower() if mine else None
    found = [LinkedPullRequest(card=card.key, card_id=card.id,
                               card_title=card.title, column=card.column, pull_request=pull)
             for card in cards for pull in card.pull_requests
             if me is None or (pull.author or "").lower() == me or me in (a.lower() for a in card.assignees)]
    found.sort(key=lambda row: (row.pull_request.updated_at is not None, row.pull_request.updated_at or 0),
               reverse=True)
    found.sort(key=lambda row: row.pull_request.state.value not in ("open", "draft"))
    return found
