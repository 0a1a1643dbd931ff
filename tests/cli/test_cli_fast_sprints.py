"""`taskly sprint show [NAME] --offline` takes the fast path (no typer, click, rich nor pydantic)
and prints exactly what the typer path prints: both over one cache of 500 cards and three sprints
(active and over capacity with a hostile goal, planned, closed), on terminals of several widths,
with and without colour, and in pipes; what the fast path does not reproduce (`--json`, an unknown
sprint, online) the typer path answers."""

from __future__ import annotations

import pytest

from tests.cli.support import run_on_terminal, run_taskly
from tests.cli.test_cli_fast_reads import SLOW, TYPER, _imported, _modules
from tests.support.cache import add_sprints, cached_board


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> dict[str, str]:
    return add_sprints(cached_board(tmp_path_factory.mktemp("fast-sprints"), cards=500))


def _both(run, *args: str, env: dict[str, str | None]):
    return run(*args, env=env), run(*args, env={**env, **TYPER})


@pytest.mark.parametrize(("columns", "colour", "args"), [
    (80, {"NO_COLOR": None, "TERM": "xterm-256color"}, ("sprint", "show", "--offline")),
    (133, {"NO_COLOR": "1", "TERM": "xterm"}, ("--offline", "sprint", "show", "sprint 1")),
    (200, {"NO_COLOR": None, "TERM": "dumb"}, ("sprint", "show", "OLD", "--offline")),
    (47, {"NO_COLOR": None, "TERM": "xterm", "COLORTERM": "truecolor"}, ("sprint", "show", "--offline", "Next 漢字")),
])
def test_sprint_show_on_terminals_is_the_typer_paths(cache, columns, colour, args) -> None:
    env = {**cache, **colour, "PYTHONPROFILEIMPORTTIME": "1"}  # stderr lists the imports
    fast, typer = _both(lambda *a, env: run_on_terminal(*a, columns=columns, env=env), *args, env=env)
    assert (fast.code, fast.stdout) == (typer.code, typer.stdout), args
    assert not _modules(fast.stderr) & SLOW, _modules(fast.stderr) & SLOW
    assert "typer" in _modules(typer.stderr)
    assert fast.code == 0 and fast.stdout.count("\n") > 20
    assert "\x1b]" not in fast.stdout and "\x1b[2J" not in fast.stdout
    assert ("\x1b[1;36m" in fast.stdout) == (colour.get("NO_COLOR") is None and colour["TERM"] != "dumb")


def test_sprint_show_in_pipes_is_the_typer_paths(cache) -> None:
    for args in (("sprint", "show", "--offline"), ("sprint", "show", "current", "--offline", "-q"),
                 ("--offline", "sprint", "show", "OLD"), ("sprint", "show", "--offline", "next 漢字", "--board", "web"),
                 ("sprint", "show", "--offline", "--workspace", "cached", "Sprint 1")):
        fast, typer = _both(run_taskly, *args, env={**cache, "PYTHONPROFILEIMPORTTIME": "1"})
        assert (fast.code, fast.stdout) == (typer.code, typer.stdout), args
        assert fast.code == 0 and not _modules(fast.stderr) & SLOW, (args, _modules(fast.stderr) & SLOW)
    shown = run_taskly("sprint", "show", "--offline", env=cache).stdout
    assert shown.startswith("Sprint 1  active\n") and "(over by " in shown and "Ship \\e[2Jsearch" in shown
    assert "\tlogin \\u202eevil" in shown  # the goal's lines, escaped as the typer path escapes them

    assert not _imported(("sprint", "show", "--offline"), cache) & SLOW
    assert "typer" in _imported(("sprint", "show", "--offline"), {**cache, **TYPER})


@pytest.mark.parametrize("args", [("sprint", "show", "nope", "--offline"), ("sprint", "show", "--offline", "--json"),
                                  ("sprint", "show", "--offline", "--board", "NOPE"), ("sprint", "show"),
                                  ("sprint", "show", "a", "b", "--offline"), ("sprint", "show", "--offline", "--help"),
                                  ("sprint", "ls", "--offline"), ("sprint", "--offline", "show")])
def test_what_the_fast_sprint_show_does_not_know_the_typer_path_answers(cache, args) -> None:
    fast, typer = _both(run_taskly, *args, env={**cache, "PYTHONPROFILEIMPORTTIME": "1"})
    assert (fast.code, fast.stdout) == (typer.code, typer.stdout), args
    assert [line for line in fast.stderr.splitlines() if not line.startswith("import time:")] == [
        line for line in typer.stderr.splitlines() if not line.startswith("import time:")], args
    assert "typer" in _modules(fast.stderr), args
