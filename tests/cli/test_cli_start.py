"""`taskly start` and `taskly done` end to end: the real CLI, a server, a worker, the fake GitHub and
real git (a clone of the fake's bare repository as origin)."""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from taskly.core.git import github_name

from tests.cli.github_world import (  # noqa: F401  (fixtures)
    World,
    _git_identity,
    cli_token_login,
    clone,
    git,
    head_branch,
    ls_remote,
    no_traceback,
    stack,
    upstream_of,
)
from tests.support.api import Api
from tests.support.processes import start_server

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(autouse=True)
def _clean_faults(fake):
    yield
    fake.reset_faults()


def test_start_creates_the_branch_checks_it_out_and_starts_the_card(stack, tmp_path: Path) -> None:  # noqa: F811
    world = World.create(stack, tmp_path)
    card = world.add("Fix login redirect")
    assert card["key"] == "WEB-1" and card["column"] == "Backlog"

    started = world.ok("start", "WEB-1")
    branch = "web-1-fix-login-redirect"
    assert started.stdout.strip() == branch
    assert f"Creating branch {branch} in {world.full_name}" in started.stderr
    assert f"Switched to {branch}, tracking origin/{branch}" in started.stderr
    refs = ls_remote(world.clone_url)
    assert refs[f"refs/heads/{branch}"] == refs["refs/heads/main"]
    assert head_branch(world.clone) == branch
    assert upstream_of(world.clone, branch) == f"origin/{branch}"
    after = world.card("WEB-1")
    assert (after["branch"], after["column"], after["column_kind"]) == (branch, "In Progress", "in_progress")
    assert after["assignees"] == [world.api.username]
    cached = world.ok("show", "WEB-1", "--offline", "--json").json()
    assert (cached["branch"], cached["column"]) == (branch, "In Progress")

    # again: the same branch, exit 0, nothing new on the server
    git("switch", "--quiet", "main", cwd=world.clone)
    again = world.ok("start", "WEB-1", "--json")
    body = again.json()
    assert (body["branch"], body["mode"], body["checked_out"]) == (branch, "existing", True)
    assert body["upstream"] == f"origin/{branch}" and body["card"]["key"] == "WEB-1"
    assert head_branch(world.clone) == branch
    assert world.card("WEB-1")["version"] == after["version"]
    assert world.ok("start", "1").stdout.strip() == branch  # already on it: still fine

    # done: the card of the current branch moves to the done column
    finished = world.ok("done")
    assert finished.stdout.strip() == "WEB-1" and "Moved WEB-1 to Done" in finished.stderr
    assert world.card("WEB-1")["column"] == "Done"
    assert "in Done already" in world.ok("done", "WEB-1").stderr


def test_no_checkout_worktree_and_base(stack, tmp_path: Path) -> None:  # noqa: F811
    world = World.create(stack, tmp_path)
    world.add("Only create it")
    world.add("In a worktree")
    world.add("From develop")

    created = world.ok("start", "WEB-1", "--no-checkout", "--json").json()
    assert created["mode"] == "github" and created["checked_out"] is False
    assert "refs/heads/web-1-only-create-it" in ls_remote(world.clone_url)
    assert head_branch(world.clone) == "main"

    target = tmp_path / "wt"
    added = world.ok("start", "WEB-2", "--worktree", str(target), "--json").json()
    assert added["worktree"] == str(target.resolve()) and added["checked_out"] is True
    assert head_branch(target) == "web-2-in-a-worktree" and head_branch(world.clone) == "main"
    assert upstream_of(target, "web-2-in-a-worktree") == "origin/web-2-in-a-worktree"
    assert world.ok("start", "WEB-2", "--worktree", str(target)).stdout.strip() == str(target.resolve())
    busy = world.taskly("start", "WEB-2")  # checked out in the worktree: git refuses, clearly
    assert busy.code == 1 and "web-2-in-a-worktree" in busy.stderr
    no_traceback(busy)

    sha = world.stack.fake.commit(world.full_name, "main", "Develop starts here")
    git_dir = world.stack.fake.repo_info(world.full_name).git_dir
    git("--git-dir", git_dir, "update-ref", "refs/heads/develop", sha, cwd=tmp_path)
    based = world.ok("start", "WEB-3", "--base", "develop", "--json").json()
    assert based["base"] == "develop"
    assert ls_remote(world.clone_url)["refs/heads/web-3-from-develop"] == sha
    missing = world.taskly("start", "WEB-3", "--base", "nope")  # the card has its branch: base unused
    assert missing.code == 0


def test_github_failing_is_retried_then_a_clear_error_and_the_card_unchanged(stack, fake, tmp_path: Path) -> None:  # noqa: F811
    world = World.create(stack, tmp_path)
    card = world.add("GitHub is down")
    fake.fail_next("POST", r"/git/refs$", 502, times=1000)
    failed = world.taskly("start", "WEB-1", timeout=120)
    assert failed.code == 1, failed.stderr
    no_traceback(failed)
    assert "retrying" in failed.stderr
    assert "could not create branch web-1-github-is-down" in failed.stderr
    assert "GitHub answered 502" in failed.stderr.splitlines()[-1]
    after = world.card("WEB-1")
    assert (after["branch"], after["column"], after["assignees"], after["version"]) == (
        None, "Backlog", [], card["version"])
    assert head_branch(world.clone) == "main"
    assert git("branch", "--list", "web-1-*", cwd=world.clone) == ""


def test_wait_timeout_exits_8_and_a_later_start_picks_the_branch_up(stack, fake, tmp_path: Path) -> None:  # noqa: F811
    world = World.create(stack, tmp_path)
    world.add("Slow GitHub")
    fake.latency(3.0, method="POST", path_regex=r"/git/refs$", times=1)
    pending = world.taskly("start", "WEB-1", "--wait-timeout", "0.5")
    assert pending.code == 8, pending.stderr
    assert "still" in pending.stderr and "taskly start WEB-1" in pending.stderr
    assert head_branch(world.clone) == "main"
    later = world.ok("start", "WEB-1", "--wait-timeout", "30")
    assert later.stdout.strip() == "web-1-slow-github" and head_branch(world.clone) == "web-1-slow-github"


def test_offline_start_creates_the_branch_locally_and_the_card_follows_on_sync(stack, tmp_path: Path) -> None:  # noqa: F811
    private = start_server(stack.env, tmp_path / "server-1")
    port = urlsplit(private.url).port
    try:
        world = World.create(stack, tmp_path, server_url=private.url)
        world.add("Written on a train")
        private.stop()

        offline = world.ok("start", "WEB-1")
        branch = "web-1-written-on-a-train"
        assert offline.stdout.strip() == branch
        assert "created branch web-1-written-on-a-train locally from origin/main" in offline.stderr
        assert "queued" in offline.stderr
        assert head_branch(world.clone) == branch and upstream_of(world.clone, branch) is None
        assert f"refs/heads/{branch}" not in ls_remote(world.clone_url)
        cached = world.ok("show", "WEB-1", "--offline", "--json").json()
        assert (cached["branch"], cached["column"], cached["assignees"]) == (
            branch, "In Progress", [world.api.username])
        assert world.card("WEB-1")["branch"] is None  # the server does not know yet

        private = start_server(stack.env, tmp_path / "server-2", port=port)
        synced = world.ok("sync").stdout
        assert re.search(r"pushed\s+1 write", synced) and "WEB-1 (assignees, branch, column)" in synced
        after = world.card("WEB-1")
        assert (after["branch"], after["column"], after["assignees"]) == (
            branch, "In Progress", [world.api.username])

        # back online, start again: GitHub gets the branch, the local one tracks it
        git("commit", "--quiet", "--allow-empty", "-m", "work done offline", cwd=world.clone)
        online = world.ok("start", "WEB-1")
        assert online.stdout.strip() == branch
        assert f"refs/heads/{branch}" in ls_remote(world.clone_url)
        assert upstream_of(world.clone, branch) == f"origin/{branch}"
        assert git("log", "-1", "--format=%s", cwd=world.clone) == "work done offline"
    finally:
        private.stop()


def test_offline_flag_and_a_board_without_repository(stack, tmp_path: Path) -> None:  # noqa: F811
    world = World.create(stack, tmp_path, connect=False)
    world.add("No repository yet")
    world.add("Offline by choice")
    local = world.ok("start", "WEB-1", "--json")
    assert "board WEB has no connected repository" in local.stderr
    body = local.json()
    assert (body["mode"], body["queued"], body["base"]) == ("local", False, "origin/main")
    after = world.card("WEB-1")  # pushed at once: the server was there
    assert (after["branch"], after["column"]) == ("web-1-no-repository-yet", "In Progress")
    assert head_branch(world.clone) == "web-1-no-repository-yet"

    offline = world.ok("start", "WEB-2", "--offline", "--no-checkout", "--json")
    assert offline.json()["queued"] is True and "offline mode" in offline.stderr
    assert git("branch", "--list", "web-2-offline-by-choice", cwd=world.clone) != ""
    assert head_branch(world.clone) == "web-1-no-repository-yet"


async def test_open_goes_to_the_pr_else_the_branch_else_the_repository_in_the_cli_and_the_tui(
        stack, fake, tmp_path: Path) -> None:  # noqa: F811
    """`taskly open` and `o` in the TUI's card details: the open pull request, else the most recent
    one, else the branch, else the repository (BROWSER is a script recording what it is given)."""
    world = World.create(stack, tmp_path)
    world.add("Has a branch")
    world.add("Has nothing yet")
    world.ok("start", "WEB-1", "--no-checkout")
    (repository,) = [r["html_url"] for r in world.ok("repo", "ls", "--json").json()]
    assert repository.endswith(f"/{world.full_name}")
    branch = world.ok("open", "WEB-1", "--print", env={"DISPLAY": ":0"}).stdout.strip()
    assert branch == f"{repository}/tree/web-1-has-a-branch"
    assert world.ok("open", "WEB-2", "--json").json() == {"url": repository}

    # two pull requests of the branch: the open one wins over a closed one updated later
    first = fake.add_pull(world.full_name, head="web-1-has-a-branch", title="WEB-1 first try",
                          at="2030-01-01T00:00:00Z", user=world.api.username)
    fake.update_pull(world.full_name, first, state="closed", updated_at="2030-01-03T00:00:00Z")
    second = fake.add_pull(world.full_name, head="web-1-has-a-branch", title="WEB-1 again",
                           at="2030-01-02T00:00:00Z", user=world.api.username)
    world.ok("pr", "sync", "WEB-1")
    linked = {p["number"]: p for p in world.ok("show", "WEB-1", "--json").json()["pull_requests"]}
    assert sorted(linked) == [first, second] and linked[second]["url"].endswith(f"/pull/{second}")
    assert world.ok("open", "WEB-1", "--print").stdout.strip() == linked[second]["url"]
    browser, seen = recorder(tmp_path)
    opened = world.ok("open", "WEB-1", "--json", env={"DISPLAY": ":0", "BROWSER": browser})
    assert opened.json() == {"url": linked[second]["url"]} and not seen.exists()  # --json prints

    # in the TUI: `o` in the card's details opens the same address, through BROWSER
    from taskly.core.context import Factory, Globals
    from taskly.tui.app import TasklyApp
    from taskly.tui.messages import CardOpenRequested
    from taskly.tui.screens.detail import CardDetail

    environ = {**os.environ, "DISPLAY": ":0", "BROWSER": browser}
    factory = Factory(globals=Globals(), environ=environ)
    app = TasklyApp(factory, "WEB")
    notes: list[str] = []
    notify = app.notify
    app.notify = lambda message, **kwargs: (notes.append(str(message)), notify(message, **kwargs))[1]
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            app.post_message(CardOpenRequested(world.card("WEB-1")["id"]))
            await wait_until(pilot, lambda: isinstance(app.screen, CardDetail))
            await pilot.press("o")
            await wait_until(pilot, lambda: seen.exists() and seen.read_text().strip())
            assert seen.read_text().split() == [linked[second]["url"]]
            await wait_until(pilot, lambda: f"Opening {linked[second]['url']}" in notes)

            # once it is closed too, the most recently updated one; no display: the address in a toast
            fake.update_pull(world.full_name, second, state="closed", updated_at="2030-01-02T12:00:00Z")
            world.ok("pr", "sync", "WEB-1")
            assert world.ok("open", "WEB-1", "--print").stdout.strip() == linked[first]["url"]
            await wait_until(pilot, lambda: app.screen.card is not None and all(
                p.state.value == "closed" for p in app.screen.card.pull_requests))
            del environ["DISPLAY"]
            await pilot.press("o")
            await wait_until(pilot, lambda: f"No browser to open it here: {linked[first]['url']}" in notes)
            assert seen.read_text().split() == [linked[second]["url"]]  # nothing more was run
    finally:
        factory.close()
        factory.store.close()


def test_start_refuses_what_it_cannot_do_before_changing_anything(stack, tmp_path: Path) -> None:  # noqa: F811
    world = World.create(stack, tmp_path)
    world.add("Nowhere to go")
    world.add("Worktree in the way")
    world.add("Offline with hooks")

    elsewhere = tmp_path / "not-a-clone"
    elsewhere.mkdir()
    nowhere = world.taskly("start", "WEB-1", "--offline", "--no-checkout", cwd=elsewhere)
    assert nowhere.code == 2 and "not in a git repository" in nowhere.stderr, nowhere
    no_traceback(nowhere)
    cached = world.ok("show", "WEB-1", "--offline", "--json").json()
    assert cached["branch"] is None and cached["column"] == "Backlog"

    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine\n")
    blocked = world.taskly("start", "WEB-2", "--worktree", str(full))
    assert blocked.code == 2 and "exists and is not empty" in blocked.stderr, blocked
    assert "refs/heads/web-2-worktree-in-the-way" not in ls_remote(world.clone_url)
    after = world.card("WEB-2")
    assert (after["branch"], after["column"]) == (None, "Backlog")
    assert (full / "notes.txt").read_text() == "mine\n" and len(list(full.iterdir())) == 1

    world.ok("hooks", "install")
    world.ok("start", "WEB-3", "--offline")  # its post-checkout hook queues the move, pushes nothing
    assert head_branch(world.clone) == "web-3-offline-with-hooks"
    time.sleep(3)  # a background push would have reached the server by now
    assert world.card("WEB-3")["column"] == "Backlog"  # nothing went to the server
    assert world.ok("show", "WEB-3", "--offline", "--json").json()["column"] == "In Progress"

    # a member who never signed in with GitHub: exit 4 (auth), one line saying how to sign in
    invitation = world.api.ok("POST", f"/workspaces/{world.workspace_id}/invitations", json={})
    member = Api.login(stack.url, f"dev-{uuid.uuid4().hex[:6]}")
    member.ok("POST", f"/invitations/{invitation['token']}/accept")
    member_home = {"TASKLY_HOME": str(tmp_path / "member-home")}
    cli_token_login(stack.url, member.ok("POST", "/tokens", json={"name": "cli"})["token"], env=member_home)
    unlinked = world.taskly("start", "WEB-1", "--no-checkout", "--board", "WEB", env=member_home)
    assert unlinked.code == 4 and unlinked.stderr.count("\n") == 1, unlinked
    assert "GitHub" in unlinked.stderr and "taskly login" in unlinked.stderr
    assert world.card("WEB-1")["column"] == "Backlog"


def test_a_card_of_another_repository_is_refused(stack, fake, tmp_path: Path) -> None:  # noqa: F811
    world = World.create(stack, tmp_path)
    world.add("Belongs to web")
    other = fake.add_repo(f"other-{world.full_name.split('/')[0]}/api",
                          collaborators={world.api.username: "admin"})
    elsewhere = clone(other.clone_url, tmp_path / "other")
    refused = world.taskly("start", "WEB-1", cwd=elsewhere)
    assert refused.code == 1, refused.stderr
    no_traceback(refused)
    assert f"WEB-1 belongs to {world.full_name}, but this repository is {other.full_name}" in refused.stderr
    assert world.card("WEB-1")["branch"] is None
    assert "refs/heads/web-1-belongs-to-web" not in ls_remote(world.clone_url)

    # .taskly.toml names the repository, whatever origin says
    (world.clone / ".taskly.toml").write_text('repository = "someone/else"\n')
    named = world.taskly("start", "WEB-1")
    assert named.code == 1 and "this repository is someone/else" in named.stderr
    (world.clone / ".taskly.toml").unlink()

    plain = tmp_path / "plain"
    plain.mkdir()
    outside = world.taskly("start", "WEB-1", cwd=plain)
    assert outside.code == 2 and "not in a git repository" in outside.stderr
    unknown = world.taskly("start", "WEB-99")
    assert unknown.code == 3


def test_done_queues_offline_and_needs_a_done_column(stack, tmp_path: Path) -> None:  # noqa: F811
    world = World.create(stack, tmp_path, connect=False)
    world.add("Finish me")
    queued = world.ok("done", "WEB-1", "--offline")
    assert "queued" in queued.stderr
    assert world.card("WEB-1")["column"] == "Backlog"
    world.ok("sync")
    assert world.card("WEB-1")["column"] == "Done"
    git("switch", "--quiet", "-c", "feature-without-key", cwd=world.clone)
    nokey = world.taskly("done")
    assert nokey.code == 2 and "does not start with a card key" in nokey.stderr


@pytest.mark.parametrize(("url", "name"), [
    ("https://github.com/acme/web.git", "acme/web"),
    ("https://github.com/acme/web", "acme/web"),
    ("https://token@github.example.com/acme/web/", "acme/web"),
    ("git@github.com:acme/web.git", "acme/web"),
    ("ssh://git@github.com:22/acme/web.git", "acme/web"),
    ("file:///srv/git/acme/web.git", "acme/web"),
    ("/srv/git/acme/web.git", "acme/web"),
    ("../web.git", None),
    ("web", None),
    ("", None),
])
def test_the_origin_url_names_the_repository(url: str, name: str | None) -> None:
    assert github_name(url) == name


def recorder(tmp_path: Path) -> tuple[str, Path]:
    """A BROWSER command that appends the URL it is given to a file."""
    seen = tmp_path / "browser-opened"
    script = tmp_path / "browser.sh"
    script.write_text(f'#!/bin/sh\necho "$1" >> {seen}\n')
    script.chmod(0o755)
    return f"{script} %s", seen


async def wait_until(pilot, condition, within: float = 20.0) -> None:
    """Let the app run until `condition()` holds (fails after `within` seconds)."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await pilot.pause(0.05)
