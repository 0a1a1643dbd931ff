"""Real server processes on loopback, started and stopped by the tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


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
    full_env = {**os.environ, **env}
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
