"""Shell completion through the real executable: typer's protocol (`_TASKLY_COMPLETE`), values from
the cache, without the network or heavy imports."""

from __future__ import annotations

import subprocess
import sys

from tests.cli.support import TASKLY, cli_board, ok, run_taskly, taskly_env

HEAVY = {"httpx", "websockets", "keyring", "pydantic", "textual", "sqlalchemy"}


def bash(line: str, env: dict[str, str] | None = None) -> list[str]:
    """What bash completion offers for `line` (the word being completed is the last one)."""
    words = line.split(" ")
    result = run_taskly(env={**(env or {}), "_TASKLY_COMPLETE": "complete_bash", "COMP_WORDS": line,
                             "COMP_CWORD": str(len(words) - 1)})
    assert result.code == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


def zsh(line: str) -> str:
    result = run_taskly(env={"_TASKLY_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": line})
    assert result.code == 0, result.stderr
    return result.stdout


def test_completes_card_keys_and_column_names_from_the_cache(server) -> None:
    cli_board(server.url, "WEB")
    for title in ("One", "Two", "Three"):
        ok("add", title)
    ok("board", "create", "Ops", "--key", "OPS")  # now the current board
    ok("add", "Ops card")
    ok("column", "add", "Blocked")
    for number in range(4, 13):
        ok("add", f"Card {number}", "--board", "WEB", "--offline")
    ok("sync")

    assert bash("taskly show WEB-") == [f"WEB-{n}" for n in range(1, 13)]
    assert bash("taskly show WEB-1") == ["WEB-1", "WEB-10", "WEB-11", "WEB-12"]
    assert bash("taskly show web-1") == ["web-1", "web-10", "web-11", "web-12"]  # any case
    assert bash("taskly show ")[0] == "OPS-1"  # the current board's cards first
    assert bash("taskly mv OPS-1 --after WEB-2") == ["WEB-2"]
    assert bash("taskly mv OPS-1 ") == ["Backlog", "Todo", "In Progress", "In Review", "Done",
                                        "Blocked"]
    assert bash("taskly mv OPS-1 in") == ["in Progress", "in Review"]
    assert bash("taskly ls --column B") == ["Backlog", "Blocked"]
    assert bash("taskly ls --board WEB --column B") == ["Backlog"]  # the board named before
    assert bash("taskly column rm D") == ["Done"]
    assert "In Review" in zsh("taskly mv OPS-1 In")
    assert bash("taskly sh") == ["show"]


def test_completion_is_cheap_and_never_needs_the_server(server) -> None:
    cli_board(server.url)
    ok("add", "Cached")
    env = taskly_env({"_TASKLY_COMPLETE": "complete_bash", "COMP_WORDS": "taskly show WEB-",
                      "COMP_CWORD": "2", "TASKLY_SERVER": None})
    result = subprocess.run([sys.executable, "-X", "importtime", str(TASKLY)], env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and result.stdout.split() == ["WEB-1"]
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "typer" in imported and not imported & HEAVY


def test_nothing_to_complete_without_a_cache_and_the_install_scripts() -> None:
    assert bash("taskly show WEB-") == []
    assert bash("taskly mv WEB-1 ") == []
    assert bash("taskly show WEB-", env={"TASKLY_SERVER": "http://127.0.0.1:9"}) == []
    no_detection = {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    script = ok("--show-completion", "bash", env=no_detection).stdout
    assert "_TASKLY_COMPLETE=complete_bash" in script and "complete -o default -F" in script
    zsh_script = ok("--show-completion", "zsh", env=no_detection).stdout
    assert "compdef" in zsh_script
