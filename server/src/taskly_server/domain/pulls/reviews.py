"""Reviews of a pull request: each reviewer's latest decision, and the counts cards show.

`PullRequest.reviews` maps a reviewer's login to `{"state", "at", "id"}`. Only approvals and change
requests are decisions (a comment leaves the decision as it was, as on GitHub); a dismissal turns
the dismissed review's decision into `dismissed`. An older review never replaces a newer one.
"""

from __future__ import annotations

from datetime import datetime

from .payloads import ReviewFact, parse_time
from .queries import PullRow

DECISIONS = ("approved", "changes_requested")


def _not_older(at: datetime | None, than: str | None) -> bool:
    stored = parse_time(than)
    return at is None or stored is None or at >= stored


def apply_review(pull: PullRow, review: ReviewFact, action: str) -> bool:
    """Record the review's effect on its reviewer's decision; whether the decision changed."""
    reviews = dict(pull.reviews or {})
    current = reviews.get(review.reviewer)
    if action == "dismissed" or review.state == "dismissed":
        if current is None or current.get("state") == "dismissed":
            return False
        if current.get("id") != review.id and not _not_older(review.submitted_at, current.get("at")):
            return False
        reviews[review.reviewer] = {**current, "state": "dismissed"}
    elif review.state in DECISIONS:
        if current is not None and not _not_older(review.submitted_at, current.get("at")):
            return False
        decision = {"state": review.state, "id": review.id,
                    "at": review.submitted_at.isoformat() if review.submitted_at else None}
        if current == decision:
            return False
        reviews[review.reviewer] = decision
    else:
        return False
    pull.reviews = reviews
    states = [entry.get("state") for entry in reviews.values()]
    pull.approvals = states.count("approved")
    pull.changes_requested = states.count("changes_requested")
    return True
