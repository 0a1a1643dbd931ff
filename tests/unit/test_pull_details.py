"""Pull request details (issue 17, points 4, 5 and 7): what the payloads give, how `show` and the
board word them, the comment Taskly keeps on a pull request, and GitHub's rate-limit arithmetic."""

from __future__ import annotations

import json
import uuid

from taskly.core.render import mergeability, pull_details
from taskly_server.domain.pulls.comments import MARKER, comment_body
from taskly_server.domain.pulls.payloads import pull_snapshot
from taskly_server.integrations.github.client import Budget, retry_at
from taskly_shared.models import PullRequestOut, PullRequestState

from tests.support.fixtures import WEBHOOK_FIXTURES as FIXTURES


def pull(**fields) -> PullRequestOut:
    fields.setdefault("state", PullRequestState.OPEN)
    return PullRequestOut(id=uuid.uuid4(), repository="acme/web", number=7, title="Fix", **fields)


def test_details_say_what_is_known() -> None:
    assert pull_details(pull()) == ""
    assert pull_details(pull(commit_count=3, additions=120, deletions=8, mergeable=True)) == \
        "3 commits · +120 -8 · mergeable"
    assert pull_details(pull(draft=True, commit_count=1, mergeable=False)) == "draft · 1 commit · conflicts"
    assert mergeability(pull(mergeable=True, mergeable_state="blocked")) == "blocked"
    assert mergeability(pull(mergeable_state="dirty")) == "conflicts"
    assert mergeability(pull(state=PullRequestState.MERGED, mergeable=True)) == ""


def test_the_real_payloads_carry_the_details() -> None:
    found = sorted((FIXTURES / "pull_request").glob("*.json"))
    snapshots = []
    for path in found:
        payload = json.loads(path.read_text())
        if isinstance(payload, dict) and isinstance(payload.get("pull_request"), dict) \
                and "additions" in payload["pull_request"]:
            snapshots.append((payload["pull_request"], pull_snapshot(payload)))
    assert snapshots, f"no pull_request payload with additions under {FIXTURES}"
    for raw, snapshot in snapshots:
        assert snapshot.additions == raw["additions"] and snapshot.deletions == raw["deletions"]
        assert snapshot.commit_count == raw["commits"]
        assert snapshot.mergeable == raw.get("mergeable")
        assert snapshot.mergeable_state == raw.get("mergeable_state")
    weird = pull_snapshot({"pull_request": {"number": 3, "additions": -1, "deletions": True,
                                            "mergeable": "yes", "mergeable_state": 7}})
    assert (weird.additions, weird.deletions, weird.mergeable, weird.mergeable_state) == (None, None, None, None)


def test_the_comment_names_each_card_without_markup_or_mentions() -> None:
    pull_id = uuid.uuid4()
    body = comment_body(pull_id, [
        {"key": "WEB-1", "title": "Fix | pipes\nand <b>html</b>", "column": "In Review", "assignees": ["maya"]},
        {"key": "WEB-2", "title": "Ping @everyone", "column": "Todo", "assignees": []},
    ])
    assert body.startswith(MARKER.format(pull_request_id=pull_id))
    assert "| **WEB-1** | Fix \\| pipes and &lt;b&gt;html&lt;/b&gt; | In Review | maya |" in body
    assert "@everyone" not in body and "| **WEB-2** |" in body and "| — |" in body
    assert "linked cards" in body


def test_rate_limit_arithmetic() -> None:
    assert Budget(100, 5000, 1060.0).low(1000.0)  # 2 % left, reset ahead
    assert not Budget(100, 5000, 990.0).low(1000.0)  # reset passed: a new window
    assert not Budget(300, 5000, 1060.0).low(1000.0)  # 6 %
    assert retry_at({"Retry-After": "30"}, 1000.0) == 1030.0
    assert retry_at({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1200"}, 1000.0) == 1201.0
    assert retry_at({"X-RateLimit-Remaining": "12"}, 1000.0) == 1060.0  # secondary, no Retry-After


def test_a_comment_whose_cards_all_left_says_so() -> None:
    pull_id = uuid.uuid4()
    body = comment_body(pull_id, [])
    assert body.startswith(MARKER.format(pull_request_id=pull_id)) and "no card is linked any more" in body
