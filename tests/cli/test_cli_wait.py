"""`taskly wait` and the pull requests on `taskly show`, through the real executable against a real
server whose worker processes real (signed) GitHub deliveries: exit 0 all green, 1 a failure, 8
still pending at the timeout."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.support import TASKLY, cli_board, ok, run_taskly, taskly_env
from tests.support.github_webhooks import Hook, now, sha
from tests.support.processes import ServerProcess, start_server

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def hooks_server(server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {**server_env, "TASKLY_WORKER_IN_PROCESS": "1", "TASKLY_QUEUE_NAME": f"cw-{uuid.uuid4().hex[:8]}"}
    process = start_server(env, tmp_path_factory.mktemp("cli-wait"))
    yield process
    process.stop()


@pytest.fixture
def hook(hooks_server: ServerProcess, database_url: str) -> Hook:
    """A CLI user with a current workspace and board WEB, whose workspace has a connected repository."""
    cli_board(hooks_server.url)
    workspace_id = ok("workspace", "ls", "--json").json()[0]["id"]
    return Hook.connect(hooks_server.url, database_url, workspace_id)


def open_pull(hook: Hook, card: dict, number: int) -> str:
    """A PR from the card's branch; its head sha."""
    head = sha(f"{card['key']}:{number}")
    hook.deliver("pull_request", hook.pull("opened", number, head=f"{card['key'].lower()}-work",
                                           title=f"Work on {card['key']}", head_sha=head, updated=now()))
    return head


def test_wait_exits_8_while_pending_then_0_when_green(hook: Hook) -> None:
    card = ok("add", "Ship the login fix", "--json").json()
    pending = run_taskly("wait", card["key"], "--timeout", "0.5", "--interval", "0.1")
    assert pending.code == 8, pending
    assert "no pull request linked yet" in pending.stderr and "still pending" in pending.stderr

    head = open_pull(hook, card, 41)
    hook.deliver("check_run", hook.check_run(head, "build", None, updated=now()))
    pending = run_taskly("wait", card["key"], "--timeout", "0.5", "--interval", "0.1")
    assert pending.code == 8 and "ci pending (build pending)" in pending.stderr, pending

    waiting = subprocess.Popen([str(TASKLY), "wait", card["key"], "--timeout", "30", "--interval", "0.2",
                                "--json"], env=taskly_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    time.sleep(1)
    assert waiting.poll() is None, waiting.communicate()
    hook.deliver("check_run", hook.check_run(head, "build", "success", updated=now() + 1))
    stdout, stderr = waiting.communicate(timeout=30)
    assert waiting.returncode == 0, (stdout, stderr)
    (pull,) = json.loads(stdout)
    assert pull["number"] == 41 and pull["ci"] == "success" and pull["checks"][0]["name"] == "build"
    assert "all checks passed" in stderr


def test_wait_exits_1_on_a_failed_check(hook: Hook) -> None:
    card = ok("add", "Break the build", "--json").json()
    head = open_pull(hook, card, 42)
    hook.deliver("check_suite", hook.check_suite(head, "failure", updated=now()))
    failed = run_taskly("wait", card["key"], "--timeout", "10", "--interval", "0.1")
    assert failed.code == 1, failed
    assert "checks failed" in failed.stderr and "GitHub Actions failed" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_wait_takes_the_card_of_the_current_branch(hook: Hook, tmp_path: Path) -> None:
    card = ok("add", "From the branch", "--json").json()
    head = open_pull(hook, card, 43)
    hook.deliver("status", hook.status(head, "ci/tests", "success", updated=now()))
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", f"{card['key'].lower()}-work", str(repo)], check=True)
    green = run_taskly("wait", "--timeout", "10", "--interval", "0.1", cwd=repo)
    assert green.code == 0, green
    assert f"#43 open · ci success · {hook.full_name}" in green.stdout


def test_show_lists_pull_requests_with_state_ci_and_reviews(hook: Hook) -> None:
    card = ok("add", "Reviewed work", "--json").json()
    head = open_pull(hook, card, 44)
    hook.deliver("check_suite", hook.check_suite(head, "failure", updated=now()))
    hook.deliver("pull_request_review", hook.review("approved", 44, reviewer="alice", title=f"Work on {card['key']}",
                                                    head=f"{card['key'].lower()}-work", head_sha=head,
                                                    submitted=now() + 1))
    shown = ok("show", card["key"], "--json").json()
    (pull,) = shown["pull_requests"]
    assert {k: pull[k] for k in ("number", "title", "state", "url", "ci", "approvals", "changes_requested")} == {
        "number": 44, "title": f"Work on {card['key']}", "state": "open",
        "url": f"https://github.com/{hook.full_name}/pull/44", "ci": "failure", "approvals": 1,
        "changes_requested": 0}
    assert shown["column"] == "In Review"
    text = ok("show", card["key"]).stdout
    assert "Pull requests (1)" in text
    assert f"#44 open · ci failure · 1 approval · {hook.full_name}  https://github.com/{hook.full_name}/pull/44" in text
    assert "failure GitHub Actions" in text.replace("  ", " ")


def test_open_prints_the_cards_pull_request_on_github(hook: Hook) -> None:
    card = ok("add", "Open me on GitHub", "--json").json()
    open_pull(hook, card, 46)
    ok("show", card["key"])  # the PR reaches the cache
    url = f"https://github.com/{hook.full_name}/pull/46"
    assert ok("open", card["key"], "--print", env={"DISPLAY": ":0"}).stdout.strip() == url
    assert ok("open", card["key"], "--json").json() == {"url": url}


def test_wait_exits_0_with_no_checks_when_no_ci_reports(hook: Hook) -> None:
    card = ok("add", "No CI here", "--json").json()
    open_pull(hook, card, 44)
    started = time.monotonic()
    done = run_taskly("wait", card["key"], "--interval", "0.2")  # default timeout: 600 s
    assert done.code == 0, done
    assert "no checks" in done.stderr and time.monotonic() - started < 60


def test_ctrl_c_exits_130_and_says_what_was_still_pending(hook: Hook) -> None:
    card = ok("add", "Slow CI", "--json").json()
    head = open_pull(hook, card, 45)
    hook.deliver("check_run", hook.check_run(head, "build", None, updated=now()))
    waiting = subprocess.Popen([str(TASKLY), "wait", card["key"], "--interval", "0.2"], env=taskly_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)  # past its first polls
    assert waiting.poll() is None, waiting.communicate()
    waiting.send_signal(signal.SIGINT)
    stdout, stderr = waiting.communicate(timeout=30)
    assert waiting.returncode == 130, (stdout, stderr)
    assert "interrupted after" in stderr and "checks still pending:" in stderr, stderr
    assert "build pending" in stderr and "Traceback" not in stderr
