"""SAQ's two queues as Taskly runs them: `PostgresJobQueue` and `RedisJobQueue`.

Both sweep the jobs of a dead worker together. SAQ's sweep aborts one stuck job, waits up to
`abort` seconds (5) for its worker to confirm, queues it again, then goes on to the next: a worker
killed with 20 jobs in flight got them back one every 5 s, the last after ~100 s. Here a sweep
marks every stuck job aborting in one write, lets all of them wait out one shared window, and
queues again in one write those whose worker never answered (or finishes them as aborted when
they are out of attempts). Each write is a compare-and-set on the record the sweep read, so a job
its worker touched or finished meanwhile is left to that worker. A job whose heartbeat lapsed
brings along the other jobs its worker holds: one event loop beats for all of them, so they
lapse within a beat of each other, and would otherwise come back one sweep later.

Both also store a `JobFailed` attempt's one-line reason as the job's error, not SAQ's traceback.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from functools import cached_property
from math import ceil
from time import monotonic, time
from typing import Any

import structlog
from psycopg.sql import SQL
from saq import Job, Queue
from saq.job import Status
from saq.queue.postgres import PostgresQueue
from saq.queue.redis import RedisQueue
from saq.utils import now, now_seconds, seconds

from .jobs import JobFailed

log = structlog.get_logger("taskly.queue")

SETTLE_POLL = 0.2
"""Seconds between reads of the swept jobs while their workers may still answer the abort (a
live worker looks for aborts every second)."""


@dataclass
class Stranded:
    """A job the sweep handles, with its record exactly as stored when last read or written."""

    job: Job
    record: bytes


class SweepsTogether(Queue):
    """What both backends add to SAQ's queue (see the module docstring)."""

    async def retry(self, job: Job, error: str | None) -> None:
        await super().retry(job, _one_line(error))

    async def finish(self, job: Job, status: Status, *, result: Any = None, error: str | None = None,
                     **kwargs: Any) -> None:
        await super().finish(job, status, result=result, error=_one_line(error), **kwargs)

    async def _sweep_stranded(self, stuck: list[Stranded], wait: float) -> list[Stranded]:
        """Abort `stuck` at once, give their workers `wait` seconds together to stop them, then
        queue again (or finish as aborted) every one still unanswered; returns the jobs swept."""
        if not stuck:
            return []
        error = self.swept_error_message
        swept = await self._abort_stranded([(one, _aborting(one.job, error)) for one in stuck], wait)
        if not swept:
            return []
        settled = await self._settled(swept, wait)
        plan = [(one, _requeued(one.job, error) if one.job.retryable else _given_up(one.job, error))
                for one in settled if one.job.status == Status.ABORTING
                or (one.job.status == Status.ABORTED and one.job.retryable)]
        done = await self._requeue_stranded(plan) if plan else set()
        requeued = sum(1 for one, new in plan if one.job.key in done and new.status == Status.QUEUED)
        self.retried += requeued
        self.aborted += len(done) - requeued
        log.warning("jobs_swept", queue=self.name, swept=len(swept), requeued=requeued,
                    aborted=len(done) - requeued, keys=[one.job.key for one in swept])
        return swept

    async def _settled(self, swept: list[Stranded], wait: float) -> list[Stranded]:
        """The swept jobs as stored once no worker holds one any more, or after `wait` seconds."""
        deadline = monotonic() + wait
        keys = [one.job.key for one in swept]
        while True:
            current = [one for one in await self._stranded(keys) if one is not None]
            left = deadline - monotonic()
            if left <= 0 or all(one.job.status != Status.ABORTING for one in current):
                return current
            await asyncio.sleep(min(SETTLE_POLL, left))

    async def _abort_stranded(self, jobs: list[tuple[Stranded, Job]], wait: float) -> list[Stranded]:
        """Store each new (aborting) job where the record is unchanged; those stored."""
        raise NotImplementedError

    async def _stranded(self, keys: list[str]) -> list[Stranded | None]:
        """The jobs of `keys` with their records, as stored now."""
        raise NotImplementedError

    async def _requeue_stranded(self, jobs: list[tuple[Stranded, Job]]) -> set[str]:
        """Store each new (queued or aborted) job where the record is unchanged; their keys."""
        raise NotImplementedError


def stranded(jobs: list[Stranded]) -> list[Stranded]:
    """The jobs to sweep: SAQ's stuck ones (past their timeout or heartbeat) and, with a job whose
    heartbeat lapsed, every other active job of its worker."""
    lapsed = {one.job.worker_id for one in jobs if one.job.worker_id and _lapsed(one.job)}
    return [one for one in jobs if one.job.stuck
            or (one.job.status == Status.ACTIVE and one.job.worker_id in lapsed)]


def _lapsed(job: Job) -> bool:
    return job.stuck and bool(job.heartbeat) and seconds(now() - job.touched) > job.heartbeat


def _one_line(error: str | None) -> str | None:
    """SAQ's worker records a failed attempt with its traceback while it handles the exception;
    a `JobFailed` says why in one line already (see lib/jobs.py)."""
    failure = sys.exc_info()[1]
    return str(failure) if error is not None and isinstance(failure, JobFailed) else error


def _copy(job: Job, **changes: Any) -> Job:
    new = job.get_queue().copy(job)
    for name, value in changes.items():
        setattr(new, name, value)
    return new


def _aborting(job: Job, error: str) -> Job:
    """What SAQ's `abort` stores for a running job: its worker is to cancel it."""
    return _copy(job, status=Status.ABORTING, error=error, touched=now())


def _requeued(job: Job, error: str) -> Job:
    """What SAQ's `retry` stores: queued again (each backend schedules it as SAQ's `_retry`)."""
    return _copy(job, status=Status.QUEUED, error=error, completed=0, started=0, progress=0.0,
                 touched=now())


def _given_up(job: Job, error: str) -> Job:
    """What SAQ's `finish` stores for a job out of attempts: aborted."""
    return _copy(job, status=Status.ABORTED, error=error, completed=now())


# --- Postgres ----------------------------------------------------------------------------------

SWEEP_SQL = {
    "read": """
        WITH expired_jobs AS (
          DELETE FROM {jobs} WHERE queue = %(queue)s
            AND status IN ('aborted', 'complete', 'failed') AND %(now)s >= expire_at
        ), expired_stats AS (
          DELETE FROM {stats} WHERE %(now)s >= expire_at
        )
        SELECT key, job, status FROM {jobs}
        WHERE queue = %(queue)s AND status IN ('active', 'aborting')""",
    "abort": """
        UPDATE {jobs} AS j SET status = 'aborting', job = s.job
        FROM unnest(%(keys)s::text[], %(seen)s::bytea[], %(jobs)s::bytea[]) AS s(key, seen, job)
        WHERE j.key = s.key AND j.job = s.seen AND j.status IN ('active', 'aborting')
        RETURNING j.key""",
    "stranded": "SELECT key, job, status FROM {jobs} WHERE key = ANY(%(keys)s::text[])",
    "requeue": """
        UPDATE {jobs} AS j
        SET status = s.status, job = s.job, scheduled = s.scheduled, expire_at = s.expire_at
        FROM unnest(%(keys)s::text[], %(seen)s::bytea[], %(jobs)s::bytea[], %(statuses)s::text[],
                    %(scheduled)s::bigint[], %(expire_at)s::bigint[])
          AS s(key, seen, job, status, scheduled, expire_at)
        WHERE j.key = s.key AND j.job = s.seen
        RETURNING j.key""",
}
"""The sweep's statements: read (after deleting what expired), abort all, re-read, queue all."""


class PostgresJobQueue(SweepsTogether, PostgresQueue):
    """SAQ's Postgres queue, writing a job whose new status is known in one statement, and
    sweeping stuck jobs in one statement per step (see the module docstring).

    SAQ wraps every job write in a transaction (BEGIN and COMMIT, or a savepoint inside the
    dequeue's transaction) because a write without a status first reads the stored one FOR
    UPDATE. A write that names its status (dequeued, started, finished, retried) is one UPDATE,
    atomic by itself: the wrapping cost two more round trips to Postgres per write, 4-6 per job.
    """

    @cached_property
    def _update_queries(self) -> dict[bool, bytes]:
        """The UPDATE of `_update`, without and with `expire_at`, rendered once (psycopg renders
        a Composed query to bytes again on every execution)."""
        return {with_expiry: SQL(
            "UPDATE {jobs_table} SET job = %(job)s, status = %(status)s, scheduled = %(scheduled)s"
            + (", expire_at = %(expire_at)s" if with_expiry else "") + " WHERE key = %(key)s"
        ).format(jobs_table=self.jobs_table).as_bytes(None) for with_expiry in (False, True)}

    async def _update(self, job: Job, status: Status | None = None, **kwargs: Any) -> None:
        if status is None:  # a heartbeat: keep whatever status is stored (an abort, say)
            await super()._update(job, status, **kwargs)
            return
        expire_at = kwargs.pop("expire_at", -1)
        connection = kwargs.pop("connection", None)
        job.status = status
        query = self._update_queries[expire_at != -1]
        params = {"job": self.serialize(job), "status": job.status, "key": job.key,
                  "scheduled": job.scheduled, "expire_at": expire_at}
        if connection is not None:
            await connection.execute(query, params)
            return
        async with self.pool.connection() as conn:
            await conn.execute(query, params)

    @cached_property
    def _sweep_queries(self) -> dict[str, bytes]:
        return {name: SQL(query).format(jobs=self.jobs_table, stats=self.stats_table).as_bytes(None)
                for name, query in SWEEP_SQL.items()}

    async def _fetch(self, name: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        async with self.pool.connection() as conn:
            return await (await conn.execute(self._sweep_queries[name], params)).fetchall()

    async def sweep(self, lock: int = 60, abort: float = 5.0) -> list[str]:
        """Delete what expired and sweep the stuck jobs: SAQ's sweep, all stuck jobs together."""
        if not self._has_sweep_lock:
            async with self.pool.connection() as conn:
                locked = await (await conn.execute(
                    "SELECT pg_try_advisory_lock(%s, hashtext(%s))",
                    (self.saq_lock_keyspace, self.name))).fetchone()
            if not (locked and locked[0]):
                return []  # another worker sweeps
            self._has_sweep_lock = True
        rows = await self._fetch("read", {"queue": self.name, "now": now_seconds()})
        swept = await self._sweep_stranded(stranded(self._decoded(rows)), abort)
        return [one.job.key for one in swept]

    def _decoded(self, rows: list[tuple[Any, ...]]) -> list[Stranded]:
        return [Stranded(job, bytes(record)) for _, record, status in rows
                if (job := self.deserialize(record, Status(status))) is not None]

    async def _abort_stranded(self, jobs: list[tuple[Stranded, Job]], wait: float) -> list[Stranded]:
        news = {new.key: (new, self.serialize(new)) for _, new in jobs}
        done = {key for key, in await self._fetch("abort", {
            "keys": list(news), "seen": [one.record for one, _ in jobs],
            "jobs": [record for _, record in news.values()]})}
        return [Stranded(new, bytes(record)) for key, (new, record) in news.items() if key in done]

    async def _stranded(self, keys: list[str]) -> list[Stranded | None]:
        found = {one.job.key: one for one in self._decoded(await self._fetch("stranded", {"keys": keys}))}
        return [found.get(key) for key in keys]

    async def _requeue_stranded(self, jobs: list[tuple[Stranded, Job]]) -> set[str]:
        expire_at: list[int | None] = []
        for _, new in jobs:
            if new.status == Status.QUEUED:  # as SAQ's `_retry`: after the retry delay
                delay = new.next_retry_delay()
                new.scheduled = int(time() + delay) if delay else new.scheduled or int(now_seconds())
                expire_at.append(None)
            else:  # as SAQ's `_finish` (a ttl < 0, "delete at once", expires at the next sweep)
                expire_at.append(None if new.ttl == 0 else int(now_seconds()) + max(new.ttl, 0))
        rows = await self._fetch("requeue", {
            "keys": [new.key for _, new in jobs], "seen": [one.record for one, _ in jobs],
            "jobs": [self.serialize(new) for _, new in jobs],
            "statuses": [new.status.value for _, new in jobs],
            "scheduled": [new.scheduled for _, new in jobs], "expire_at": expire_at})
        return {key for key, in rows}


# --- Redis -------------------------------------------------------------------------------------

ACTIVE_JOBS = """
local id_jobs = {}
if redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('SETEX', KEYS[1], ARGV[1], 1)
    for i, v in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
        id_jobs[i] = {v, redis.call('GET', v)}
    end
end
return id_jobs
"""
"""SAQ's sweep script: the active list's jobs and records, for one sweeper per `lock` seconds."""

ABORT_STRANDED = """
local aborted = {}
for i = 2, #ARGV, 5 do
    local id = ARGV[i]
    if redis.call('GET', id) == ARGV[i + 2] then
        redis.call('LREM', KEYS[1], 0, id)
        redis.call('ZREM', KEYS[2], id)
        redis.call('SET', id, ARGV[i + 3])
        redis.call('SETEX', ARGV[i + 1], ARGV[1], ARGV[i + 4])
        redis.call('PUBLISH', id, 'aborting')
        aborted[#aborted + 1] = id
    end
end
return aborted
"""
"""SAQ's `abort` of each job (id, abort id, record seen, new record, error) whose record is
unchanged; KEYS: queued list, incomplete set; ARGV[1]: seconds the abort marker lives. The job
stays in the active list until it is queued again, so a sweeper dying meanwhile loses nothing."""

REQUEUE_STRANDED = """
local done = {}
for i = 1, #ARGV, 6 do
    local id, abort_id, seen, record, action, arg = unpack(ARGV, i, i + 5)
    if redis.call('GET', id) == seen then
        redis.call('LREM', KEYS[1], 0, id)
        redis.call('LREM', KEYS[2], 0, id)
        redis.call('DEL', abort_id)
        if action == 'finish' then
            redis.call('ZREM', KEYS[3], id)
            local ttl = tonumber(arg)
            if ttl > 0 then
                redis.call('SETEX', id, ttl, record)
            elseif ttl == 0 then
                redis.call('SET', id, record)
            else
                redis.call('DEL', id)
            end
            redis.call('PUBLISH', id, 'aborted')
        else
            redis.call('ZADD', KEYS[3], arg, id)
            if action == 'queue' then
                redis.call('RPUSH', KEYS[2], id)
            end
            redis.call('SET', id, record)
            redis.call('PUBLISH', id, 'queued')
        end
        done[#done + 1] = id
    end
end
return done
"""
"""SAQ's `retry` (action `queue` now or `delay` until the score `arg`) or `finish` as aborted
(`arg`: the ttl) of each job (id, abort id, record seen, new record, action, arg) whose record is
unchanged; KEYS: active list, queued list, incomplete set."""


class RedisJobQueue(SweepsTogether, RedisQueue):
    """SAQ's Redis queue, sweeping stuck jobs together (see the module docstring), and not the
    job a worker has only just dequeued (SAQ#124, #277).

    A worker moves a job from the queued list to the active one, then marks its record active.
    SAQ's sweep takes any job in the active list whose record is not active for a lost one: a
    sweep in between aborted the job, waited up to 5 s for it to stop, and queued it again, so
    it ran twice (seen in the create_branch bench: a few jobs in some runs of 1,000). Here such a
    job is swept only when a later sweep finds the very same record still unclaimed: its worker
    died between the two steps.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unclaimed: set[bytes] = set()

    @cached_property
    def _scripts(self) -> dict[str, Any]:
        return {name: self.redis.register_script(script) for name, script in
                (("active", ACTIVE_JOBS), ("abort", ABORT_STRANDED), ("requeue", REQUEUE_STRANDED))}

    async def sweep(self, lock: int = 60, abort: float = 5.0) -> list[str]:
        id_jobs = await self._scripts["active"](keys=[self._sweep, self._active], args=[lock],
                                                client=self.redis)
        unclaimed: set[bytes] = set()
        active: list[Stranded] = []
        stuck: list[Stranded] = []
        missing: list[bytes] = []
        for job_id, record in id_jobs:
            job = self.deserialize(record)
            if job is None:  # no record: forget the id
                missing.append(job_id)
            elif job.status == Status.QUEUED and record not in self._unclaimed:
                unclaimed.add(record)  # dequeued a moment ago, or lost: the next sweep tells
            elif job.status == Status.ACTIVE:
                active.append(Stranded(job, record))
            else:  # still unclaimed since the last sweep, or aborting
                stuck.append(Stranded(job, record))
        if id_jobs:  # an empty answer may only mean another worker swept just now
            self._unclaimed = unclaimed
        if missing:
            async with self.redis.pipeline(transaction=True) as pipe:
                for job_id in missing:
                    pipe.lrem(self._active, 0, job_id).zrem(self._incomplete, job_id)
                await pipe.execute()
        swept = await self._sweep_stranded(stuck + stranded(active), abort)
        return [job_id.decode() for job_id in missing] + [one.job.id for one in swept]

    async def _abort_stranded(self, jobs: list[tuple[Stranded, Job]], wait: float) -> list[Stranded]:
        news = {new.id: (new, self._encoded(new)) for _, new in jobs}
        args: list[Any] = [ceil(wait) + 5]
        for one, new in jobs:
            args += [new.id, new.abort_id, one.record, news[new.id][1], new.error]
        done = {job_id.decode() for job_id in await self._scripts["abort"](
            keys=[self._queued, self._incomplete], args=args, client=self.redis)}
        return [Stranded(new, record) for job_id, (new, record) in news.items() if job_id in done]

    async def _stranded(self, keys: list[str]) -> list[Stranded | None]:
        records = await self.redis.mget([self.job_id(key) for key in keys])
        return [Stranded(job, record) if (job := self.deserialize(record)) is not None else None
                for record in records]

    async def _requeue_stranded(self, jobs: list[tuple[Stranded, Job]]) -> set[str]:
        args: list[Any] = []
        for one, new in jobs:
            if new.status == Status.QUEUED:  # as SAQ's `_retry`: after the retry delay
                delay = new.next_retry_delay()
                action, arg = ("delay", time() + delay) if delay else ("queue", new.scheduled)
            else:
                action, arg = "finish", new.ttl
            args += [new.id, new.abort_id, one.record, self._encoded(new), action, arg]
        done = await self._scripts["requeue"](keys=[self._active, self._queued, self._incomplete],
                                              args=args, client=self.redis)
        return {self.job_key_from_id(job_id.decode()) for job_id in done}

    def _encoded(self, job: Job) -> bytes:
        record = self.serialize(job)
        return record.encode() if isinstance(record, str) else record
