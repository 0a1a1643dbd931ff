"""What migrations call to create SQL functions from their frozen copies.

A migration that creates or replaces functions reads them from its own frozen copies,
`migrations/sql/<revision>/<name>.sql`, never from the current `db/sql/<name>.sql`: a later edit of
a function must not change what an old migration did. `taskly_server.db.freeze` writes those
copies and the migrations that use them. Keep this module small and its behaviour fixed: every
migration that creates a function goes through it.
"""

from __future__ import annotations

from pathlib import Path

from alembic import context, op


def frozen_path(revision: str, name: str) -> Path:
    """The frozen copy of function `name` in `revision`, in the migrations being run."""
    return Path(context.script.dir) / "sql" / revision / f"{name}.sql"


def create_functions(revision: str, *names: str) -> None:
    """Run each function's frozen copy of `revision`, in the order given.

    The text goes to the driver as it is (no bind parameters, no `%` escaping), so a `:name` or a
    `%` in a function body or comment means what it means to Postgres.
    """
    for name in names:
        statement = frozen_path(revision, name).read_text()
        if context.is_offline_mode():  # `alembic upgrade --sql`: print the statement
            op.get_context().impl.static_output(statement.rstrip() + "\n")
        else:
            op.get_bind().exec_driver_sql(statement, execution_options={"no_parameters": True})
