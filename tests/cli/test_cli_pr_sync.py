"""`taskly pr sync [CARD | --repo OWNER/NAME]` and the backfill count of `taskly repo connect`,
against a server, a worker and the fake GitHub (which delivers no webhook here: a dropped one)."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.cli.github_world import (  # noqa: F401  (fixtures)
    _git_identity,
    cli_token_login,
    github_user,
    no_traceback,
    stack,
)
from tests.cli.support import ok, run_taskly

pytestmark = pytest.mark.timeout(180)


def test_connect_counts_the_prs_it_links_and_pr_sync_repairs_a_card(stack, fake) -> None:  # noqa: F811
    api, token = github_user(stack)
    full_name = f"acme-{uuid.uuid4().hex[:8]}/web"
    fake.add_repo(full_name, collaborators={api.username: "admin"})
    cli_token_login(stack.url, token)
    ok("workspace", "create", "Sync")
    ok("board", "create", "Web", "--key", "WEB")
    # no PR comment here: posting it touches the PR on GitHub, which a reconcile then reads back
    ok("board", "automation", "set", "pr_comment", "off")
    first = ok("add", "Login page", "--json").json()
    second = ok("add", "Signup page", "--json").json()
    fake.add_pull(full_name, head="web-1-login-page", title="Login", user=api.username)

    connected = ok("repo", "connect", full_name)
    assert "1 open or recent pull request naming a card queued for linking" in connected.stderr
    status = ok("repo", "status", full_name).stdout
    assert "last delivery  never" in status and "0 deliveries, 0 failed" in status
    assert "reconciled     never" not in status  # the backfill at connect
    assert "of 5000 calls left" in status  # the budget GitHub's last answer gave
    assert ok("repo", "status", full_name, "--json").json()["repository"]["full_name"] == full_name

    # a pull request opened and merged while its webhooks were lost
    number = fake.add_pull(full_name, head="signup", title=f"{second['key']}: signup", user=api.username)
    fake.update_pull(full_name, number, merged=True)
    synced = ok("pr", "sync", second["key"])  # linked to nothing yet: the board's repository in full
    assert f"{full_name}: " in synced.stdout
    assert f"#{number} merged: {second['key']} moved to Done (reconcile: pr_merged → done)" in synced.stdout
    assert ok("show", second["key"], "--json").json()["column"] == "Done"

    again = ok("pr", "sync", "--repo", full_name, "--json").json()
    assert [r["changed"] for r in again] == [[]]
    assert "up to date" in ok("pr", "sync", first["key"]).stdout

    both = run_taskly("pr", "sync", first["key"], "--repo", full_name)
    assert both.code == 2 and "not both" in both.stderr
    no_traceback(both)
    missing = run_taskly("pr", "sync", "--repo", "acme/nothing-here")
    assert missing.code == 3 and "is not connected" in missing.stderr
    no_traceback(missing)


def test_a_revoked_github_token_is_reported_by_pr_sync_whoami_and_status(stack, fake) -> None:  # noqa: F811
    api, token = github_user(stack)
    full_name = f"acme-{uuid.uuid4().hex[:8]}/web"
    fake.add_repo(full_name, collaborators={api.username: "admin"})
    cli_token_login(stack.url, token)
    ok("workspace", "create", "Revoked")
    ok("board", "create", "Web", "--key", "WEB")
    ok("repo", "connect", full_name)
    assert "sign in again" not in ok("whoami").stdout
    for value in [t.value for t in fake.tokens.values() if t.login == api.username]:
        fake.revoke_token(value)

    failed = run_taskly("pr", "sync", "--repo", full_name)
    assert failed.code == 1 and "GitHub: sign in again with taskly login" in failed.stderr, failed
    no_traceback(failed)
    assert "GitHub: sign in again with taskly login" in ok("whoami").stdout
    assert "GitHub: sign in again with taskly login" in ok("status").stdout
    assert ok("whoami", "--json").json()["user"]["github_sign_in_required"] is True


def test_prs_listed_by_card_with_their_details_and_the_comment_switched_off(
        stack, fake, tmp_path) -> None:  # noqa: F811
    api, token = github_user(stack)
    owner = f"acme-{uuid.uuid4().hex[:8]}"
    full_name = f"{owner}/web"
    fake.add_repo(full_name, collaborators={api.username: "admin"}, description="The \x1b[31mweb app")
    cli_token_login(stack.url, token)
    ok("workspace", "create", "Pick")
    ok("board", "create", "Web", "--key", "WEB")

    ok("repo", "connect", full_name)  # (picking one: tests/cli/test_cli_repo.py)

    # point 4: the PR's details on the card, and `pr ls` by card
    first = ok("add", "Login page", "--json").json()
    second = ok("add", "Signup page", "--json").json()
    ok("assign", second["key"], api.username)
    mine = fake.add_pull(full_name, head="web-1-login-page", title="Login", user=api.username, draft=True)
    fake.update_pull(full_name, mine, commits=3, additions=120, deletions=8)
    fake.add_user(f"someone-{uuid.uuid4().hex[:6]}")
    theirs_login = list(fake.users.values())[-1].login
    fake.grant(full_name, theirs_login, "write")
    theirs = fake.add_pull(full_name, head="web-2-signup", title="Signup", user=theirs_login)
    fake.update_pull(full_name, theirs, mergeable=False, mergeable_state="dirty")
    ok("pr", "sync", "--repo", full_name)
    shown = ok("show", first["key"]).stdout
    assert "draft · 3 commits · +120 -8" in shown
    pull = ok("show", first["key"], "--json").json()["pull_requests"][0]
    assert (pull["draft"], pull["commit_count"], pull["additions"], pull["deletions"]) == (True, 3, 120, 8)
    assert pull["mergeable"] is True and pull["mergeable_state"] == "clean"
    rows = ok("pr", "ls", "--json").json()
    assert {(r["card"], r["pull_request"]["number"]) for r in rows} == {(first["key"], mine),
                                                                       (second["key"], theirs)}
    listed = ok("pr", "ls").stdout
    assert f"{full_name}#{theirs}" in listed and "conflicts" in listed and "draft" in listed
    mine_only = ok("pr", "ls", "--mine", "--json").json()  # opened by me, or on my card
    assert {r["card"] for r in mine_only} == {first["key"], second["key"]}
    ok("assign", second["key"], "--remove", api.username)
    assert {r["card"] for r in ok("pr", "ls", "--mine", "--json").json()} == {first["key"]}

    # point 5: the comment went up (on by default); switched off it stays as it is
    assert "pr_comment\ton\tdefault" in ok("board", "automation", "show").stdout
    deadline = time.monotonic() + 30
    while not fake.issue_comments(full_name, mine) and time.monotonic() < deadline:
        time.sleep(0.1)
    (comment,) = fake.issue_comments(full_name, mine)
    assert f"**{first['key']}**" in comment["body"] and "Login page" in comment["body"]
    off = ok("board", "automation", "set", "pr_comment", "off", "--json").json()
    assert off["pr_comment"] is False
    bad = run_taskly("board", "automation", "set", "pr_comment", "maybe")
    assert bad.code == 2 and "on or off" in bad.stderr
    assert ok("board", "automation", "reset", "pr_comment", "--json").json()["pr_comment"] is True

    # point 7: the budget GitHub's last answer gave
    assert "calls left" in ok("repo", "status", full_name).stdout
