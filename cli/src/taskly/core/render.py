"""Text helpers every noun's rendering uses: card keys, times, shortened values, a card's pull
requests (`show` and `wait`), and the notes after a write; `--json` bypasses all of this.

Each noun renders its own things (`taskly.cards.render`, `taskly.boards.render` …) with these;
tables go through `Output.table`, so pipes get tab-separated lines; notes about writes go to stderr.
"""

from __future__ import annotations

from .output import printable

TYPE_CHECKING = False  # no `typing` import: the fast reads (taskly.fast) render with this module

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime
    from typing import Any

    from taskly_shared.models import CardOut, PullRequestOut

    from ..sync.results import WriteResult
    from .output import Output

def handle(card_id: object) -> str:
    """What names a card created offline until the server numbers it: its id's first 8 hex digits
    (every command accepts it, also as `WEB-?<handle>`)."""
    return str(card_id).replace("-", "")[:8].lower()


def key(card: CardOut, board_key: str | None = None) -> str:
    """The card's key; for a card created offline, its handle (`WEB-?3f2a9c1b` with the board key)."""
    if card.key:
        return card.key
    return f"{board_key}-?{handle(card.id)}" if board_key else handle(card.id)


def when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else ""


def short(value: Any, width: int = 40) -> str:
    text = "" if value is None else (", ".join(map(str, value)) if isinstance(value, list) else str(value))
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def mergeability(pull: PullRequestOut) -> str:
    """`mergeable`, `conflicts`, `blocked` … from GitHub's answer (empty: not known)."""
    if pull.state.value in ("merged", "closed"):
        return ""
    state = (pull.mergeable_state or "").lower()
    if pull.mergeable is False or state == "dirty":
        return "conflicts"
    if state in ("blocked", "behind", "unstable"):
        return printable(state)
    if pull.mergeable is True:
        return "mergeable"
    return ""


def pull_details(pull: PullRequestOut) -> str:
    """`draft · 3 commits · +120 -8 · mergeable` (what is known of it)."""
    parts = ["draft"] if pull.draft else []
    if pull.commit_count is not None:
        parts.append(f"{pull.commit_count} commit{'s' if pull.commit_count != 1 else ''}")
    if pull.additions is not None or pull.deletions is not None:
        parts.append(f"+{pull.additions or 0} -{pull.deletions or 0}")
    merge = mergeability(pull)
    if merge:
        parts.append(merge)
    return " · ".join(parts)


def render_pull_requests(out: Output, pulls: Sequence[PullRequestOut], indent: str = "") -> None:
    """A card's pull requests: `#12 open · ci failure · 1 approval · acme/web  <url>`, then the
    checks that failed or still run (GitHub's text escaped: it is data, never terminal control)."""
    for pull in pulls:
        reviews = [f"{pull.approvals} approval{'s' if pull.approvals != 1 else ''}"] if pull.approvals else []
        if pull.changes_requested:
            reviews.append(f"{pull.changes_requested} change request{'s' if pull.changes_requested != 1 else ''}")
        parts = [f"#{pull.number} {pull.state.value}", f"ci {pull.ci.value}", *reviews, printable(pull.repository)]
        out.line(f"{indent}{' · '.join(parts)}  {printable(pull.url or '')}".rstrip())
        out.line(f"{indent}  {printable(short(pull.title, 70))}")
        details = pull_details(pull)
        if details:
            out.line(f"{indent}  {details}")
        for check in pull.checks:
            if check.state in ("failure", "pending"):
                out.line(f"{indent}  {check.state:<8}{printable(check.name)}")


def report_write(out: Output, result: WriteResult[Any], done: str) -> None:
    """stderr notes after a write: queued for later, or done; conflicts it overwrote."""
    if result.queued:
        out.note(f"queued: {_queued_reason(result.reason)}; will sync later")
    else:
        out.note(done)
    if result.conflicts:
        fields = ", ".join(sorted({c.field for c in result.conflicts}))
        out.warn(f"conflict on {fields}: this change overwrote a value you had not seen")
    report_numbered(out, result.numbered)


def report_numbered(out: Output, numbered: Sequence[tuple[str, str]]) -> None:
    """`3f2a9c1b is now WEB-16`: the keys cards created offline received when they were pushed."""
    for card_id, card_key in numbered:
        out.note(f"{handle(card_id)} is now {card_key}")


def _queued_reason(reason: str | None) -> str:
    text = reason or "not pushed yet"
    if text.startswith("cannot reach") or "unavailable" in text:
        return "server unreachable"
    return text


def comment_handle(comment: Any) -> str:
    """A comment's short id: the first 8 hex digits of its id (`taskly comment edit 3f2a9c1b`)."""
    return str(comment.id).replace("-", "")[:8]
