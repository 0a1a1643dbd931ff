"""What reconcile hands the webhooks' code: the action a delivery would have carried for a change
of state, the deliveries one pull request's facts make, and GitHub's `Link` pagination."""

from __future__ import annotations

import pytest
from taskly_server.domain.pulls.payloads import check_report, pull_snapshot, review_fact
from taskly_server.domain.pulls.reconcile import _action, _events
from taskly_server.integrations.github.client import PullFacts, next_link

from tests.support.github_webhooks import fixture


def pull(**fields) -> dict:
    """GitHub's pull_request object (the REST API's shape) from the recorded webhook fixture."""
    body = dict(fixture("pull_request", "closed.payload.json")["pull_request"])
    body.update(fields)
    return body


@pytest.mark.parametrize(("stored", "fields", "action"), [
    (None, {"state": "open", "draft": False}, "opened"),
    (None, {"state": "open", "draft": True}, "opened"),
    (None, {"state": "closed", "merged": True, "merged_at": "2030-01-01T00:00:00Z"}, "closed"),
    ("open", {"state": "closed", "merged": False, "merged_at": None}, "closed"),
    ("merged", {"state": "closed", "merged": True, "merged_at": "2030-01-01T00:00:00Z"}, "edited"),
    ("closed", {"state": "open", "draft": False, "merged": False, "merged_at": None}, "reopened"),
    ("draft", {"state": "open", "draft": False, "merged": False, "merged_at": None}, "ready_for_review"),
    ("open", {"state": "open", "draft": True, "merged": False, "merged_at": None}, "converted_to_draft"),
    ("open", {"state": "open", "draft": False, "merged": False, "merged_at": None}, "synchronize"),
])
def test_the_action_a_webhook_would_have_carried(stored, fields, action) -> None:
    assert _action(stored, pull(**fields)) == action


def test_facts_become_the_deliveries_the_decoders_read() -> None:
    body = pull(state="open", draft=False, merged=False, merged_at=None)
    sha = body["head"]["sha"]
    review = {"id": 7, "user": {"login": "rev"}, "state": "APPROVED", "submitted_at": "2030-01-01T00:00:02Z"}
    older = {"id": 6, "user": {"login": "rev"}, "state": "CHANGES_REQUESTED",
             "submitted_at": "2030-01-01T00:00:01Z"}
    comment = {"id": 8, "user": {"login": "rev"}, "state": "COMMENTED", "submitted_at": "2030-01-01T00:00:03Z"}
    run = {"id": 1, "name": "tests", "head_sha": sha, "status": "completed", "conclusion": "failure",
           "completed_at": "2030-01-01T00:00:04Z", "html_url": "https://example.test/run/1"}
    status = {"context": "ci/lint", "state": "success", "target_url": None,
              "created_at": "2030-01-01T00:00:05Z", "updated_at": "2030-01-01T00:00:05Z"}
    facts = PullFacts(body, [review, comment, older], [run], {"sha": sha, "state": "success", "statuses": [status]})

    events = _events("open", facts)
    assert [(e, a) for e, a, _ in events] == [
        ("pull_request", "synchronize"), ("pull_request_review", "submitted"),
        ("pull_request_review", "submitted"), ("check_run", "completed"), ("status", None)]
    assert pull_snapshot(events[0][2]).number == body["number"]
    assert [review_fact(p).state for _, _, p in events[1:3]] == ["changes_requested", "approved"]  # oldest first
    assert check_report("check_run", events[3][2]).state == "failure"
    reported = check_report("status", events[4][2])
    assert (reported.sha, reported.name, reported.state) == (sha, "status:ci/lint", "success")


def test_next_link_reads_githubs_link_header() -> None:
    header = ('<https://api.github.com/repositories/1/pulls?state=all&page=2>; rel="next", '
              '<https://api.github.com/repositories/1/pulls?state=all&page=5>; rel="last"')
    assert next_link({"link": header}) == "https://api.github.com/repositories/1/pulls?state=all&page=2"
    assert next_link({"Link": '<https://x.test/?page=1>; rel="prev", <https://x.test/?page=1>; rel="first"'}) is None
    assert next_link({}) is None
