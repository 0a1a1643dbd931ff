"""`taskly ls` from the cache takes the fast path (no typer, click, rich nor pydantic) and prints
exactly what the typer path prints: both run over the same cache of 500 cards (hostile text, wide
characters, overdue dates) on terminals of several widths, with and without colour, in pipes and
as JSON; what the fast path does not know (a flag, an error) it leaves to the typer path."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.cli.support import TASKLY, CliResult, run_on_terminal, run_taskly, taskly_env
from tests.support.cache import cached_board

TYPER = {"TASKLY_FAST": "0"}
SLOW = {"typer", "click", "rich", "pydantic", "httpx"}  # taskly_shared.labels (pure) is fine


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> dict[str, str]:
    return cached_board(tmp_path_factory.mktemp("fast"), cards=500)


def _both(run, *args: str, env: dict[str, str | None]) -> tuple[CliResult, CliResult]:
    return run(*args, env=env), run(*args, env={**env, **TYPER})


def _imported(args: tuple[str, ...], env: dict[str, str]) -> set[str]:
    completed = subprocess.run([sys.executable, "-X", "importtime", str(TASKLY), *args], env=taskly_env(env),
                               capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in completed.stderr.splitlines()
            if line.startswith("import time:")}


@pytest.mark.parametrize(("columns", "colour"), [(80, {"NO_COLOR": None, "TERM": "xterm-256color"}),
                                                 (133, {"NO_COLOR": "1", "TERM": "xterm"}),
                                                 (200, {"NO_COLOR": None, "TERM": "dumb"}),
                                                 (47, {"NO_COLOR": None, "TERM": "xterm", "COLORTERM": "truecolor"}),
                                                 (100, {"NO_COLOR": None, "TERM": "screen"})])
def test_terminal_tables_are_the_typer_paths(cache, columns, colour) -> None:
    env = {**cache, **colour, "PYTHONPROFILEIMPORTTIME": "1"}  # stderr lists the imports
    args = ("ls", "--offline") if columns != 47 else ("--offline", "ls", "--all", "-p", "HIGH", "--priority=urgent")
    fast, typer = _both(lambda *a, env: run_on_terminal(*a, columns=columns, env=env), *args, env=env)
    assert (fast.code, fast.stdout) == (typer.code, typer.stdout)
    assert not _modules(fast.stderr) & SLOW  # labels in their colours too, in rich's colour system
    chips = {80: ";48;5;", 133: None, 200: None, 47: None, 100: None}[columns]  # 16 colours: 40-47, 100-107
    assert chips is None or chips in fast.stdout
    assert (columns != 100) or any(f";{code}m" in fast.stdout for code in (*range(40, 48), *range(100, 108)))
    assert "typer" in _modules(typer.stderr)
    assert fast.code == 0 and fast.stdout.count("\n") > (20 if columns == 47 else 400)
    assert columns == 47 or ("(overdue)" in fast.stdout and "漢字" in fast.stdout)
    assert "\x1b]" not in fast.stdout
    assert ("\x1b[1;36m" in fast.stdout) == (colour.get("NO_COLOR") is None and colour["TERM"] != "dumb")


def _modules(stderr: str) -> set[str]:
    return {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in stderr.splitlines()
            if line.startswith("import time:")}


def test_pipes_json_and_filters_are_the_typer_paths(cache) -> None:
    for args in (("ls", "--offline"), ("ls", "--offline", "--json"), ("ls", "--json", "--offline", "--all"),
                 ("ls", "--offline", "-c", "todo", "-l", "BUG", "--label", "ui"),
                 ("ls", "--offline", "--column=in progress", "-q", "--no-input", "--board", "web"),
                 ("ls", "--offline", "--workspace", "cached", "-p", "none"),
                 ("ls", "--offline", "-a", "ALICE", "--assignee", "@zoë", "-a", "alice")):
        fast, typer = _both(run_taskly, *args, env={**cache, "PYTHONPROFILEIMPORTTIME": "1"})
        assert (fast.code, fast.stdout) == (typer.code, typer.stdout), args
        assert fast.code == 0 and fast.stdout and not _modules(fast.stderr) & SLOW, args
    json_terminal = _both(lambda *a, env: run_on_terminal(*a, columns=90, env=env), "ls", "--offline", "--json",
                          env=cache)
    assert json_terminal[0] == json_terminal[1] and json_terminal[0].stdout.startswith("[\n  {")

    assert not _imported(("ls", "--offline"), cache) & SLOW
    assert not _imported(("ls", "--offline", "--json"), cache) & SLOW
    assert "typer" in _imported(("ls", "--offline"), {**cache, **TYPER})


def test_show_offline_is_the_typer_paths(cache) -> None:
    overdue = next(card["key"] for card in json.loads(run_taskly("ls", "--offline", "--json", env=cache).stdout)
                   if card["due"] and card["due"] < "2026-12-01" and card["column_kind"] != "done")
    for args in (("show", "WEB-7", "--offline"), ("show", "--offline", "22"), ("show", "web-0026", "--offline"),
                 ("show", overdue, "--offline"), ("--offline", "show", "WEB-53")):
        fast, typer = _both(run_taskly, *args, env={**cache, "PYTHONPROFILEIMPORTTIME": "1"})
        assert (fast.code, fast.stdout) == (typer.code, typer.stdout), args
        assert fast.code == 0 and not _modules(fast.stderr) & SLOW, (args, _modules(fast.stderr) & SLOW)
    assert "Comments (3)" in run_taskly("show", "WEB-7", "--offline", env=cache).stdout
    for system, chips in (({"TERM": "xterm-256color"}, ";48;5;"), ({"TERM": "xterm", "COLORTERM": "truecolor"}, ";48;2;"),
                          ({"TERM": "xterm-16color"}, ";4")):  # the 16 colours' backgrounds: 40-47, 100-107
        coloured = {**cache, "NO_COLOR": None, "COLORTERM": None, **system, "PYTHONPROFILEIMPORTTIME": "1"}
        fast, typer = _both(lambda *a, env: run_on_terminal(*a, columns=100, env=env), "show", overdue, "--offline",
                            env=coloured)
        assert (fast.code, fast.stdout) == (typer.code, typer.stdout) and "\x1b[1;31m  due" in fast.stdout
        labels_line = next(line for line in fast.stdout.splitlines() if line.startswith("  labels"))
        assert not _modules(fast.stderr) & SLOW and chips in labels_line.replace(";10", ";4"), labels_line
    for args in (("show", "WEB-9999", "--offline"), ("show", "WEB-7", "--offline", "--json"), ("show", "WEB-7"),
                 ("show", "--offline")):  # not found, pydantic's JSON, online, no branch: the typer path's
        fast, typer = _both(run_taskly, *args, env=cache)
        assert fast == typer, args


def test_status_offline_is_the_typer_paths(cache) -> None:
    from tests.cli.support import ok

    ok("add", "Queued [b]here[/b] 漢字", "--offline", env=cache)  # a queued write to list
    for args in (("status", "--offline"), ("status", "--offline", "--json"), ("--offline", "status", "-v"),
                 ("status", "--offline", "--board", "WEB", "--workspace", "cached", "--verbose"),
                 ("status", "--offline", "--workspace", "nowhere"), ("status", "--offline", "--board", "NOPE")):
        fast, typer = _both(run_taskly, *args, env={**cache, "PYTHONPROFILEIMPORTTIME": "1"})
        assert (fast.code, fast.stdout) == (typer.code, typer.stdout), args
        assert [line for line in fast.stderr.splitlines() if not line.startswith("import time:")] == [
            line for line in typer.stderr.splitlines() if not line.startswith("import time:")], args
        assert fast.code == (3 if "nowhere" in args or "NOPE" in args else 0), (args, fast)
        assert fast.code or not _modules(fast.stderr) & SLOW, (args, _modules(fast.stderr) & SLOW)
    listed = run_taskly("status", "--offline", "-v", env=cache).stdout
    assert ("queued  1 write" in listed and "create WEB-?" in listed) or "create card" in listed, listed


@pytest.mark.parametrize("args", [("ls", "--offline", "--bogus"), ("ls", "--offline", "--mine"),
                                  ("ls", "--offline", "-a", "nobody"), ("ls", "--offline", "-a", "me"), ("ls", "--offline", "-c", "nowhere"),
                                  ("ls", "--offline", "-p", "hot"), ("ls", "--offline", "--board", "NOPE"),
                                  ("ls", "--offline", "extra"), ("ls", "--offline", "--help"),
                                  ("ls", "--offline", "--column")])
def test_what_the_fast_path_does_not_know_the_typer_path_answers(cache, args) -> None:
    fast, typer = _both(run_taskly, *args, env=cache)
    assert fast == typer
    assert fast.code in (0, 2, 3, 6) and (fast.code == 0) == ("--help" in args)


def test_online_ls_pays_one_delta_request_and_pulls_when_something_changed(server, tmp_path) -> None:
    from tests.cli.support import cli_board, cli_login, ok

    me = cli_board(server.url)
    first = ok("add", "Seen by both").stdout.strip()
    ok("ls", env={"TASKLY_FRESH_SECONDS": "0"})  # a pull (the write above is in the feed past the cursor)
    every_time = {"TASKLY_FRESH_SECONDS": "0", "PYTHONPROFILEIMPORTTIME": "1", "TASKLY_DEBUG": "1"}
    fast, typer = _both(run_taskly, "ls", env=every_time)
    assert (fast.code, fast.stdout) == (typer.code, typer.stdout) and first in fast.stdout
    assert not _modules(fast.stderr) & SLOW, [line for line in fast.stderr.splitlines() if "import time" not in line]  # nothing new: the cache answers
    assert "httpx" in _modules(typer.stderr)
    mine = _both(run_taskly, "ls", "--offline", "--mine", "-a", "ME", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert (mine[0].code, mine[0].stdout) == (mine[1].code, mine[1].stdout) and mine[0].code == 0
    assert not _modules(mine[0].stderr) & SLOW  # you: the stored login's username

    other = {"TASKLY_HOME": str(tmp_path / "laptop")}
    cli_login(server.url, me, env=other)
    second = ok("add", "Made elsewhere", env=other).stdout.strip()
    listed = run_taskly("ls", "--json", env=every_time)  # something new: the typer path pulls it
    assert listed.code == 0 and "httpx" in _modules(listed.stderr)
    assert [card["key"] for card in json.loads(listed.stdout)] == [first, second]
    within = run_taskly("ls", "--json", env={"TASKLY_FRESH_SECONDS": "60", "PYTHONPROFILEIMPORTTIME": "1"})  # just pulled
    assert json.loads(within.stdout) == json.loads(listed.stdout) and not _modules(within.stderr) & SLOW
    queued = ok("add", "Queued", "--offline").stdout.strip()
    pushed = run_taskly("ls", "--json", env={"PYTHONPROFILEIMPORTTIME": "1"})  # queued writes: pushed first
    assert "httpx" in _modules(pushed.stderr) and "pushed 1 queued write" in pushed.stderr
    assert len(json.loads(pushed.stdout)) == 3 and queued


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_is_the_typer_paths(cache, shell) -> None:
    lines = ["taskly show WEB-1", "taskly show ", "taskly show web-4", "taskly mv WEB-3 ", "taskly mv WEB-3 in",
             "taskly ls --column B", "taskly ls --board WEB -p high -c ", "taskly rm --offline WEB-2",
             "taskly edit WEB-1 --title ", "taskly sh", "taskly mv WEB-1 --after W", "taskly show --j"]
    for line in lines:
        if shell == "bash":
            env = {"_TASKLY_COMPLETE": "complete_bash", "COMP_WORDS": line,
                   "COMP_CWORD": str(len(line.split(" ")) - 1)}
        else:
            env = {"_TASKLY_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": line}
        fast, typer = _both(run_taskly, env={**cache, **env, "PYTHONPROFILEIMPORTTIME": "1"})
        assert (fast.code, fast.stdout) == (typer.code, typer.stdout), line
        assert fast.code == 0 and "typer" in _modules(typer.stderr)
        if line.startswith(("taskly show", "taskly mv WEB-3", "taskly ls --")) and "--j" not in line:
            assert not _modules(fast.stderr) & SLOW, line
            assert fast.stdout.strip(), line


def test_a_live_listener_keeps_reads_off_the_network(server) -> None:
    import signal
    import sqlite3
    import time
    from pathlib import Path

    from tests.cli.support import cli_board, ok

    cli_board(server.url)
    ok("add", "Followed")
    ok("ls", env={"TASKLY_FRESH_SECONDS": "0"})
    cache = next(Path(taskly_env()["TASKLY_HOME"], "cache").glob("*.sqlite3"))

    def live() -> str | None:
        with sqlite3.connect(f"file:{cache}?mode=ro", uri=True) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'live'").fetchone()
        return row[0] if row else None

    listener = subprocess.Popen([str(TASKLY), "inbox", "--watch"], env=taskly_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while live() is None and listener.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert live() is not None and live().split()[0] == str(listener.pid), listener.poll()
        listed = run_taskly("ls", "--json", env={"TASKLY_FRESH_SECONDS": "0", "PYTHONPROFILEIMPORTTIME": "1"})
        assert [card["title"] for card in json.loads(listed.stdout)] == ["Followed"]
        assert not _modules(listed.stderr) & {*SLOW, "socket"}  # no delta request: the listener is on it
    finally:
        listener.send_signal(signal.SIGTERM)
        assert listener.wait(15) == 0, listener.stderr.read()
    assert live() is None
    fallback = run_taskly("ls", "--json", env={"TASKLY_FRESH_SECONDS": "0", "PYTHONPROFILEIMPORTTIME": "1"})
    assert "socket" in _modules(fallback.stderr) and json.loads(fallback.stdout) == json.loads(listed.stdout)
