"""Real server processes on loopback, started and stopped by the tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RATE_LIMITS_OFF = {"TASKLY_RATE_LIMIT_USER": "0", "TASKLY_RATE_LIMIT_IP": "0"}
"""The suite and the benchmarks send far more than 100 requests a minute per user through one
server: `start_server` turns the limits off unless `env` sets them (tests/server/test_rate_limits.py)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServerProcess:
    process: subprocess.Popen
    url: str
    log_path: Path

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_server(env: dict[str, str], log_dir: Path, port: int | None = None,
                 args: tuple[str, ...] = (), ready_timeout: float = 30) -> ServerProcess:
    """`taskly-server run` as a subprocess; returns once /health/ready answers 200."""
    port = port or free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"server-{port}.log"
    full_env = {**os.environ, **RATE_LIMITS_OFF, **env}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(BIN / "taskly-server"), "run", "--host", "127.0.0.1", "--port", str(port), *args],
            env=full_env, stdout=log, stderr=subprocess.STDOUT, cwd=log_dir,
        )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"taskly-server exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/health/ready", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"taskly-server did not become ready:\n{server.log()}")


@dataclass
class WorkerProcess:
    """A `taskly-server worker` subprocess."""

    process: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def poll(self) -> int | None:
        return self.process.poll()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(15)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_worker(env: dict[str, str | None], log_path: Path, prefix: tuple[str, ...] = ()) -> WorkerProcess:
    """`taskly-server worker` (run under `prefix`, e.g. a profiler) with `env` over this process's
    environment (None removes a variable); returns once it has started."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = {key: value for key, value in {**os.environ, **env}.items() if value is not None}
    with log_path.open("wb") as log:
        process = subprocess.Popen([*prefix, str(BIN / "taskly-server"), "worker"], env=full_env,
                                   stdout=log, stderr=subprocess.STDOUT)
    worker = WorkerProcess(process, log_path)
    deadline = time.monotonic() + 30
    while "worker_started" not in worker.log():
        if process.poll() is not None or time.monotonic() > deadline:
            worker.stop()
            raise RuntimeError(f"worker did not start:\n{worker.log()}")
        time.sleep(0.05)
    return worker


class RestartableServer:
    """A server process on a fixed port, so a test can stop it and start it again."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env, self.log_dir, self.port = env, log_dir, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: ServerProcess | None = None

    def start(self) -> None:
        self.process = start_server(self.env, self.log_dir, port=self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        """The server is stopped inside the block and running again after it."""
        self.stop()
        try:
            yield
        finally:
            self.start()


def realtime_env(env: dict[str, str], backend: str, queue_prefix: str) -> dict[str, str]:
    """`env` for servers fanning out through `backend`: "redis" (the shared Redis, database 13, a
    queue name of their own) or "postgres" (LISTEN/NOTIFY)."""
    if backend != "redis":
        return dict(env)
    from tests.support.services import REDIS_URL, require

    require(REDIS_URL, 6379, "Redis")
    return {**env, "TASKLY_REDIS_URL": urlsplit(REDIS_URL)._replace(path="/13").geturl(),
            "TASKLY_QUEUE_NAME": f"{queue_prefix}-{uuid.uuid4().hex[:8]}"}


@contextlib.contextmanager
def replica_pair(env: dict[str, str], log_dir: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two server processes on `env` (one database); both stopped after.

    One after the other: started side by side on a busy 2-core machine, each took twice as long
    to answer (start-up is CPU: imports), for no time saved, and nearer `start_server`'s timeout."""
    servers = [start_server(env, log_dir)]
    try:
        servers.append(start_server(env, log_dir))
        yield servers[0], servers[1]
    finally:
        stop_all(servers)


def stop_all(processes: list[ServerProcess | WorkerProcess], timeout: float = 20) -> None:
    """SIGTERM every one of `processes` first, then wait for each (killed after `timeout`): they
    shut down side by side instead of one after the other."""
    running = [p.process for p in processes if p.process.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
