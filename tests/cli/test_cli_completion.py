"""Shell completion through the real executable: typer's protocol (`_TASKLY_COMPLETE`), values from
the cache, without the network or heavy imports."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.cli.support import TASKLY, cli_board, ok, run_taskly, taskly_env

HEAVY = {"httpx", "websockets", "keyring", "pydantic", "textual", "sqlalchemy"}


def bash(line: str, env: dict[str, str] | None = None) -> list[str]:
    """What bash completion offers for `line` (the word being completed is the last one)."""
    words = re.split(r"(?<!\\) ", line)  # as bash splits them: `In\ R` is one word
    result = run_taskly(env={"_TASKLY_COMPLETE": "complete_bash", "COMP_WORDS": line,
                             "COMP_CWORD": str(len(words) - 1), **(env or {})})
    assert result.code == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


def zsh(line: str, instruction: str = "complete_zsh") -> str:
    result = run_taskly(env={"_TASKLY_COMPLETE": instruction, "_TYPER_COMPLETE_ARGS": line})
    assert result.code == 0, result.stderr
    return result.stdout


def fish(line: str, instruction: str = "complete_fish") -> list[str]:
    result = run_taskly(env={"_TASKLY_COMPLETE": instruction, "_TYPER_COMPLETE_ARGS": line,
                             "_TYPER_COMPLETE_FISH_ACTION": "get-args"})
    assert result.code == 0, result.stderr
    return [line.split("\t")[0] for line in result.stdout.splitlines() if line]


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
    assert bash("taskly mv OPS-1 ") == ["Backlog", "Todo", "In\\ Progress", "In\\ Review", "Done",
                                        "Blocked"]  # escaped: bash inserts them as they are
    assert bash("taskly mv OPS-1 WEB-1") == ["WEB-1", "WEB-10", "WEB-11", "WEB-12"]  # no such column: cards
    assert bash("taskly mv OPS-1 in") == ["in\\ Progress", "in\\ Review"]
    assert bash("taskly mv OPS-1 In\\ R") == ["In\\ Review"]  # what bash inserted completes on
    assert bash("taskly mv OP") == ["OPS-1"]  # the first word of mv and assign is a card
    assert bash("taskly mv OPS-1 WEB-1") == ["WEB-1", "WEB-10", "WEB-11", "WEB-12"]  # no column: more cards
    assert bash("taskly assign OP") == ["OPS-1"]
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
    assert not imported & {"typer", "click", "rich", *HEAVY}  # the fast path's (taskly.fast.complete)


def test_nothing_to_complete_without_a_cache_and_the_install_scripts() -> None:
    assert bash("taskly show WEB-") == []
    assert bash("taskly mv WEB-1 ") == []
    assert bash("taskly show WEB-", env={"TASKLY_SERVER": "http://127.0.0.1:9"}) == []
    no_detection = {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    script = ok("--show-completion", "bash", env=no_detection).stdout
    assert "_TASKLY_COMPLETE=complete_bash" in script and "complete -o default -F" in script
    zsh_script = ok("--show-completion", "zsh", env=no_detection).stdout
    assert "compdef" in zsh_script


def test_show_completion_prints_the_script_of_the_shell_asked_for() -> None:
    for args, marker in ((["--show-completion", "zsh"], "compdef _taskly_completion taskly"),
                         (["--show-completion=zsh"], "compadd --"),
                         (["--show-completion", "fish"], "complete --command taskly"),
                         (["--show-completion=bash"], "complete -o default -F _taskly_completion taskly")):
        shown = run_taskly(*args)
        assert shown.code == 0 and marker in shown.stdout, (args, shown)
    assert "compdef" not in run_taskly("--show-completion", "bash").stdout
    assert "compdef" in run_taskly("--show-completion", env={"SHELL": "/usr/bin/zsh"}).stdout
    refused = run_taskly("--show-completion=tcsh")
    assert refused.code == 2 and "unsupported shell 'tcsh'" in refused.stderr and refused.stdout == ""


def test_every_shell_completes_quoted_names_boards_users_priorities_and_labels(server, tmp_path) -> None:
    me = cli_board(server.url, "WEB")
    ok("board", "create", "Ops", "--key", "OPS")
    ok("board", "use", "WEB")
    ok("column", "add", "Needs QA")
    ok("add", "Labelled", "--label", "backend", "--label", "ui polish", "--priority", "high")
    ok("add", "Also labelled", "--label", "backend")
    ok("workspace", "members")

    assert bash("taskly mv WEB-1 Ne") == ["Needs\\ QA"]
    assert zsh("taskly mv WEB-1 Ne").splitlines() == ["Needs QA"]  # compadd quotes it
    assert zsh("taskly mv WEB-1 Ne", "zsh_complete").splitlines() == ["Needs QA"]
    assert fish("taskly mv WEB-1 Ne") == fish("taskly mv WEB-1 Ne", "fish_complete") == ["Needs QA"]
    assert bash("taskly mv WEB-1 Ne", {"_TASKLY_COMPLETE": "bash_complete"}) == ["Needs\\ QA"]

    assert bash("taskly ls --board O") == ["OPS"]
    assert bash("taskly board use W") == ["WEB"]
    assert bash("taskly ls --priority h") == ["high"]
    assert fish("taskly add x --priority u") == ["urgent"]
    assert bash("taskly ls --label ") == ["backend", "ui\\ polish"]  # most used first
    assert zsh("taskly edit WEB-1 --remove-label u").splitlines() == ["ui polish"]
    assert bash("taskly assign WEB-1 ") == ["me", me]
    assert bash(f"taskly ls -a {me[:2]}") == [me]

    ok("sprint", "create", "Sprint 7", "--start", "today", "--end", "+2w")
    ok("sprint", "create", "Old one", "--start", "+3w", "--end", "+4w")
    ok("sprint", "close", "Old one")
    assert bash("taskly sprint show S") == ["Sprint\\ 7"]  # closed sprints are not offered
    assert bash("taskly add x --sprint ") == ["Sprint\\ 7", "current", "none"]
    assert fish("taskly ls --sprint c") == ["current"]
    assert bash("taskly sprint create S") == []  # a new name completes nothing
    unknown = run_taskly(env={"_TASKLY_COMPLETE": "complete_tcsh", "_TYPER_COMPLETE_ARGS": "taskly "})
    assert unknown.code == 2 and "unsupported completion request" in unknown.stderr


def test_cards_made_offline_complete_by_their_handle(server) -> None:
    cli_board(server.url, "WEB")
    ok("add", "Numbered")
    made = ok("add", "Made on a train", "--offline", "--json").json()
    handle = made["id"].replace("-", "")[:8]
    shown = ok("ls", "--offline").stdout
    assert f"WEB-?{handle}" in shown  # what `ls` shows is what completes

    assert bash("taskly show WEB-") == ["WEB-1", f"WEB-\\?{handle}"]  # `?` escaped: bash would glob it
    assert bash("taskly show web-?") == [f"web-\\?{handle}"]
    assert bash(f"taskly show ?{handle[:3]}") == [f"\\?{handle}"]
    assert bash(f"taskly mv {handle[:4]}") == [handle]
    assert zsh("taskly show WEB-").splitlines() == ["WEB-1", f"WEB-?{handle}"]
    assert fish("taskly rm WEB-?") == [f"WEB-?{handle}"]
    # each completed form names the card
    for form in (f"WEB-?{handle}", f"?{handle}", handle):
        assert ok("show", form, "--offline", "--json").json()["id"] == made["id"]

    ok("sync")  # numbered now: its key completes, the handle no longer does
    assert bash("taskly show WEB-") == ["WEB-1", "WEB-2"]
