"""Running the real `taskly` executable in tests.

    code, out, err = run_taskly("ls", "--json", env={"TASKLY_SERVER": url})
    result = run_taskly("whoami"); result.code, result.json()

The child gets this process's environment (the autouse fixture's TASKLY_HOME and keyring backend)
with `env` on top; a value of None in `env` removes that variable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

TASKLY = Path(sys.executable).parent / "taskly"


class CliResult(NamedTuple):
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """stdout parsed as JSON (fails the test with the output when it is not)."""
        try:
            return json.loads(self.stdout)
        except ValueError as exc:
            raise AssertionError(f"not JSON ({exc}):\nstdout: {self.stdout!r}\nstderr: {self.stderr!r}") from None


def taskly_env(env: dict[str, str | None] | None = None) -> dict[str, str]:
    full = {**os.environ, "NO_COLOR": "1", "TERM": "dumb"}
    full.pop("TASKLY_DEBUG", None)
    for name, value in (env or {}).items():
        if value is None:
            full.pop(name, None)
        else:
            full[name] = value
    return full


def run_taskly(*args: str, env: dict[str, str | None] | None = None, input: str | None = None,
               cwd: str | Path | None = None, timeout: float = 30) -> CliResult:
    """Run `taskly ARGS…` as a subprocess; returns (code, stdout, stderr)."""
    completed = subprocess.run(
        [str(TASKLY), *args], env=taskly_env(env), input=input if input is not None else "",
        capture_output=True, text=True, cwd=cwd, timeout=timeout,
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


def ok(*args: str, **kwargs: Any) -> CliResult:
    """`run_taskly` that must exit 0 (fails with the output otherwise)."""
    result = run_taskly(*args, **kwargs)
    assert result.code == 0, f"taskly {' '.join(args)} -> {result.code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def unique(prefix: str = "cli") -> str:
    """A fresh name; never one that reads as a card key (`cli-38697880` would, in `assign`)."""
    import uuid

    return f"{prefix}-u{uuid.uuid4().hex[:8]}"


def cli_login(server_url: str, username: str | None = None, *, env: dict[str, str | None] | None = None) -> str:
    """`taskly login --server URL --dev NAME` (a fresh user unless named); returns the username."""
    username = username or unique()
    ok("login", "--server", server_url, "--dev", username, env=env)
    return username


def cli_board(server_url: str, key: str = "WEB", *, username: str | None = None,
              env: dict[str, str | None] | None = None) -> str:
    """A fresh user logged in, with a new current workspace and board `key`; returns the username."""
    username = cli_login(server_url, username, env=env)
    ok("workspace", "create", unique("ws"), env=env)
    ok("board", "create", "Web", "--key", key, env=env)
    return username


def run_on_terminal(*args: str, columns: int = 80, rows: int = 24, env: dict[str, str | None] | None = None,
                    timeout: float = 30) -> CliResult:
    """`run_taskly` with stdout on a pseudo-terminal of `columns`x`rows` (COLUMNS set alike), as a
    person sees it; stdout comes back with `\\r\\n` turned into `\\n` and escape sequences kept."""
    import fcntl
    import select
    import struct
    import termios
    import time

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    process = subprocess.Popen([str(TASKLY), *args], env=taskly_env({"COLUMNS": str(columns), **(env or {})}),
                               stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    output, deadline = b"", time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            elif process.poll() is not None:
                break
        else:
            process.kill()
        stderr = process.communicate(timeout=10)[1].decode(errors="replace")
    finally:
        os.close(master)
    return CliResult(process.returncode, output.decode(errors="replace").replace("\r\n", "\n"), stderr)
