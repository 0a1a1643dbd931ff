"""Errors are one line with a documented exit code, for every command in the registry.

Each command (and each subcommand of a group) runs with bad arguments against a real server and a
signed-in home: an unknown option, a missing argument, things that do not exist (card, column,
board, user, workspace) and an absurd number. Each must print exactly one line on stderr, never a
traceback, and exit with a code from the documented table.
"""

from __future__ import annotations

import importlib
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.cli.github_world import World, _git_identity, git, stack  # noqa: F401  (fixtures)
from tests.cli.support import cli_board, ok, run_taskly
from tests.support.processes import free_port

DOCUMENTED = {1, 2, 3, 4, 5, 6, 8}
SKIP = {"hooks run", "board"}  # git's hook entry point (no typer); `board` alone opens the TUI
ABSURD = "99999999999999999999"
GHOSTS = {"CARD": "WEB-99999", "[CARD]": "WEB-99999", "COLUMN": "Nowhere", "BOARD": "NOPE",
          "WORKSPACE": "ghost-workspace", "USER...": "ghost-user", "ID": "ghost-id",
          "ID_OR_NAME": "ghost-id", "OWNER/NAME": "ghost/ghost", "EVENT": "ghost-event",
          "TOKEN": "ghost-token", "POSITION": ABSURD}


def command_tree() -> list[tuple[str, list[str]]]:
    """(command path, argument metavars) of every command in the registry, groups included."""
    import typer
    from taskly.main import COMMANDS, _prepared

    found: list[tuple[str, list[str]]] = []

    def walk(command, path: str) -> None:
        if path not in SKIP:
            found.append((path, [p.metavar for p in command.params if p.param_type_name == "argument"]))
        for name, child in getattr(command, "commands", {}).items():
            walk(child, f"{path} {name}")

    for name, module, attribute, _ in COMMANDS:
        command = typer.main.get_group(importlib.import_module(module).app).commands[attribute]
        walk(_prepared(command, name), name)
    return found


def bad_invocations() -> list[tuple[str, ...]]:
    calls: list[tuple[str, ...]] = []
    for path, metavars in command_tree():
        words = tuple(path.split())
        calls.append((*words, "--no-such-option"))
        if any(m and not m.startswith("[") for m in metavars):
            calls.append(words)  # a missing argument
        if metavars and all(m in GHOSTS for m in metavars):
            calls.append((*words, *(GHOSTS[m] for m in metavars)))
            if any("CARD" in m for m in metavars):
                calls.append((*words, *(ABSURD if "CARD" in m else GHOSTS[m] for m in metavars)))
    calls += [("ls", "-a", "ghost"), ("ls", "--column", "Nowhere"), ("ls", "--board", "NOPE"),
              ("ls", "--workspace", "ghost"), ("comment", ABSURD, "hi"), ("comment", "WEB-99999", "hi"),
              ("mv", "1", "Done", "--after", "WEB-99999"), ("mv", "1", "Done", "--after", ABSURD),
              ("edit", "1", "--points", ABSURD), ("add", "x", "--due", "someday"),
              ("column", "mv", "Backlog", ABSURD), ("column", "rm", "Backlog"),
              ("show", "--board", "NOPE"), ("status", "--workspace", "ghost"), ("status", "--board", "NOPE"),
              ("repo", "connect", "acme/web")]
    return calls


def test_every_command_fails_on_one_line_with_a_documented_code(server, tmp_path: Path) -> None:
    cli_board(server.url)
    ok("add", "A card")
    calls = bad_invocations()
    assert len(calls) > 60
    env = {"BROWSER": "true", "DISPLAY": None, "GIT_DIR": str(tmp_path / "no-git")}
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda args: (args, run_taskly(*args, "--no-input", env=env, timeout=60)), calls))
    failures = []
    for args, (code, _, err) in results:
        lines = err.splitlines()
        if code not in DOCUMENTED or len(lines) != 1 or "Traceback" in err or not err.startswith("taskly: "):
            failures.append(f"taskly {' '.join(args)} -> {code}: {err[-300:]!r}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(("args", "code"), [(("lss",), 2), (("ls", "--bogus"), 2), (("mv", "1"), 2)])
def test_usage_errors_are_one_line(args: tuple[str, ...], code: int) -> None:
    result = run_taskly(*args)
    assert result.code == code
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("taskly: ")


def test_each_finding_of_issue_14(server, tmp_path: Path) -> None:
    cli_board(server.url)
    ok("add", "A card")
    # a 200 KB comment: one line, no pydantic dump nor URL
    code, _, err = run_taskly("comment", "1", "-", input="x" * 200_000)
    assert code in DOCUMENTED and err.count("\n") == 1 and "pydantic.dev" not in err and "65535" in err
    # an absurd card number is a missing card, not a SQLite overflow
    for args in (("show", ABSURD), ("comment", ABSURD, "hi"), ("mv", "1", "Done", "--after", ABSURD)):
        code, _, err = run_taskly(*args)
        assert code == 3 and "too large" not in err, (args, err)
    # --after names the card by its key, never by its id
    ok("board", "create", "Ops", "--key", "OPS")
    ok("add", "Ops card")
    ok("board", "use", "WEB")
    code, _, err = run_taskly("mv", "1", "Done", "--after", "OPS-1")
    assert code == 3 and "OPS-1" in err and not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", err), err
    # the flag, not the server's parameter name
    code, _, err = run_taskly("column", "rm", "Backlog")
    assert code == 5 and "--move-to" in err and "(move_to)" not in err, err
    # a server that is not a URL is a usage error (2), not offline (6)
    code, _, err = run_taskly("login", "--server", "not-a-url", "--dev", "bob")
    assert code == 2 and "not a URL" in err, err
    # a filter on an unknown user is not found, like `assign`
    assert run_taskly("ls", "-a", "ghost").code == 3
    assert run_taskly("assign", "1", "ghost").code == 3
    # `server = 42` in the user config: a usage error naming the file
    home = tmp_path / "other-home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.toml").write_text("server = 42\n")
    code, _, err = run_taskly("ls", env={"TASKLY_HOME": str(home)})
    assert code == 2 and "must be a string" in err and "not logged in" not in err, err
    # status on a workspace or board that does not exist: not found, like every other command
    for args in (("status", "--workspace", "ghost"), ("status", "--board", "NOPE")):
        code, out, err = run_taskly(*args)
        assert (code, out, err.count("\n")) == (3, "", 1) and args[-1] in err, (args, err)
    code, _, err = run_taskly("status", env={"TASKLY_WORKSPACE": "ghost"})
    assert code == 3 and "no workspace 'ghost'" in err, err
    # connecting a repository without a GitHub sign-in (a dev login): auth (4), saying how to sign in
    code, _, err = run_taskly("repo", "connect", "acme/web")
    assert code == 4 and err.count("\n") == 1 and f"taskly login --server {server.url}" in err, err
    # status says why the server cannot be reached, in words
    result = run_taskly("status", env={"TASKLY_SERVER": f"http://127.0.0.1:{free_port()}"})
    assert "server not reachable (connection refused)" in result.stdout and "Errno" not in result.stdout


def test_github_errors_are_one_line(stack, fake, tmp_path: Path) -> None:  # noqa: F811
    """What GitHub cannot do: a base branch that does not exist on GitHub, a repository that does
    not exist: not found (3), the error on one line (after the progress notes), the card as it was."""
    world = World.create(stack, tmp_path)
    card = world.add("Branch from nowhere")
    code, _, err = world.taskly("start", "WEB-1", "--base", "no-such-branch", "--no-checkout")
    assert code == 3 and one_error_line(err), err
    assert "base branch 'no-such-branch' not found" in err and "Traceback" not in err
    assert world.card("WEB-1")["version"] == card["version"]
    git_dir = fake.repo_info(world.full_name).git_dir  # the repository's own base branch is gone
    git("--git-dir", git_dir, "update-ref", "-d", "refs/heads/main", cwd=tmp_path)
    code, _, err = world.taskly("start", "WEB-1", "--no-checkout")
    assert code == 3 and one_error_line(err) and "base branch 'main' not found" in err, err
    code, _, err = world.taskly("repo", "connect", "ghost-owner/ghost-repo")
    assert code == 3 and one_error_line(err) and "not found" in err, err


def one_error_line(err: str) -> bool:
    """The error is the last line, the only one that starts with `taskly: `, and no traceback."""
    lines = err.splitlines()
    return bool(lines) and lines[-1].startswith("taskly: ") and err.count("taskly: ") == 1 \
        and "Traceback" not in err
