"""Help that teaches: one plain style, examples at the end of every command's help, the closest
command suggested for a typo, bare `taskly` prints help (exit 0), groups list every subcommand."""

from __future__ import annotations

import importlib
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.cli.support import run_taskly


def _paths() -> list[str]:
    import typer
    from taskly.main import COMMANDS

    found: list[str] = []

    def walk(command, path: str) -> None:
        if not command.hidden:
            found.append(path)
        for name, child in getattr(command, "commands", {}).items():
            walk(child, f"{path} {name}")

    for name, module, attribute, _ in COMMANDS:
        walk(typer.main.get_group(importlib.import_module(module).app).commands[attribute], name)
    return found


def test_every_command_has_examples() -> None:
    from taskly.core.help_text import EXAMPLES

    missing = [path for path in _paths() if not 1 <= len(EXAMPLES.get(path, ())) <= 3]
    assert not missing, missing


@pytest.mark.parametrize("path", ["ls", "mv", "column rm", "board", "workspace invitations revoke", "wait"])
def test_help_ends_with_examples_on_their_own_lines(path: str) -> None:
    from taskly.core.help_text import EXAMPLES

    code, out, err = run_taskly(*path.split(), "--help")
    assert (code, err) == (0, "")
    tail = out.rstrip().splitlines()[-len(EXAMPLES[path]) - 1:]
    assert tail[0].strip() == "Examples:"
    assert [line.strip() for line in tail[1:]] == [f"$ {example}" for example in EXAMPLES[path]]
    assert "╭" not in out and "│" not in out  # one style: no rich boxes


def test_argument_names_are_consistent() -> None:
    assert "Usage: taskly column rm [OPTIONS] {COLUMN}" in run_taskly("column", "rm", "--help").stdout
    assert "{BOARD}" in run_taskly("board", "use", "--help").stdout
    assert "{WORKSPACE}" in run_taskly("workspace", "use", "--help").stdout
    assert "[CARD]... {COLUMN}" in run_taskly("mv", "--help").stdout  # several cards, or none with --where


def test_unknown_command_suggests_the_closest() -> None:
    assert run_taskly("lss") == (2, "", "taskly: unknown command 'lss' — did you mean `ls`?\n")
    code, _, err = run_taskly("frobnicate")
    assert code == 2 and err.count("\n") == 1 and "unknown command 'frobnicate'" in err


def test_bare_taskly_prints_help_and_exits_0() -> None:
    code, out, err = run_taskly()
    assert (code, err) == (0, "") and out.startswith("Usage: taskly") and "Commands:" in out


@pytest.mark.parametrize("group", ["board", "column", "workspace", "token", "repo"])
def test_group_help_lists_every_subcommand(group: str) -> None:
    out = run_taskly(group, "--help").stdout
    commands = out.split("Commands:", 1)[1]
    listed = {line.split()[0] for line in commands.splitlines() if line.startswith("  ") and line.split()
              and not line.strip().startswith("$") and line.strip() != "Examples:"}
    expected = {path.split()[1] for path in _paths() if path.startswith(f"{group} ") and len(path.split()) == 2}
    assert expected <= listed, (expected, listed)
    summary = next(row[3] for row in __import__("taskly.main").main.COMMANDS if row[0] == group)
    assert all(name in summary for name in expected), (summary, expected)


@pytest.mark.parametrize("group", ["column", "workspace", "token"])
def test_bare_group_prints_its_help_and_exits_0(group: str) -> None:
    code, out, err = run_taskly(group)
    assert (code, err) == (0, "") and out.startswith(f"Usage: taskly {group}") and "Examples:" in out


def test_top_level_help_ends_with_examples() -> None:
    out = run_taskly("--help").stdout.rstrip().splitlines()
    assert out[-4].strip() == "Examples:" and all(line.strip().startswith("$ taskly ") for line in out[-3:])


OPTION_LINE = re.compile(r"^\s+(?:-\w, )?(--[\w-]+)(?: (\S+))?")


def test_every_option_value_has_a_meaningful_name() -> None:
    """No typer default (`<str>`, `<int range>`, TEXT, INTEGER) in any help: each option that takes
    a value shows an upper-case name (`--due DATE`, `--column COLUMN`, `--points N`)."""
    paths = _paths()
    with ThreadPoolExecutor(4) as pool:
        helps = dict(zip(paths, pool.map(lambda path: run_taskly(*path.split(), "--help"), paths), strict=True))
    failures = []
    for path, (code, out, err) in helps.items():
        if code != 0 or err:
            failures.append(f"{path}: exit {code} {err!r}")
        if re.search(r"<(?:str|int|integer|float|path|uuid|bool|choice|text)(?: range)?>", out, re.I):
            failures.append(f"{path}: typer's default metavar in\n{out}")
        options = out.split("\nOptions:\n", 1)[-1].split("\n\n", 1)[0]
        for flag, metavar in OPTION_LINE.findall(options):
            if metavar and (not re.fullmatch(r"[A-Z][A-Z_/]*(?:\.\.\.)?", metavar)
                            or metavar in ("TEXT", "INTEGER", "FLOAT", "STRING")):
                failures.append(f"{path}: {flag} {metavar}")
    assert not failures, "\n".join(failures)
    assert "--due DATE" in helps["add"].stdout and "--points N" in helps["edit"].stdout
    assert "--column COLUMN" in helps["ls"].stdout and "--assignee USER" in helps["ls"].stdout
    assert "--wait-timeout SECONDS" in helps["start"].stdout and "--title TITLE" in helps["edit"].stdout


def test_running_a_command_leaves_the_help_tables_unloaded() -> None:
    """The examples and metavars load only when help is rendered (start-up time of every command)."""
    import subprocess
    import sys

    from tests.cli.support import TASKLY, taskly_env

    def loaded(*args: str) -> bool:
        completed = subprocess.run([sys.executable, "-X", "importtime", str(TASKLY), *args], env=taskly_env(),
                                   capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        return "taskly.core.help_text" in completed.stderr

    assert loaded("--help") and loaded("ls", "--help")
    assert not loaded("ls", "--offline") and not loaded("lss")
