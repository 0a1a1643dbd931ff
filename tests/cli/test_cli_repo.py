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
    assert missing.code == 1 and "not found" in missing.stderr
    no_traceback(missing)
    offline = run_taskly("repo", "connect", "acme/web", "--offline")
    assert offline.code == 6 and "offline" in offline.stderr
    assert run_taskly("board", "set-repo", "acme/web", "--offline").code == 6
    assert run_taskly("repo", "ls", "--offline", "--json").json() == []

    # a user who never signed in with GitHub (dev login, on another server of the same kind)
    cli_board(server.url, env={"TASKLY_HOME": str(tmp_path / "dev-home")})
    unlinked = run_taskly("repo", "connect", "acme/web", env={"TASKLY_HOME": str(tmp_path / "dev-home")})
    assert unlinked.code == 5 and "sign in with GitHub first" in unlinked.stderr
