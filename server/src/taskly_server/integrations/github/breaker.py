"""A circuit breaker for GitHub: after repeated failures, calls fail fast for a while.

Shared by every thread of a process (PyGithub runs in threads), one breaker per GitHub host.
Closed: calls pass, consecutive failures are counted. Open (after `threshold` failures): calls
fail at once with `CircuitOpen` for `cooldown` seconds. Then one trial call passes (half-open):
its success closes the circuit, its failure opens it again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CircuitOpen(Exception):
    """GitHub failed too often just now; the call was not made."""

    def __init__(self, name: str, retry_in: float, failures: int) -> None:
        super().__init__(f"{name} is failing ({failures} consecutive errors): calls are paused, "
                         f"retrying in {max(retry_in, 0):.0f} s")
        self.retry_in = retry_in


class CircuitBreaker:
    def __init__(self, name: str, threshold: int = 5, cooldown: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self._trial = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        with self._lock:
            if self.opened_at is None:
                return "closed"
            return "half-open" if self.clock() >= self.opened_at + self.cooldown else "open"

    def before(self) -> None:
        """Raise CircuitOpen unless a call may go out now."""
        with self._lock:
            if self.opened_at is None:
                return
            wait = self.opened_at + self.cooldown - self.clock()
            if wait > 0 or self._trial:
                raise CircuitOpen(self.name, max(wait, 1.0), self.failures)
            self._trial = True  # the one trial call of the half-open state

    def success(self) -> None:
        with self._lock:
            self.failures = 0
            self.opened_at = None
            self._trial = False

    def failure(self) -> None:
        with self._lock:
            self.failures += 1
            self._trial = False
            if self.failures >= self.threshold:
                self.opened_at = self.clock()

    def neutral(self) -> None:
        """The call went out and GitHub answered sensibly but not with success (404, 422 …)."""
        self.success()


_breakers: dict[str, CircuitBreaker] = {}
_registry_lock = threading.Lock()


def breaker_for(base_url: str) -> CircuitBreaker:
    """This process's breaker for one GitHub base URL."""
    with _registry_lock:
        breaker = _breakers.get(base_url)
        if breaker is None:
            breaker = _breakers[base_url] = CircuitBreaker(f"GitHub ({base_url})")
        return breaker
