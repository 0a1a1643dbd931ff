"""The import arrows of the root pyproject's import-linter contracts hold (`lint-imports`), and the
CLI's imports form no cycle, counting the ones under `if TYPE_CHECKING:` and inside functions."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

from tests.support.processes import BIN, ROOT

CLI_SRC = ROOT / "cli" / "src"


def test_import_contracts_are_kept() -> None:
    result = subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = re.search(r"Contracts: (\d+) kept, (\d+) broken", result.stdout)
    assert summary is not None, result.stdout
    kept, broken = map(int, summary.groups())
    assert broken == 0 and kept >= 3, result.stdout
    for contract in ("shared depends on nothing of ours", "cli and server never import each other"):
        assert f"{contract} KEPT" in result.stdout


def cli_modules() -> dict[str, Path]:
    """Every module of the CLI by dotted name (a package by its `__init__.py`)."""
    modules = {}
    for path in sorted((CLI_SRC / "taskly").rglob("*.py")):
        parts = path.relative_to(CLI_SRC).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The CLI modules `name` imports anywhere in its file: at the top, in functions, under
    TYPE_CHECKING. `from pkg import x` is an edge to `pkg.x` when that is a module, else to `pkg`."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0]
                base = f"{anchor}.{base}" if base else anchor
            targets = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path back to its start) per back edge of a depth-first walk."""
    cycles: list[list[str]] = []
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> None:
        path.append(module)
        for target in sorted(graph[module]):
            if target in path:
                cycles.append([*path[path.index(target):], target])
            elif target not in done:
                visit(target)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        if module not in done:
            visit(module)
    return cycles


def test_no_import_cycles_in_the_cli() -> None:
    modules = cli_modules()
    graph = {name: imports_of(name, path, modules) for name, path in modules.items()}
    # The walk sees what it must: a runtime import, a deferred one, one under TYPE_CHECKING.
    assert "taskly.tui.screens.board" in graph["taskly.tui.app"]
    assert "taskly.tui.app" in graph["taskly.tui.run"]
    assert "taskly.core.context" in graph["taskly.auth.actions"]
    cycles = find_cycles(graph)
    assert not cycles, "import cycles in the CLI:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_the_cli_top_level_holds_only_the_entry_point_and_packages() -> None:
    top = CLI_SRC / "taskly"
    modules = sorted(path.name for path in top.glob("*.py"))
    assert modules == ["__init__.py", "main.py"], modules
    packages = [path for path in top.iterdir() if path.is_dir() and path.name != "__pycache__"]
    assert packages and all((package / "__init__.py").exists() for package in packages)
