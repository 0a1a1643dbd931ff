"""A server and separate `taskly-server worker` processes on a database of their own, with the
controllable clock of the reminders cron and the feed consumers, for the consumer tests.

    stack = ConsumerStack.start(tmp, database_url)         # one worker; workers=3 for three
    stack.set_now(datetime(2027, 1, 4, 8, 59, tzinfo=UTC))  # what the cron and consumers take as now
    stack.wait_caught_up()                                 # every consumer's cursor at its head
    stack.sql("SELECT ...", {...})                          # read the database directly
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import SECRET  # tests/support/github_webhooks.py seals webhook secrets with it
from tests.support.api import Api
from tests.support.processes import ServerProcess, WorkerProcess, start_server, start_worker
from tests.support.services import create_database, drop_database

LAGGING = """
SELECT c.name, w.id, coalesce(cc.seq, 0), w.seq FROM feed_consumers c CROSS JOIN workspaces w
LEFT JOIN consumer_cursors cc ON cc.consumer = c.name AND cc.workspace_id = w.id
WHERE w.deleted_at IS NULL AND w.seq > coalesce(cc.seq, 0)
"""


def libpq(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture(scope="module")
def consumer_database() -> Iterator[str]:
    name, url = create_database("taskly_consumers")
    yield url
    drop_database(name)


@dataclass
class ConsumerStack:
    server: ServerProcess
    database_url: str
    env: dict[str, str]
    log_dir: Path
    clock: Path
    workers: list[WorkerProcess] = field(default_factory=list)

    @classmethod
    def start(cls, log_dir: Path, database_url: str, *, workers: int = 1, redis_url: str | None = None,
              extra_env: dict[str, str] | None = None) -> ConsumerStack:
        clock = log_dir / "now"
        clock.write_text("")
        env = {"TASKLY_DATABASE_URL": database_url, "TASKLY_SECRET_KEY": SECRET, "TASKLY_DEV_LOGIN": "1",
               "TASKLY_QUEUE_NAME": f"cons-{uuid.uuid4().hex[:10]}", "TASKLY_WORKER_IN_PROCESS": "false",
               "TASKLY_TEST_CLOCK_FILE": str(clock), **(extra_env or {})}
        if redis_url:
            env["TASKLY_REDIS_URL"] = redis_url
        stack = cls(start_server(env, log_dir), database_url, env, log_dir, clock)
        for _ in range(workers):
            stack.start_worker()
        return stack

    @property
    def url(self) -> str:
        return self.server.url

    def login(self, username: str | None = None) -> Api:
        return Api.login(self.url, username)

    def start_worker(self, extra_env: dict[str, str] | None = None, wait: bool = True) -> WorkerProcess:
        env: dict[str, str | None] = {"TASKLY_REDIS_URL": None, **self.env, **(extra_env or {})}
        log_path = self.log_dir / f"worker-{len(self.workers)}-{uuid.uuid4().hex[:4]}.log"
        if wait:
            worker = start_worker(env, log_path)
        else:  # it may exit before it says it started (the crash hook)
            import os
            import subprocess

            from tests.support.processes import BIN

            full = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
            with log_path.open("wb") as log:
                process = subprocess.Popen([str(BIN / "taskly-server"), "worker"], env=full, stdout=log,
                                           stderr=subprocess.STDOUT)
            worker = WorkerProcess(process, log_path)
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.server.stop()

    def set_now(self, moment: datetime | None) -> None:
        """What the cron job and the consumers take as now (None: the real clock)."""
        self.clock.write_text("" if moment is None else moment.isoformat())

    def sql(self, query: str, params: dict[str, Any] | None = None) -> list[tuple]:
        with psycopg.connect(libpq(self.database_url), autocommit=True) as conn:
            cursor = conn.execute(query, params or {})
            return cursor.fetchall() if cursor.description else []

    def lagging(self) -> list[tuple]:
        return self.sql(LAGGING)

    def wait_caught_up(self, timeout: float = 30) -> None:
        """Until every consumer has handled every workspace's changes (registered first)."""
        deadline = time.monotonic() + timeout
        while not self.sql("SELECT 1 FROM feed_consumers") or self.lagging():
            if time.monotonic() > deadline:
                raise AssertionError(f"consumers behind after {timeout} s: {self.lagging()}\n"
                                     + "\n".join(w.log()[-2000:] for w in self.workers))
            time.sleep(0.05)


def wait_until(check: Any, timeout: float = 30, what: str = "condition") -> Any:
    """`check()` once it is truthy (polled every 50 ms); fails the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met after {timeout} s (last: {value!r})")
        time.sleep(0.05)
