"""Which exceptions mean "a dependency is failing" (503 `service_unavailable`), and which do not."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import asyncpg
import psycopg
import psycopg_pool
import pytest
import redis.exceptions
from sqlalchemy.exc import DBAPIError, InterfaceError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from taskly_server.errors import failing_dependency, to_problem_details


class DriverError(Exception):
    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def wrapped(orig: BaseException, *, invalidated: bool = False) -> DBAPIError:
    """A driver error as SQLAlchemy raises it (`raise DBAPIError(...) from orig`)."""
    error = DBAPIError("SELECT 1", {}, orig, connection_invalidated=invalidated)
    error.__cause__ = orig
    return error


def caused(error: BaseException, cause: BaseException) -> BaseException:
    error.__cause__ = cause
    return error


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def raised(connect: Callable[[], Awaitable[object]]) -> BaseException:
    """What a driver raises, with its traceback (a refused connection on loopback: no server)."""
    try:
        asyncio.run(connect())
    except Exception as exc:  # the exception is the result
        return exc
    raise AssertionError("it connected")


def test_raw_socket_errors_count_when_a_driver_raised_them() -> None:
    port = closed_port()
    refused = raised(lambda: asyncpg.connect(host="127.0.0.1", port=port, user="x", timeout=2))
    assert isinstance(refused, ConnectionRefusedError) and failing_dependency(refused) == "database"
    no_socket = raised(lambda: asyncpg.connect(host="/nonexistent-taskly-dir", user="x", timeout=2))
    assert isinstance(no_socket, FileNotFoundError) and failing_dependency(no_socket) == "database"
    from redis.asyncio import Redis

    async def ping() -> object:
        async with Redis(port=port, socket_connect_timeout=1, retry=None) as client:
            return await client.ping()

    assert failing_dependency(raised(ping)) == "redis"
    # the same errors raised by our own code (reading a file, say) are not a dependency failing
    assert failing_dependency(ConnectionRefusedError(111, "refused")) is None
    assert failing_dependency(FileNotFoundError(2, "no such file")) is None


@pytest.mark.parametrize("error, dependency", [
    (PoolTimeout("QueuePool limit of size 20 overflow 0 reached"), "database"),
    (wrapped(DriverError("canceling statement due to statement timeout", "57014")), "database"),
    (wrapped(DriverError("terminating connection due to administrator command", "57P01")), "database"),
    (wrapped(DriverError("too many connections", "53300")), "database"),
    (wrapped(DriverError("connection is closed"), invalidated=True), "database"),
    (InterfaceError("SELECT 1", {}, DriverError("x")), None),
    (caused(InterfaceError("SELECT 1", {}, DriverError("x")), asyncpg.InterfaceError("connection is closed")),
     "database"),
    (asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
     "database"),
    (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), "database"),
    (psycopg.OperationalError("connection failed"), "database"),
    (psycopg_pool.PoolTimeout("couldn't get a connection after 30 sec"), "database"),
    (redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379."), "redis"),
    (redis.exceptions.TimeoutError("Timeout reading from socket"), "redis"),
    (ExceptionGroup("tasks", [redis.exceptions.ConnectionError("x")]), "redis"),
    # the request's own fault, or a bug: never a 503
    (wrapped(DriverError("invalid byte sequence", "22021")), None),
    (wrapped(DriverError("duplicate key value", "23505")), None),
    (asyncpg.DataError("invalid input for query argument $1"), None),
    (asyncpg.InterfaceError("cannot perform operation: another operation is in progress"), None),
    (ValueError("nope"), None),
    (ExceptionGroup("tasks", [redis.exceptions.ConnectionError("x"), KeyError("y")]), None),
])
def test_failing_dependency(error: BaseException, dependency: str | None) -> None:
    assert failing_dependency(error) == dependency


def test_a_failing_dependency_is_a_503_with_retry_after() -> None:
    problem = to_problem_details(wrapped(DriverError("connection is closed"), invalidated=True))
    assert problem.status_code == 503 and problem.extra == {"code": "service_unavailable"}
    assert int(problem.headers["Retry-After"]) > 0
    assert problem.detail == "the database is unavailable; try again shortly"
    assert to_problem_details(wrapped(DriverError("bad", "22P02"))).status_code == 422
    assert to_problem_details(RuntimeError("bug")).status_code == 500


def test_a_deadlock_that_outlasts_the_retries_is_a_503_not_a_500() -> None:
    """lib/mutation.py retries a write on a deadlock or serialization failure; one that still fails
    (contention on a busy card) is the database being busy: 503 with a short Retry-After."""
    for sqlstate in ("40P01", "40001"):
        problem = to_problem_details(wrapped(DriverError("deadlock detected", sqlstate)))
        assert problem.status_code == 503 and problem.extra == {"code": "service_unavailable"}
        assert problem.headers["Retry-After"] == "1"
