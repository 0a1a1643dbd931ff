"""A program in a pseudo-terminal, read as a terminal would: for the TUI's end-to-end tests and bench.

    terminal = Terminal(["taskly", "board"], env)        # 160x48
    terminal.until(rb"WEB-\\d+", 0)                      # the time the pattern was first output
    terminal.press(b"L"); terminal.close()               # `q`, then kill if it does not exit
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import time

ROWS, COLUMNS = 48, 160


class Terminal:
    """A process in a pty of ROWSxCOLUMNS; its output is read as it comes."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str | None = None) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        self.master = master
        self.output = b""
        self.started = time.perf_counter()
        self.process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                                        start_new_session=True, close_fds=True)
        os.close(slave)

    def _read(self, wait: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], max(0.0, wait))
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            raise RuntimeError(f"the process ended: {self.process.poll()}; output: {self.output[-2000:]!r}")
        self.output += chunk
        return True

    def until(self, pattern: bytes, since: int, within: float = 20.0, *, plain: bool = False) -> float:
        """Read until `pattern` shows in the output after offset `since`; the time it did. `plain`:
        in the output without its escape sequences (`text`), where a line Textual redraws in
        pieces (a toast over part of it) reads whole."""
        regex = re.compile(pattern.decode() if plain else pattern)
        deadline = time.perf_counter() + within
        while not (regex.search(self.text(since)) if plain else regex.search(self.output, since)):
            if time.perf_counter() > deadline:
                raise RuntimeError(f"no {pattern!r} after {within} s; output: {self.output[-2000:]!r}")
            self._read(deadline - time.perf_counter())
        return time.perf_counter()

    def quiet(self, gap: float = 0.3, within: float = 10.0) -> None:
        """Read until nothing comes out for `gap` seconds."""
        deadline = time.perf_counter() + within
        while time.perf_counter() < deadline and self._read(gap):
            pass

    def press(self, key: bytes) -> tuple[float, int]:
        mark = len(self.output)
        os.write(self.master, key)
        return time.perf_counter(), mark

    def close(self, quit_key: bytes = b"q", within: float = 5.0) -> int:
        """Press `quit_key` and wait for the exit (killed after `within` seconds); the exit code."""
        if self.process.poll() is None:
            os.write(self.master, quit_key)
        try:
            deadline = time.perf_counter() + within
            while self.process.poll() is None and time.perf_counter() < deadline:
                self._read(0.05)
        except RuntimeError:
            pass
        if self.process.poll() is None:
            self.process.kill()
        code = self.process.wait()
        os.close(self.master)
        return code

    def text(self, since: int = 0) -> str:
        """The output so far (from offset `since`) with escape sequences removed (for error messages
        and plain lines)."""
        return re.sub(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]|\x1b\][^\x07]*\x07", "",
                      self.output[since:].decode(errors="replace"))
