"""Real Postgres and Redis for the tests: found on the standard ports, or failing loudly in CI."""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import urlsplit

import pytest

PG_ADMIN_URL = os.environ.get("TASKLY_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TASKLY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


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
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def asyncpg_url(url: str, database: str) -> str:
    parts = urlsplit(url)
    return parts._replace(scheme="postgresql+asyncpg", path=f"/{database}").geturl()


def create_database(prefix: str = "taskly_test") -> tuple[str, str]:
    """A fresh, migrated database; returns (name, asyncpg URL)."""
    import psycopg
    from taskly_server.db.session import migrate

    require(PG_ADMIN_URL, 5432, "PostgreSQL")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = asyncpg_url(PG_ADMIN_URL, name)
    migrate(url)
    return name, url


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
