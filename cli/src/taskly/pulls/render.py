"""Text view of a board's pull-request automation rules for people; `--json` bypasses it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.output import printable

if TYPE_CHECKING:
    from taskly_shared.models import BoardAutomation, LinkedPullRequest

    from ..core.output import Output


def render_automation(out: Output, automation: BoardAutomation) -> None:
    """`taskly board automation show`: where each pull-request event moves the board's cards."""
    rows = []
    for rule in automation.rules:
        if not rule.enabled:
            target = "stays"
        elif rule.column:
            target = rule.column
        else:
            target = f"(no {rule.kind.value} column)" if rule.kind else "(its column was deleted)"
        rows.append([rule.event.value, target, "default" if rule.default else "set"])
    rows.append(["pr_comment", "on" if automation.pr_comment else "off",
                 "default" if automation.pr_comment else "set"])
    out.table(["EVENT", "MOVES TO", "RULE"], rows, styles=["bold", "magenta", "dim"])



def render_sync(out: Output, results: list[dict]) -> None:
    """`taskly pr sync`: per repository, the pull requests read and the cards they changed."""
    for result in results:
        name = printable(result.get("repository") or "?")
        changed = result.get("changed") or []
        if not changed:
            out.line(f"{name}: up to date ({result.get('synced', 0)} pull request(s) read, nothing changed)")
            continue
        out.line(f"{name}: {len(changed)} pull request(s) changed")
        for pull in changed:
            moved = {m.get("card"): m for m in pull.get("moved") or []}
            for key in pull.get("cards") or []:
                move = moved.get(key)
                what = (f"moved to {printable(move.get('column'))} ({printable(move.get('rule'))})" if move
                        else "updated")
                out.line(f"  #{pull.get('number')} {printable(pull.get('state') or '')}: {printable(key)} {what}")


def reviews_text(approvals: int, changes_requested: int) -> str:
    parts = [f"{approvals} approved"] if approvals else []
    if changes_requested:
        parts.append(f"{changes_requested} changes requested")
    return ", ".join(parts) or "-"


def render_linked(out: Output, rows: list[LinkedPullRequest]) -> None:
    """`taskly pr ls`: one row per card and pull request."""
    from ..core.render import pull_details

    if not rows:
        out.note("No pull request is linked to this board's cards")
        return
    table = []
    for row in rows:
        pull = row.pull_request
        table.append([row.card, f"{pull.repository}#{pull.number}", pull.state.value, pull.ci.value,
                      reviews_text(pull.approvals, pull.changes_requested), pull_details(pull), row.column,
                      pull.title])
    out.table(["CARD", "PULL REQUEST", "STATE", "CI", "REVIEWS", "DETAILS", "COLUMN", "TITLE"], table,
              styles=["bold", "cyan", None, None, None, "dim", "magenta", None], keep=7)
