"""Following the server's background jobs (`GET /api/v1/jobs/{id}`) until they are done.

    job = poll_job(f, accepted.job_id, timeout=60, what="connect acme/web", progress=print)
    job = wait_for_branch(f, accepted, workspace_id, timeout=90, progress=print)

A failed job raises `JobFailed` with its one-line reason (exit 1); one still running when the wait
ends raises `Pending` (exit 8). `wait_for_branch` also listens on the WebSocket for the card change
the create_branch job commits, which usually arrives before the next poll would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import NotFound, Offline, Pending, TasklyError

if TYPE_CHECKING:
    from taskly_shared.models import CreateBranchOut, JobOut

    from .context import Factory

POLL_INTERVAL = 0.3
"""Seconds between polls of a job (the WebSocket usually tells a branch job's end sooner)."""
Say = Callable[[str], None]


class JobFailed(TasklyError):
    """A server job failed; the message is its one-line reason."""


def _silent(message: str) -> None:
    return None


@dataclass
class JobReporter:
    """Turns polls of a job into progress lines, each said once: waiting, working, retrying."""

    say: Say
    working: str = "Working..."
    said: set[str] = field(default_factory=set)

    def _once(self, key: str, message: str) -> None:
        if key not in self.said:
            self.said.add(key)
            self.say(message)

    def report(self, job: JobOut) -> None:
        if job.error and job.status in ("queued", "active"):
            # an attempt failed, and another one waits (queued) or runs (active)
            failed = job.attempts if job.status == "queued" else job.attempts - 1
            self._once(f"retry-{failed}", f"Attempt {max(failed, 1)} of {job.retries} failed "
                                          f"({job.error}); retrying")
        elif job.status == "queued":
            self._once("queued", "Waiting for a worker...")
        elif job.status == "active":
            self._once("active", self.working)

    def unreachable(self, exc: Exception) -> None:
        self._once("offline", f"Cannot reach the server to follow the job ({exc}); still trying")


def _finished(job: JobOut, what: str) -> bool:
    if job.status == "complete":
        return True
    if job.status in ("failed", "aborted"):
        message = f"could not {what}: {job.error or job.status}"
        if job.error and " not found" in job.error:  # a missing repository or base branch: exit 3
            raise NotFound(message, code="not_found")
        raise JobFailed(message)
    return False


def poll_job(f: Factory, job_id: str, timeout: float, what: str, progress: Say = _silent,
             working: str = "Working...") -> JobOut:
    """The job once complete, polled every POLL_INTERVAL seconds for at most `timeout`."""
    deadline = time.monotonic() + timeout
    reporter = JobReporter(progress, working)
    while True:
        job = f.api.job(job_id, timeout=10)
        reporter.report(job)
        if _finished(job, what):
            return job
        if time.monotonic() >= deadline:
            raise Pending(f"the job ({job_id}) is still {job.status} after {timeout:g} s: "
                          "run the command again later to see its result")
        time.sleep(POLL_INTERVAL)


def wait_for_branch(f: Factory, accepted: CreateBranchOut, workspace_id: str, timeout: float,
                    progress: Say = _silent) -> JobOut | None:
    """Until the card records the branch (WebSocket) or the create_branch job completes (polling).

    Returns the job as last polled (None when the WebSocket told first).
    """
    what = f"create branch {accepted.branch} in {accepted.repository}"
    if accepted.status == "complete":
        return f.api.job(accepted.job_id, timeout=10)
    return asyncio.run(_wait_for_branch(f, accepted, workspace_id, timeout, progress, what))


async def _wait_for_branch(f: Factory, accepted: CreateBranchOut, workspace_id: str, wait_seconds: float,
                           progress: Say, what: str) -> JobOut | None:
    recorded = asyncio.Event()
    card_id = str(accepted.card_id)

    def on_change(change: Any) -> None:
        data = change.data or {}
        if change.entity_type == "card" and str(change.entity_id) == card_id \
                and data.get("branch") == accepted.branch:
            recorded.set()

    listener = asyncio.create_task(f.engine.listen(on_change, workspace_ids=[workspace_id]))
    reporter = JobReporter(progress, "GitHub is creating the branch...")
    deadline = time.monotonic() + wait_seconds
    job: JobOut | None = None
    try:
        while True:
            remaining = deadline - time.monotonic()
            try:
                await asyncio.wait_for(recorded.wait(), timeout=max(0.0, min(POLL_INTERVAL, remaining)))
                return job
            except TimeoutError:
                pass
            try:
                job = await asyncio.to_thread(f.api.job, accepted.job_id, 10)
            except Offline as exc:
                reporter.unreachable(exc)
            else:
                reporter.report(job)
                if _finished(_without_context(job, accepted), what):
                    return job
            if time.monotonic() >= deadline:
                state = job.status if job else "queued"
                raise Pending(f"the branch job ({accepted.job_id}) is still {state} after {wait_seconds:g} s: "
                              f"run `taskly start {accepted.key}` again to pick the branch up")
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)


def _without_context(job: JobOut, accepted: CreateBranchOut) -> JobOut:
    """The job with its error's "creating branch B in R: " prefix dropped (our message says it)."""
    prefix = f"creating branch {accepted.branch} in {accepted.repository}: "
    if job.error and job.error.startswith(prefix):
        return job.model_copy(update={"error": job.error[len(prefix):]})
    return job
