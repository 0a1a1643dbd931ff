"""Engine, session factory and migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

MIGRATIONS = Path(__file__).parent / "migrations"


def create_engine(url: str, pool_size: int = 20, *, connect_timeout: float = 30.0,
                  statement_timeout: float | None = None) -> AsyncEngine:
    """`pool_size` connections at most, all kept: requests beyond them wait for one.

    No overflow: under a load above the pool size, overflow connections were closed and opened
    again all the time, each new one costing ~20 ms of server CPU (connect, type setup, and
    preparing every statement again).

    Nothing waits on the database without end: opening a connection and waiting for a pooled
    one give up after `connect_timeout` seconds, and a statement after `statement_timeout`
    (PostgreSQL cancels it; asyncpg stops waiting a second later if the database went silent,
    which also bounds the rollback of a request cancelled at its deadline).
    """
    connect_args: dict[str, Any] = {"timeout": connect_timeout}
    if statement_timeout is not None:
        connect_args["command_timeout"] = statement_timeout + 1
        connect_args["server_settings"] = {"statement_timeout": str(round(statement_timeout * 1000))}
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=0, pool_pre_ping=False, pool_recycle=1800,
        pool_timeout=connect_timeout, connect_args=connect_args,
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision` (blocking; call from a thread inside an event loop)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("postgresql://")).get_current_head()
