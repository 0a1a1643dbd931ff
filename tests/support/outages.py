"""A PostgreSQL cluster and a Redis server of the test's own, to stop, freeze and start again.

    with ThrowawayPostgres.create() as pg:        # initdb + pg_ctl on a free port, migrated
        pg.url                                     # postgresql+asyncpg://postgres@127.0.0.1:PORT/postgres
        pg.stop(); pg.start()                      # an outage and its end
        pg.freeze(); pg.thaw()                     # SIGSTOP / SIGCONT the postmaster and its backends
    with ThrowawayRedis.start() as redis:
        redis.url; redis.stop(); redis.restart()   # same port, empty data

Nothing here touches the machine's shared Postgres (5432) or Redis (6379): only processes these
objects started themselves, found by the pid files they wrote.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

from tests.support.processes import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(command: list[str]) -> list[str]:
    """Postgres refuses to run as root: run its tools as the `postgres` system user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class ThrowawayPostgres:
    """initdb + pg_ctl into a temporary directory, listening on 127.0.0.1 on a free port."""

    def __init__(self, base: Path, port: int) -> None:
        self.base, self.port = base, port
        self.data = base / "data"
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
        self.libpq_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        self._frozen: list[psutil.Process] = []

    @classmethod
    def create(cls, migrate: bool = True) -> ThrowawayPostgres:
        if not (PG_BIN / "initdb").exists():
            import pytest

            pytest.skip(f"no PostgreSQL binaries in {PG_BIN}")
        base = Path(tempfile.mkdtemp(prefix="taskly-outage-pg-", dir="/tmp"))
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(base, user.pw_uid, user.pw_gid)
        pg = cls(base, free_port())
        subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(pg.data), "-U", "postgres",
                                     "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"]),
                       check=True, capture_output=True)
        pg.start()
        if migrate:
            from taskly_server.db.session import migrate as apply_migrations

            apply_migrations(pg.url)
        return pg

    def __enter__(self) -> ThrowawayPostgres:
        return self

    def __exit__(self, *_: object) -> None:
        self.destroy()

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l",
                                     str(self.base / "postgres.log"), "-w", "-t", "30", "-o", options,
                                     "start"]), check=True, capture_output=True)

    def stop(self, mode: str = "fast") -> None:
        self.thaw()
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w",
                                     "-t", "30", "stop"]), check=True, capture_output=True)

    def postmaster(self) -> psutil.Process | None:
        try:
            pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
            return psutil.Process(pid)
        except (OSError, ValueError, IndexError, psutil.NoSuchProcess):
            return None

    def freeze(self) -> None:
        """SIGSTOP the postmaster (no new connection gets through its start-up) and every backend
        (a frozen postmaster alone leaves the open connections answering)."""
        postmaster = self.postmaster()
        assert postmaster is not None, "postgres is not running"
        postmaster.send_signal(signal.SIGSTOP)
        self._frozen = [postmaster]
        for child in postmaster.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                child.send_signal(signal.SIGSTOP)
                self._frozen.append(child)

    def thaw(self) -> None:
        for process in reversed(self._frozen):
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGCONT)
        self._frozen = []

    def destroy(self) -> None:
        self.thaw()
        if self.postmaster() is not None:
            try:
                self.stop("immediate")
            except subprocess.CalledProcessError:
                postmaster = self.postmaster()
                if postmaster is not None:
                    postmaster.kill()
        shutil.rmtree(self.base, ignore_errors=True)


class ThrowawayRedis:
    """`redis-server` on a free port, no persistence; `stop` and `restart` keep the port."""

    def __init__(self, base: Path, port: int) -> None:
        self.base, self.port = base, port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    @classmethod
    def start(cls) -> ThrowawayRedis:
        if shutil.which("redis-server") is None:
            import pytest

            pytest.skip("redis-server is not installed")
        redis = cls(Path(tempfile.mkdtemp(prefix="taskly-outage-redis-", dir="/tmp")), free_port())
        redis.restart()
        return redis

    def __enter__(self) -> ThrowawayRedis:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def restart(self, timeout: float = 10) -> None:
        """Start it (again, empty) and wait until it answers PING."""
        assert self.process is None or self.process.poll() is not None, "redis is running"
        log = (self.base / "redis.log").open("ab")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.base)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        import redis as redis_py

        client = redis_py.Redis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            while True:
                try:
                    if client.ping():
                        return
                except redis_py.exceptions.ConnectionError:
                    pass
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"redis did not start: {(self.base / 'redis.log').read_text()}")
                time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
