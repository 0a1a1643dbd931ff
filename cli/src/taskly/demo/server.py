"""The demo's local server: `taskly-server run` in the background on the embedded defaults.

Everything lives in `<data dir>/demo` (`$TASKLY_HOME/data/demo`, else the user data directory):
the server's own TASKLY_HOME (its embedded PostgreSQL and secret key), its log `server.log`,
and `demo.json` with its pid and port. The port is picked free once and kept, so the saved
login keeps pointing at the same URL across restarts. The server runs in its own session (the
terminal's Ctrl-C does not reach it) until `taskly demo --stop`.

Stopping sends SIGTERM: `taskly-server` shuts down gracefully and its exit hook stops the
embedded PostgreSQL. When the server died without that (SIGKILL, a crash), the PostgreSQL it
left running is stopped from its `postmaster.pid`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import TasklyError

READY_TIMEOUT = 120.0
"""The first start creates the PostgreSQL cluster and migrates it: seconds on a busy machine."""
STOP_TIMEOUT = 30.0


def demo_home(environ: Mapping[str, str] | None = None) -> Path:
    from ..core.paths import data_dir

    return data_dir(environ) / "demo"


def server_executable() -> list[str]:
    """How to run `taskly-server`: next to this interpreter (a uv/venv install), else on PATH."""
    beside = Path(sys.executable).parent / "taskly-server"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("taskly-server")
    if found:
        return [found]
    raise TasklyError("taskly-server is not installed: from the repository run "
                      "`uv run taskly demo`, or install the taskly-server package next to taskly")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_free(port: int) -> bool:
    """Free for a server: like uvicorn, ignore connections of a previous run still in TIME_WAIT."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pid_alive(pid: int | None) -> bool:
    """Whether `pid` runs (a zombie does not count)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _is_server(pid: int) -> bool:
    """Guard against a recycled pid: the process must be a taskly-server (where /proc tells)."""
    try:
        return b"taskly-server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        return True


def ready(url: str, timeout: float = 1.0) -> bool:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/health/ready", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


@dataclass
class DemoServer:
    home: Path

    @classmethod
    def for_environ(cls, environ: Mapping[str, str] | None = None) -> DemoServer:
        return cls(demo_home(environ))

    @property
    def state_path(self) -> Path:
        return self.home / "demo.json"

    @property
    def log_path(self) -> Path:
        return self.home / "server.log"

    def state(self) -> dict:
        try:
            return json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return {}

    def _save(self, **state: object) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.state_path)

    @property
    def url(self) -> str | None:
        port = self.state().get("port")
        return f"http://127.0.0.1:{port}" if port else None

    def running_pid(self) -> int | None:
        pid = self.state().get("pid")
        return pid if pid_alive(pid) and _is_server(pid) else None

    def ensure_running(self, note: Callable[[str], None]) -> tuple[str, int, bool]:
        """(url, pid, reused): the running demo server, or a new one once it is ready."""
        pid, url = self.running_pid(), self.url
        if pid and url and self._wait_ready(url, pid, timeout=15.0):
            return url, pid, True
        if pid:  # alive but not answering: replace it
            self.stop()
        port = self.state().get("port")
        if not port or not _port_free(port):
            port = free_port()
        url = f"http://127.0.0.1:{port}"
        first = not (self.home / "server").exists()
        first_note = " (first start: creating its database)" if first else ""
        note(f"starting the demo server at {url}{first_note}")
        pid = self._spawn(port, url)
        self._save(pid=pid, port=port, url=url, started_at=time.time())
        if not self._wait_ready(url, pid, timeout=READY_TIMEOUT):
            tail = self._log_tail()
            self.stop()
            raise TasklyError(f"the demo server did not start (log: {self.log_path}):\n{tail}")
        return url, pid, False

    def _spawn(self, port: int, url: str) -> int:
        self.home.mkdir(parents=True, exist_ok=True)
        # The embedded defaults only: no database, Redis or settings of the caller's environment.
        env = {name: value for name, value in os.environ.items() if not name.startswith("TASKLY_")}
        env.update(TASKLY_HOME=str(self.home), TASKLY_DEV_LOGIN="1", TASKLY_PUBLIC_URL=url)
        command = [*server_executable(), "run", "--host", "127.0.0.1", "--port", str(port)]
        with self.log_path.open("ab") as log:
            process = subprocess.Popen(command, env=env, cwd=self.home, stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                       close_fds=True)
        return process.pid

    def redate(self, plan: dict) -> None:
        """Date changes of the demo's workspace (`taskly-server demo-history`: the demo's sprint
        history), on this server's database."""
        env = {name: value for name, value in os.environ.items() if not name.startswith("TASKLY_")}
        env.update(TASKLY_HOME=str(self.home), TASKLY_DEV_LOGIN="1")
        try:
            done = subprocess.run([*server_executable(), "demo-history"], env=env, cwd=self.home,
                                  input=json.dumps(plan), capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TasklyError(f"could not date the demo's history: {exc}") from exc
        if done.returncode != 0:
            raise TasklyError(f"could not date the demo's history: {done.stderr.strip()[-500:]}")

    def _wait_ready(self, url: str, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return False
            if ready(url):
                return True
            time.sleep(0.2)
        return False

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> bool:
        """Stop the server and its PostgreSQL; False when nothing was running."""
        state = self.state()
        pid = self.running_pid()
        stopped = False
        if pid:
            os.kill(pid, signal.SIGTERM)
            stopped = _wait_gone(pid, STOP_TIMEOUT)
            if not stopped:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                _wait_gone(pid, 5)
                stopped = True
        stopped = self._stop_postgres() or stopped
        if state:
            self._save(**{**state, "pid": None})
        return stopped

    def postgres_dirs(self) -> list[Path]:
        """Where the server keeps the embedded cluster (as `taskly_server.embedded.postgres_dir`
        does: as root, a data directory under root's home moves to /var/lib/taskly/<hash>)."""
        data_dir = (self.home / "server").resolve()
        digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
        return [data_dir / "postgres", Path("/var/lib/taskly") / digest / "postgres"]

    def postgres_pid(self) -> int | None:
        """The running postmaster of the demo's cluster, if any."""
        for pgdata in self.postgres_dirs():
            try:
                pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
            except (OSError, ValueError):
                continue
            if pid_alive(pid):
                return pid
        return None

    def _stop_postgres(self) -> bool:
        """A PostgreSQL left behind (its server was killed): fast shutdown (SIGINT)."""
        pid = self.postgres_pid()
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)
        if not _wait_gone(pid, STOP_TIMEOUT):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)
            _wait_gone(pid, 5)
        return True


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return not pid_alive(pid)
