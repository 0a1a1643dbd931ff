"""`taskly repo connect|ls|disconnect` and `taskly board set-repo` against a server, a worker and the
fake GitHub: the webhook registered (or its URL and secret printed once), the current board's
default repository, and the errors a user meets."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.cli.github_world import (  # noqa: F401  (fixtures)
    _git_identity,
    cli_token_login,
    github_user,
    no_traceback,
    stack,
    wait_for,
)
from tests.cli.support import cli_board, ok, run_taskly

pytestmark = pytest.mark.timeout(180)


def board_json(key: str) -> dict:
    return next(b for b in ok("board", "ls", "--json").json() if b["key"] == key)


def test_connect_registers_the_webhook_and_becomes_the_boards_repository(stack, fake) -> None:  # noqa: F811
    api, token = github_user(stack)
    full_name = f"acme-{uuid.uuid4().hex[:8]}/web"
    fake.add_repo(full_name, collaborators={api.username: "admin"})
    cli_token_login(stack.url, token)
    ok("workspace", "create", "Repos")
    ok("board", "create", "Web", "--key", "WEB")

    connected = ok("repo", "connect", full_name.upper().replace("ACME", "acme"))  # any case
    assert connected.stdout.strip() == full_name
    assert f"Connected {full_name} (default branch main)" in connected.stderr
    assert "Webhook registered on GitHub" in connected.stderr
    assert "Board WEB now uses it" in connected.stderr
    [hook] = fake.hooks(full_name)
    assert hook["config"]["url"] == f"{stack.url}/api/v1/webhooks/github"
    listed = ok("repo", "ls", "--json").json()
    assert [(r["full_name"], r["webhook"], r["default_branch"]) for r in listed] == [(full_name, "registered", "main")]
    assert board_json("WEB")["default_repository_id"] == listed[0]["id"]
    table = ok("repo", "ls").stdout
    assert table.split("\t")[0] == full_name and table.strip().endswith("WEB")

    # a second board has none: it gets the next one; the first keeps its own
    ok("board", "create", "Api", "--key", "API")
    second = f"acme-{uuid.uuid4().hex[:8]}/api"
    fake.add_repo(second, collaborators={api.username: "admin"})
    body = ok("repo", "connect", second, "--json").json()
    assert body["board_default"] is True and body["webhook"] == "registered" and "secret" not in body
    assert body["repository"]["full_name"] == second
    ok("board", "use", "WEB")
    third = f"acme-{uuid.uuid4().hex[:8]}/docs"
    fake.add_repo(third, collaborators={api.username: "admin"})
    kept = ok("repo", "connect", third)
    assert f"Board WEB keeps its repository; switch with `taskly board set-repo {third}`" in kept.stderr
    assert board_json("WEB")["default_repository_id"] == listed[0]["id"]

    switched = ok("board", "set-repo", third, "--json").json()
    ids = {r["full_name"]: r["id"] for r in ok("repo", "ls", "--json").json()}
    assert switched["default_repository_id"] == ids[third] == board_json("WEB")["default_repository_id"]
    assert ok("board", "set-repo", "none", "--json").json()["default_repository_id"] is None

    removed = ok("repo", "disconnect", second, "--json").json()
    assert removed["active"] is False and removed["full_name"] == second
    assert second not in {r["full_name"] for r in ok("repo", "ls", "--json").json()}
    wait_for(lambda: fake.hooks(second) == [])  # a job removes the webhook on GitHub
    gone = run_taskly("repo", "disconnect", second)
    assert gone.code == 3 and "is not connected" in gone.stderr and full_name in gone.stderr


def test_without_admin_the_webhook_url_and_secret_are_printed_once(stack, fake) -> None:  # noqa: F811
    api, token = github_user(stack)
    full_name = f"acme-{uuid.uuid4().hex[:8]}/web"
    fake.add_repo(full_name, collaborators={api.username: "write"})
    cli_token_login(stack.url, token)
    ok("workspace", "create", "Manual hooks")
    ok("board", "create", "Web", "--key", "WEB")
    manual = ok("repo", "connect", full_name)
    lines = manual.stdout.splitlines()
    secret = next(line.split()[-1] for line in lines if line.strip().startswith("Secret:"))
    assert len(secret) >= 32
    assert f"Payload URL:   {stack.url}/api/v1/webhooks/github" in manual.stdout
    assert "Content type:  application/json" in manual.stdout and "pull_request" in manual.stdout
    assert "cannot manage the webhooks" in manual.stderr and fake.hooks(full_name) == []
    assert ok("repo", "ls", "--json").json()[0]["webhook"] == "manual"
    assert secret not in ok("repo", "ls").stdout


def test_errors_are_clear_with_their_exit_codes(stack, fake, server, tmp_path: Path) -> None:  # noqa: F811
    _, token = github_user(stack)
    cli_token_login(stack.url, token)
    ok("workspace", "create", "Errors")
    bad = run_taskly("repo", "connect", "not a repository")
    assert bad.code == 2 and "OWNER/NAME" in bad.stderr
    missing = run_taskly("repo", "connect", f"nobody-{uuid.uuid4().hex[:6]}/nothing")
    assert missing.code == 3 and "not found" in missing.stderr  # a missing repository: exit 3
    no_traceback(missing)
    offline = run_taskly("repo", "connect", "acme/web", "--offline")
    assert offline.code == 6 and "offline" in offline.stderr
    assert run_taskly("board", "set-repo", "acme/web", "--offline").code == 6
    assert run_taskly("repo", "ls", "--offline", "--json").json() == []

    # a user who never signed in with GitHub (dev login, on another server of the same kind)
    cli_board(server.url, env={"TASKLY_HOME": str(tmp_path / "dev-home")})
    unlinked = run_taskly("repo", "connect", "acme/web", env={"TASKLY_HOME": str(tmp_path / "dev-home")})
    assert unlinked.code == 4 and unlinked.stderr.count("\n") == 1, unlinked.stderr  # 4: auth, one line
    assert "not signed in with GitHub" in unlinked.stderr and f"taskly login --server {server.url}" in unlinked.stderr
    for args in (("repo", "ls", "--available"), ("repo", "connect", "--no-input")):  # the picker's list too
        listing = run_taskly(*args, env={"TASKLY_HOME": str(tmp_path / "dev-home")})
        assert listing.code == 4 and listing.stderr.count("\n") == 1, listing
        assert "not signed in with GitHub" in listing.stderr and listing.stdout == ""


def test_connect_without_a_name_offers_the_repositories_you_administer(stack, fake, tmp_path: Path) -> None:  # noqa: F811
    """GitHub's /user/repos, every page (two a page here), only those with `permissions.admin`:
    printed with exit 2 under --no-input or without a terminal, a numbered prompt on a terminal."""
    from tests.cli.support import TASKLY, taskly_env
    from tests.support.pty import Terminal

    api, token = github_user(stack)
    owner = f"acme-{uuid.uuid4().hex[:8]}"
    admin = [f"{owner}/api", f"{owner}/web", f"{owner}/zeta"]
    for full_name in admin:
        fake.add_repo(full_name, collaborators={api.username: "admin"})
    fake.add_repo(f"{owner}/docs", collaborators={api.username: "write"})  # can push, cannot connect
    fake.add_repo(f"{owner}/public", private=False)  # visible, no explicit access: not listed
    cli_token_login(stack.url, token)
    ok("workspace", "create", "Pick")
    ok("board", "create", "Web", "--key", "WEB")
    fake.max_per_page = 2
    try:
        fake.clear_requests()
        listed = ok("repo", "ls", "--available", "--json").json()
        assert [r["full_name"] for r in listed] == admin
        assert len([r for r in fake.requests if r.path == "/user/repos"]) == 2  # 4 repositories, 2 pages
        assert listed[0]["admin"] is True and listed[0]["private"] is True
        assert listed[0]["default_branch"] == "main" and listed[0]["html_url"].endswith(f"/{admin[0]}")

        refused = run_taskly("repo", "connect", "--no-input")
        assert refused.code == 2 and refused.stderr.count("\n") == 1, refused
        assert "taskly repo connect OWNER/NAME" in refused.stderr and "--no-input" in refused.stderr
        assert [line.split("\t")[0] for line in refused.stdout.splitlines()] == admin
        piped = run_taskly("repo", "connect", "--json")  # stdin is not a terminal
        assert piped.code == 2 and [r["full_name"] for r in piped.json()] == admin
        assert ok("repo", "ls", "--json").json() == []

        terminal = Terminal([str(TASKLY), "repo", "connect"], taskly_env(), cwd=str(tmp_path))
        try:
            terminal.until(rb"Connect which repository\? \[1-3\]", 0)
            assert f"2  {admin[1]}  (private)" in terminal.text()
            _, mark = terminal.press(b"7\r")  # out of range: asked again
            terminal.until(rb"Connect which repository", mark)
            _, mark = terminal.press(b"2\r")
            terminal.until(rf"Connected {admin[1]} \(default branch main\)".encode(), mark)
            assert terminal.process.wait(timeout=30) == 0
        finally:
            terminal.close()
    finally:
        fake.max_per_page = 100
    assert [r["full_name"] for r in ok("repo", "ls", "--json").json()] == [admin[1]]
    rows = [line.split("\t") for line in ok("repo", "ls", "--available").stdout.splitlines()]
    assert [(row[0], row[1], row[-1]) for row in rows] == [
        (admin[0], "private", ""), (admin[1], "private", "connected"), (admin[2], "private", "")]
    offline = run_taskly("repo", "ls", "--available", "--offline")
    assert offline.code == 6 and "offline" in offline.stderr

    fake.fail_next("GET", r"^/user/repos", 502, times=3)  # through PyGithub's retries: GitHub failing
    failing = run_taskly("repo", "ls", "--available")
    fake.reset_faults()
    assert failing.code == 1 and failing.stderr.count("\n") == 1, failing
    assert "listing your repositories: GitHub answered 502" in failing.stderr
    for value in [t.value for t in list(fake.tokens.values()) if t.login == api.username]:
        fake.revoke_token(value)  # GitHub refuses the token now: sign in again, as everywhere else
    revoked = run_taskly("repo", "connect", "--no-input")
    assert revoked.code == 4 and "GitHub: sign in again with taskly login" in revoked.stderr, revoked
    assert "GitHub: sign in again with taskly login" in ok("whoami").stdout
