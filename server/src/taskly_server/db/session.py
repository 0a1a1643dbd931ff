"""Engine, session factory and migrations."""

from __future__ import annotations

import asyncio
import re
import weakref
from pathlib import Path
from typing import Any

import asyncpg
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
    engine = create_async_engine(
        url, pool_size=pool_size, max_overflow=0, pool_pre_ping=False, pool_recycle=1800,
        pool_timeout=connect_timeout, connect_args=connect_args,
    )
    _DRIVER_POOLS[engine] = DriverPool(engine, min(pool_size, DriverPool.SIZE), connect_args)
    return engine


_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")


class _ReadConnection(asyncpg.Connection):
    """A connection of `DriverPool`: released without a reset statement (the reads there set
    nothing, listen to nothing and take no advisory lock), which saved a round trip per read."""

    def get_reset_query(self) -> str:
        return ""


class DriverPool:
    """Connections straight on asyncpg beside an engine's pool, for the reads that are one
    statement (lib/rendered.py's `fetch`): checking one out costs a fraction of a SQLAlchemy
    connection's (no Connection object, no greenlet), and asyncpg keeps each statement prepared
    per connection. Opened on first use with the engine's URL and timeouts; idle ones close."""

    SIZE = 10
    """Connections at most (fewer when the engine's pool is smaller): each read holds one for one
    statement, so a process seldom needs more than a few."""
    IDLE_SECONDS = 30.0

    def __init__(self, engine: AsyncEngine, size: int, connect_args: dict[str, Any]) -> None:
        self._url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._size, self._connect_args = size, connect_args
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        pool = self._pool or await self._open()
        # No timeout of its own (asyncio's wait_for costs more than the rest of the checkout): the
        # request's deadline bounds the wait for a connection.
        async with pool.acquire() as connection:
            return await connection.fetch(query, *args)

    async def fetch_in_snapshot(self, snapshot: str, query: str, *args: object) -> Any:
        """The first value of one statement in a read-only REPEATABLE READ transaction that sees
        what the transaction that exported `snapshot` (`pg_export_snapshot()`) sees."""
        if not _SNAPSHOT_ID.fullmatch(snapshot):
            raise ValueError(f"not a snapshot id: {snapshot!r}")
        pool = self._pool or await self._open()
        async with pool.acquire() as connection, connection.transaction(
                isolation="repeatable_read", readonly=True):
            await connection.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            return await connection.fetchval(query, *args)

    async def _open(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._url, min_size=0, max_size=self._size,
                    max_inactive_connection_lifetime=self.IDLE_SECONDS,
                    connection_class=_ReadConnection, **self._connect_args)
            return self._pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()


_DRIVER_POOLS: weakref.WeakKeyDictionary[AsyncEngine, DriverPool] = weakref.WeakKeyDictionary()


def driver_pool(engine: AsyncEngine) -> DriverPool | None:
    """The driver's pool beside `engine` (None for an engine `create_engine` did not make)."""
    return _DRIVER_POOLS.get(engine)


async def dispose(engine: AsyncEngine) -> None:
    """Close the engine's connections and its driver pool's."""
    pool = _DRIVER_POOLS.get(engine)
    if pool is not None:
        await pool.close()
    await engine.dispose()


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
