"""One mechanism per kind of change, read off the server's source: an existing card changes column
only in `taskly_move_cards`, and Change rows are numbered and written only in
`taskly_record_changes` (db/sql). A second writer would have to get past these greps.

Frozen copies of old functions (db/migrations) are history and not read.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import taskly_server

SERVER = Path(taskly_server.__file__).parent
SQL = SERVER / "db" / "sql"

_UPDATE_CARDS = re.compile(r"UPDATE\s+cards\b(?:(?!;|\bWHERE\b).)*", re.IGNORECASE | re.DOTALL)
_SEQ_TAKEN = re.compile(r"UPDATE\s+workspaces\s+SET\s+seq\b", re.IGNORECASE)
_CHANGES_INSERTED = re.compile(r"INSERT\s+INTO\s+changes\b", re.IGNORECASE)


def _sources() -> dict[str, str]:
    """Server code by path: the Python modules and the current SQL functions."""
    paths = [p for p in SERVER.rglob("*.py") if "migrations" not in p.parts]
    paths += sorted(SQL.glob("*.sql"))
    return {str(p.relative_to(SERVER)): p.read_text(encoding="utf-8") for p in sorted(paths)}


def _found(pattern: re.Pattern[str]) -> list[str]:
    return [path for path, text in _sources().items() for _ in pattern.finditer(text)]


def test_one_statement_changes_a_cards_column() -> None:
    writers = [path for path, text in _sources().items() for match in _UPDATE_CARDS.finditer(text)
               if re.search(r"\bcolumn_id\b", match.group())]
    assert writers == ["db/sql/taskly_move_cards.sql"], (
        "an existing card changes column only through taskly_move_cards "
        "(domain/cards/placement.py): " + ", ".join(writers))


def test_no_python_sets_a_cards_column() -> None:
    """No `x.column_id = ...` (nor `setattr`), no `.values(column_id=...)`, and `Card(column_id=...)`
    only where a card is created."""
    found = []
    for path, text in _sources().items():
        if not path.endswith(".py"):
            continue
        for node in ast.walk(ast.parse(text)):
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            for target in targets:
                for part in ast.walk(target):
                    if isinstance(part, ast.Attribute) and part.attr == "column_id":
                        found.append(f"{path}:{node.lineno} assigns .column_id")
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name == "setattr" and any(isinstance(a, ast.Constant) and a.value == "column_id"
                                         for a in node.args):
                found.append(f"{path}:{node.lineno} setattr column_id")
            if any(k.arg == "column_id" for k in node.keywords) and name in ("values", "update", "Card"):
                found.append(f"{path}:{node.lineno} {name}(column_id=...)")
    assert found == [f"domain/cards/services.py:{_card_creation_line()} Card(column_id=...)"], found


def _card_creation_line() -> int:
    """The line of `Card(...)` in `CardService.create_on` (what `create` and the recurrence rule's
    next card go through): the one place a card gets its first column."""
    tree = ast.parse((SERVER / "domain" / "cards" / "services.py").read_text(encoding="utf-8"))
    create = next(n for n in ast.walk(tree) if isinstance(n, ast.AsyncFunctionDef) and n.name == "create_on")
    return next(n.lineno for n in ast.walk(create) if isinstance(n, ast.Call)
                and getattr(n.func, "id", "") == "Card")


def test_one_function_numbers_and_writes_the_change_feed() -> None:
    assert _found(_SEQ_TAKEN) == ["db/sql/taskly_record_changes.sql"]
    assert _found(_CHANGES_INSERTED) == ["db/sql/taskly_record_changes.sql"]
    python = {path: text for path, text in _sources().items() if path.endswith(".py")}
    assert [p for p, text in python.items() if re.search(r"insert\(\s*Change\b|Workspace\.seq\s*\+", text)] == []
