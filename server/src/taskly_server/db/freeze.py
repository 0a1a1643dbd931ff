"""The migration for changed SQL functions: `taskly-server sql migration "message"`.

PL/pgSQL is source code. Each function's current text is `db/sql/<name>.sql`: a header of `--`
comments (what it is, which Python it mirrors, which test holds them together), then one
`CREATE OR REPLACE FUNCTION <name>(...) ... AS $$ ... $$;`. A migration runs frozen copies,
`db/migrations/sql/<revision>/<name>.sql` (through `db.functions.create_functions`), and never
`db/sql/`, so a later edit does not rewrite history. Changing a function is a one-file diff plus a
generated migration:

    $EDITOR server/src/taskly_server/db/sql/taskly_move_cards.sql
    uv run taskly-server sql migration "cards: one move mechanism"
    uv run taskly-server migrate   (the tests migrate their fresh databases themselves)

(or `uv run python -m taskly_server.db.freeze "message"`). It compares each file's statement (the
header comments aside) with the function's newest frozen copy along the Alembic chain and, when
some differ, writes `versions/<next number>_<message>.py` (down_revision: the current head) and
the frozen copies `migrations/sql/<next number>/<name>.sql` of the changed files:

- a body changed: the upgrade runs the new copy (CREATE OR REPLACE), the downgrade the previous one;
- the arguments or return type changed (CREATE OR REPLACE cannot do that): DROP FUNCTION of the
  old signature before creating, and of the new one before restoring in the downgrade;
- a new file: created; dropped in the downgrade;
- a file deleted: DROP FUNCTION, with a comments-only frozen copy (a tombstone) so the next run
  knows; the downgrade restores the previous copy.

Functions are created after those they mention (Postgres checks LANGUAGE sql bodies at creation).
When nothing changed it writes nothing. It writes into the source tree (the workspace is installed
editable); review and commit the revision file and the frozen copies with the .sql change.
tests/server/test_sql_functions.py fails while a db/sql file differs from its newest frozen copy,
and checks that the migrated database's functions are exactly those of db/sql.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

SQL = Path(__file__).parent / "sql"
"""Current texts: `<name>.sql`, one function each."""
MIGRATIONS = Path(__file__).parent / "migrations"
"""Alembic's script directory: `versions/*.py`, and the frozen copies in `sql/<revision>/`."""
COMMAND = 'uv run taskly-server sql migration "<what changed>"'

_CREATE = re.compile(r"CREATE\s+OR\s+REPLACE\s+FUNCTION\s+([\w.]+)\s*\(", re.IGNORECASE)
_RETURNS = re.compile(r"\s*RETURNS\s+", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"\b(LANGUAGE|AS|IMMUTABLE|STABLE|VOLATILE|STRICT|CALLED|RETURNS\s+NULL|"
                        r"SECURITY|EXTERNAL|PARALLEL|COST|ROWS|SUPPORT|SET|WINDOW|LEAKPROOF|NOT|"
                        r"TRANSFORM)\b", re.IGNORECASE)
_BODY = re.compile(r"\bAS\s+(\$\w*\$)(.*?)\1", re.IGNORECASE | re.DOTALL)
_DEFAULT = re.compile(r"\s+DEFAULT\s.*|\s*=.*", re.IGNORECASE | re.DOTALL)


class FreezeError(Exception):
    """A function file or the migration chain is not as this module needs it."""


@dataclass(frozen=True)
class Function:
    """One function file, current or frozen; `statement` is empty for a tombstone."""

    name: str
    text: str
    statement: str = ""
    arguments: str = ""
    returns: str = ""
    body: str = ""

    @property
    def signature(self) -> str:
        """`name(arg type, ...)` as DROP FUNCTION takes it: defaults left out."""
        arguments = [_DEFAULT.sub("", a).strip() for a in _split(self.arguments)]
        return _squeeze(f"{self.name}({', '.join(a for a in arguments if a)})")

    @property
    def shape(self) -> str:
        """Arguments and return type, normalised: when it changes, CREATE OR REPLACE cannot."""
        return re.sub(r"\s*([(),\[\]])\s*", r"\1", _squeeze(f"({self.arguments}) {self.returns}")).lower()


def parse(name: str, text: str) -> Function:
    """The function in `<name>.sql`; raises FreezeError when it is not one dollar-quoted function."""
    lines = text.splitlines()
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
        lines.pop(0)
    statement = "\n".join(lines).rstrip()
    if not statement:
        return Function(name, text)
    create = _CREATE.match(statement)
    if not create:
        raise FreezeError(f"{name}.sql: after the header comments, expected "
                          f"CREATE OR REPLACE FUNCTION {name}(...)")
    if create.group(1) != name:
        raise FreezeError(f"{name}.sql defines {create.group(1)}: one function per file, named as it")
    arguments, end = _parenthesised(statement, create.end() - 1)
    returns = _RETURNS.match(statement, end)
    if not returns:
        raise FreezeError(f"{name}.sql: expected RETURNS after the arguments")
    rest = statement[returns.end():]
    if rest[:5].upper() == "TABLE":
        result = f"TABLE ({_parenthesised(rest, rest.find('('))[0]})"
    else:
        attribute = _ATTRIBUTE.search(rest)
        result = rest[:attribute.start() if attribute else len(rest)].strip()
    body = _BODY.search(statement, end)
    if not body:
        raise FreezeError(f"{name}.sql: write the body dollar-quoted: AS $$ ... $$")
    tail = re.sub(r"--[^\n]*", "", statement[body.end():]).strip()
    if ";" in tail.rstrip(";"):
        raise FreezeError(f"{name}.sql: one statement per file (found more after the body)")
    return Function(name, text, statement, arguments, result, body.group(2))


def current(sql: Path = SQL) -> dict[str, Function]:
    """The functions of `db/sql/`, by name."""
    return {p.stem: parse(p.stem, p.read_text()) for p in sorted(sql.glob("*.sql"))}


def frozen(migrations: Path = MIGRATIONS) -> dict[str, tuple[str, Function]]:
    """Each function's newest frozen copy along the chain, by name: (revision, function)."""
    newest: dict[str, tuple[str, Function]] = {}
    for revision in _chain(migrations):
        for path in sorted((migrations / "sql" / revision).glob("*.sql")):
            newest[path.stem] = (revision, parse(path.stem, path.read_text()))
    return newest


def stale(sql: Path = SQL, migrations: Path = MIGRATIONS) -> list[str]:
    """What differs from its newest frozen copy, one line each; empty when all is frozen."""
    return [_describe(name, old, new) for name, old, new in _changes(sql, migrations)]


def write_migration(message: str, sql: Path = SQL, migrations: Path = MIGRATIONS,
                    now: datetime | None = None) -> Path | None:
    """Write the next revision for the functions that changed, and their frozen copies.

    Returns the revision file, or None (writing nothing) when every file matches its copy.
    """
    changes = _changes(sql, migrations)
    if not changes:
        return None
    chain = _chain(migrations)
    head = chain[-1]
    numbers = [int(r) for r in chain if r.isdigit()]
    if not numbers:
        raise FreezeError("no numbered revision to follow")
    revision = str(max(numbers) + 1).zfill(len(head))
    folder = migrations / "sql" / revision
    if folder.exists() or list((migrations / "versions").glob(f"{revision}_*.py")):
        raise FreezeError(f"revision {revision} has files already (left from a removed migration?): "
                          f"{folder} or versions/{revision}_*.py")

    upgrade = [f"op.execute({f'DROP FUNCTION {old[1].signature}'!r})"
               for _, old, new in changes if _reshaped(old, new)]
    upgrade += [f"create_functions({revision!r}, {name!r})"
                for name in _ordered({n: new for n, _, new in changes if new})]
    downgrade = [f"op.execute({f'DROP FUNCTION {new.signature}'!r})"
                 for _, old, new in changes if new and (not old or _reshaped(old, new))]
    restored = {name: old for name, old, _ in changes if old}
    downgrade += [f"create_functions({restored[name][0]!r}, {name!r})"
                  for name in _ordered({n: old[1] for n, old in restored.items()})]

    folder.mkdir(parents=True)
    for name, _, new in changes:
        tombstone = f"-- {name}: dropped by revision {revision} ({_squeeze(message)}).\n"
        (folder / f"{name}.sql").write_text(new.text if new else tombstone)
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40].rstrip("_") or "functions"
    path = migrations / "versions" / f"{revision}_{slug}.py"
    path.write_text(_TEMPLATE.format(
        message=_squeeze(message).replace("\\", "\\\\").replace('"""', "'''"),
        summary="\n".join(f"- {_describe(*change)}" for change in changes),
        revision=revision, head=head,
        date=(now or datetime.now()).strftime("%Y-%m-%d %H:%M:%S"),
        upgrade="\n".join(f"    {line}" for line in upgrade),
        downgrade="\n".join(f"    {line}" for line in downgrade)))
    return path


_TEMPLATE = '''"""{message}

{summary}

Generated by `taskly-server sql migration` (taskly_server.db.freeze) from db/sql/: the functions'
texts are frozen in migrations/sql/{revision}/. Edit db/sql/<name>.sql, never a frozen copy.

Revision ID: {revision}
Revises: {head}
Create Date: {date}

"""
from typing import Sequence, Union

from alembic import op

from taskly_server.db.functions import create_functions

revision: str = {revision!r}
down_revision: Union[str, Sequence[str], None] = {head!r}
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''

Change = tuple[str, tuple[str, Function] | None, Function | None]
"""(name, its newest frozen copy as (revision, function) unless none or a tombstone, the current)."""


def _changes(sql: Path, migrations: Path) -> list[Change]:
    now, newest = current(sql), frozen(migrations)
    changes: list[Change] = []
    for name in sorted(now.keys() | newest.keys()):
        old = newest.get(name)
        if old and not old[1].statement:
            old = None  # a tombstone: dropped
        new = now.get(name)
        if (old[1].statement if old else None) != (new.statement if new else None):
            changes.append((name, old, new))
    return changes


def _describe(name: str, old: tuple[str, Function] | None, new: Function | None) -> str:
    if not new:
        return f"{name}: dropped (db/sql/{name}.sql was deleted; frozen in {old and old[0]})"
    if not old:
        return f"{name}: created"
    if _reshaped(old, new):
        return f"{name}: dropped and created (its arguments or return type changed since {old[0]})"
    return f"{name}: replaced (its text changed since {old[0]})"


def _reshaped(old: tuple[str, Function] | None, new: Function | None) -> bool:
    """Whether the old signature must be dropped: the function is gone or changed shape."""
    return bool(old) and (not new or old[1].shape != new.shape)


def _ordered(functions: dict[str, Function]) -> list[str]:
    """Names in an order where a function comes after those of the others it mentions."""
    mentions = {name: {other for other in functions
                       if other != name and re.search(rf"\b{re.escape(other)}\b", f.statement)}
                for name, f in functions.items()}
    order: list[str] = []
    while mentions:
        ready = [n for n, needs in mentions.items() if not needs & mentions.keys()]
        name = min(ready or mentions)  # a cycle (PL/pgSQL allows it): alphabetical
        order.append(name)
        del mentions[name]
    return order


def _chain(migrations: Path) -> list[str]:
    """Revision ids from the first to the head; raises FreezeError unless there is one head."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(migrations))
    heads = script.get_heads()
    if len(heads) != 1:
        raise FreezeError(f"the migrations have {len(heads)} heads ({', '.join(heads)}): "
                          "merge them first (alembic merge)")
    return [s.revision for s in reversed(list(script.walk_revisions()))]


def _parenthesised(text: str, start: int) -> tuple[str, int]:
    """The text inside the parenthesis opening at `start`, and the index after it closes."""
    if start < 0 or text[start] != "(":
        raise FreezeError(f"expected a parenthesis in {text[:60]!r}")
    depth = 0
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return text[start + 1:i], i + 1
    raise FreezeError(f"unbalanced parentheses in {text[:60]!r}")


def _split(arguments: str) -> list[str]:
    """Arguments at the top level's commas (not those of a type's modifiers)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(arguments):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(arguments[start:i])
            start = i + 1
    return [*parts, arguments[start:]]


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def main(argv: list[str] | None = None) -> int:
    """`python -m taskly_server.db.freeze MESSAGE`, as `taskly-server sql migration MESSAGE`."""
    parser = argparse.ArgumentParser(prog="taskly-server sql migration", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("message", help="the migration's summary line, e.g. 'cards: one move'")
    return run(parser.parse_args(argv).message)


def run(message: str) -> int:
    """Write the migration, say what it does; 1 when a file or the chain is not as needed."""
    try:
        changes = stale()
        path = write_migration(message)
    except FreezeError as exc:
        print(f"taskly-server: {exc}", file=sys.stderr)
        return 1
    if path is None:
        print("db/sql matches its frozen copies: no migration written", file=sys.stderr)
        return 0
    revision = path.name.split("_", 1)[0]
    print(f"wrote {path}\nand {MIGRATIONS / 'sql' / revision}/:", file=sys.stderr)
    for line in changes:
        print(f"- {line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
