"""`taskly hooks install` and the hooks git runs: the card key in commit messages, checkouts of card
branches marking cards in progress, chained pre-existing hooks, and never blocking git when the
server is down or hangs (real git, the real CLI, real server processes)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.cli.github_world import GIT_ENV, _git_identity, git, wait_for  # noqa: F401  (fixture)
from tests.cli.support import cli_board, ok, run_taskly
from tests.support.api import Api
from tests.support.processes import start_server

pytestmark = pytest.mark.timeout(180)


def new_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git("init", "--quiet", "--initial-branch=main", cwd=path)
    git("commit", "--quiet", "--allow-empty", "-m", "initial", cwd=path)
    return path


def run_git(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """git with the hooks installed; the timeout is the hang guard (the time it takes is for
    tests/bench/bench_hooks.py, not for an assert that a busy machine can fail)."""
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **GIT_ENV})


def last_message(repo: Path) -> str:
    return git("log", "-1", "--format=%B", cwd=repo)


def write_hook(repo: Path, name: str, body: str) -> Path:
    path = repo / ".git" / "hooks" / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def column_of(api: Api, key: str) -> str:
    return api.ok("GET", f"/cards/{key}")["column"]


def test_install_chains_existing_hooks_prefixes_messages_and_marks_checkouts(server, tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "repo")
    write_hook(repo, "prepare-commit-msg", 'echo "$1 $2" >> "$(git rev-parse --git-dir)/local-ran"\n')
    write_hook(repo, "commit-msg", 'if grep -q WIP "$1"; then echo "no WIP commits" >&2; exit 3; fi\n')
    installed = ok("hooks", "install", "--json", cwd=repo).json()
    assert [(h["hook"], h["status"]) for h in installed] == [
        ("prepare-commit-msg", "installed"), ("commit-msg", "installed"), ("post-checkout", "installed")]
    hooks = repo / ".git" / "hooks"
    assert installed[0]["chained"] == str(hooks / "prepare-commit-msg.local")
    assert installed[2]["chained"] is None
    assert "taskly-hook" in (hooks / "post-checkout").read_text()
    assert "WIP" in (hooks / "commit-msg.local").read_text()  # the old hook, kept as it was
    again = ok("hooks", "install", "--json", cwd=repo).json()
    assert {h["status"] for h in again} == {"unchanged"}
    forced = ok("hooks", "install", "--force", "--json", cwd=repo).json()
    assert {h["status"] for h in forced} == {"reinstalled"}
    assert "WIP" in (hooks / "commit-msg.local").read_text()

    username = cli_board(server.url)
    api = Api.login(server.url, username)
    ok("add", "Fix login redirect")
    ok("add", "Already in review", "--column", "In Review")
    assert column_of(api, "WEB-1") == "Backlog"

    switched = run_git("switch", "-c", "web-1-fix-login-redirect", cwd=repo)
    assert switched.returncode == 0, switched.stderr
    assert "WEB-1 moved to In Progress" in switched.stderr
    wait_for(lambda: column_of(api, "WEB-1") == "In Progress")  # pushed in the background

    committed = run_git("commit", "--allow-empty", "-m", "Fix the redirect", cwd=repo)
    assert committed.returncode == 0, committed.stderr
    assert last_message(repo) == "WEB-1: Fix the redirect"
    assert (repo / ".git" / "local-ran").read_text().split()[1:] == ["message"]  # the chained hook ran first
    git("commit", "--quiet", "--allow-empty", "-m", "web-7 names its own card", cwd=repo)
    assert last_message(repo) == "web-7 names its own card"
    rejected = run_git("commit", "--allow-empty", "-m", "WIP not yet", cwd=repo)
    assert rejected.returncode != 0 and "no WIP commits" in rejected.stderr  # its exit code still counts
    assert last_message(repo) == "web-7 names its own card"

    # a card past in progress does not move back; a branch without a key changes nothing
    git("switch", "--quiet", "-c", "web-2-already-in-review", cwd=repo)
    assert column_of(api, "WEB-2") == "In Review"
    git("switch", "--quiet", "-c", "no-card-here", cwd=repo)
    git("commit", "--quiet", "--allow-empty", "-m", "plain", cwd=repo)
    assert last_message(repo) == "plain"


def test_commit_msg_requires_a_key_only_when_the_project_asks(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "repo")
    ok("hooks", "install", cwd=repo)
    git("switch", "--quiet", "-c", "side", cwd=repo)
    git("commit", "--quiet", "--allow-empty", "-m", "side work", cwd=repo)
    side = git("rev-parse", "HEAD", cwd=repo)
    git("switch", "--quiet", "main", cwd=repo)
    git("commit", "--quiet", "--allow-empty", "-m", "no key, no rule", cwd=repo)  # no .taskly.toml: fine

    (repo / ".taskly.toml").write_text("require_key = true\n")
    refused = run_git("commit", "--allow-empty", "-m", "no key here", cwd=repo)
    assert refused.returncode == 1 and "names no card key" in refused.stderr
    assert last_message(repo) == "no key, no rule"
    git("commit", "--quiet", "--allow-empty", "-m", "OPS-3: keyed by hand", cwd=repo)
    git("commit", "--quiet", "--allow-empty", "-m", "Merge branch 'x' into main", cwd=repo)
    git("switch", "--quiet", "-c", "ops-4-from-a-card-branch", cwd=repo)  # no server: the hook stays quiet
    git("commit", "--quiet", "--allow-empty", "-m", "gets its key", cwd=repo)
    assert last_message(repo) == "OPS-4: gets its key"
    git("cherry-pick", "--allow-empty", side, cwd=repo)  # a replayed commit keeps its message
    assert last_message(repo) == "side work"

    # the editor left untouched: only the prefix the hook added, so git aborts an empty message
    aborted = subprocess.run(["git", "commit", "--allow-empty"], cwd=repo, capture_output=True, text=True,
                             env={**os.environ, **GIT_ENV, "GIT_EDITOR": "true"}, timeout=60)
    assert aborted.returncode != 0 and "empty commit message" in aborted.stderr
    assert last_message(repo) == "side work"


def test_fixup_squash_and_amend_subjects_stay_as_autosquash_needs_them(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "repo")
    ok("hooks", "install", cwd=repo)
    git("commit", "--quiet", "--allow-empty", "-m", "plain base", cwd=repo)  # no card branch: no key
    base = git("rev-parse", "HEAD", cwd=repo)
    git("switch", "--quiet", "-c", "ops-5-tidy-up", cwd=repo)
    git("commit", "--quiet", "--allow-empty", "-m", "tidy", cwd=repo)
    assert last_message(repo) == "OPS-5: tidy"
    git("commit", "--quiet", "--allow-empty", f"--fixup={base}", cwd=repo)
    assert last_message(repo) == "fixup! plain base"
    git("commit", "--quiet", "--allow-empty", f"--squash={base}", "-m", "more", cwd=repo)
    assert last_message(repo).splitlines()[0] == "squash! plain base"
    git("commit", "--quiet", "--allow-empty", "-m", "amend! plain base\n\nbetter base", cwd=repo)
    assert last_message(repo).splitlines()[0] == "amend! plain base"

    rebased = subprocess.run(["git", "rebase", "--quiet", "-i", "--autosquash", "--empty=keep", "main~1"],
                             cwd=repo, capture_output=True, text=True, timeout=60,
                             env={**os.environ, **GIT_ENV, "GIT_SEQUENCE_EDITOR": "true", "GIT_EDITOR": "true"})
    assert rebased.returncode == 0, rebased.stderr
    subjects = git("log", "--format=%s", "main~1..HEAD", cwd=repo).splitlines()
    assert len(subjects) == 2 and subjects[0] == "OPS-5: tidy", subjects  # all three folded into the base
    assert not subjects[1].startswith(("fixup!", "squash!", "amend!")), subjects


def test_install_refuses_to_clobber_and_follows_core_hooks_path(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert run_taskly("hooks", "install", cwd=plain).code == 2
    repo = new_repo(tmp_path / "repo")
    write_hook(repo, "post-checkout", "exit 0\n")
    write_hook(repo, "post-checkout.local", "exit 0\n")
    code, _, err = run_taskly("hooks", "install", cwd=repo)
    assert code == 2 and "post-checkout.local" in err
    assert (repo / ".git" / "hooks" / "post-checkout").read_text() == "#!/bin/sh\nexit 0\n"

    shared = new_repo(tmp_path / "shared")
    git("config", "core.hooksPath", "../shared-hooks", cwd=shared)
    ok("hooks", "install", cwd=shared)
    assert (tmp_path / "shared-hooks" / "prepare-commit-msg").exists()
    git("switch", "--quiet", "-c", "api-9-shared", cwd=shared)
    git("commit", "--quiet", "--allow-empty", "-m", "shared hooks", cwd=shared)
    assert last_message(shared) == "API-9: shared hooks"


def test_hooks_never_block_git_when_the_server_is_down_or_hangs(server_env, tmp_path: Path) -> None:
    private = start_server(server_env, tmp_path / "server-1")
    port = urlsplit(private.url).port
    try:
        username = cli_board(private.url)
        for title in ("Written offline", "Server hangs"):
            ok("add", title)
        repo = new_repo(tmp_path / "repo")
        ok("hooks", "install", cwd=repo)
        private.stop()

        switched = run_git("switch", "-c", "web-1-written-offline", cwd=repo)
        assert switched.returncode == 0, switched.stderr
        assert "queued" in switched.stderr
        committed = run_git("commit", "--allow-empty", "-m", "offline work", cwd=repo)
        assert committed.returncode == 0, committed.stderr
        assert last_message(repo) == "WEB-1: offline work"
        cached = ok("show", "WEB-1", "--offline", "--json").json()
        assert cached["column"] == "In Progress"

        private = start_server(server_env, tmp_path / "server-2", port=port)
        ok("sync")
        api = Api.login(private.url, username)
        assert column_of(api, "WEB-1") == "In Progress"

        os.kill(private.process.pid, signal.SIGSTOP)  # accepts connections, answers nothing
        try:
            hung = run_git("switch", "-c", "web-2-server-hangs", cwd=repo)
            assert hung.returncode == 0, hung.stderr
            assert "queued" in hung.stderr
        finally:
            os.kill(private.process.pid, signal.SIGCONT)
        ok("sync")
        assert wait_for(lambda: column_of(api, "WEB-2") == "In Progress")
    finally:
        private.stop()


def test_a_local_start_queues_the_cards_move_once(server, tmp_path: Path) -> None:
    """`taskly start --offline` switches branches itself: post-checkout must not queue the move again."""
    repo = new_repo(tmp_path / "repo")
    ok("hooks", "install", cwd=repo)
    cli_board(server.url)
    ok("add", "Started on a train")
    ok("add", "Switched to by hand")

    started = ok("start", "WEB-1", "--offline", cwd=repo)
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=repo) == "web-1-started-on-a-train"
    assert "moved to" not in started.stderr  # the hook left the card to start
    status = ok("status", "--offline", "--json").json()
    assert status["queued"] == 1, status["pending"]  # one write: branch, assignee and column together
    assert {"branch", "column"} <= set(status["pending"][0]["fields"])
    assert ok("show", "WEB-1", "--offline", "--json").json()["column"] == "In Progress"

    # the hook still moves the card of a branch switched to by hand (queued once, pushed)
    switched = run_git("switch", "-c", "web-2-switched-to-by-hand", cwd=repo)
    assert "WEB-2 moved to In Progress" in switched.stderr, switched.stderr
    ok("sync")
    assert ok("status", "--json").json()["queued"] == 0
    assert [c["column"] for c in ok("ls", "--json").json()] == ["In Progress", "In Progress"]
