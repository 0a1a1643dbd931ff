"""SAQ: the job queue, the job list, cron, and the worker (separate or inside the server).

The queue lives on Redis when `TASKLY_REDIS_URL` is set, else on Postgres (SAQ's own `saq_*`
tables next to ours, LISTEN/NOTIFY wake-ups). Jobs are small idempotent functions with keyword
arguments that return a summary; their context holds `settings`, `sessionmaker` and `queue`.
Services enqueue through `app.state.queue` (a `JobQueue`), with a key so duplicates collapse:
`await state.queue.enqueue("create_branch", key=f"branch:{card_id}", card_id=str(card_id))`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import cached_property
from time import monotonic
from typing import Any

import structlog
from psycopg import AsyncConnection
from psycopg.sql import SQL
from psycopg_pool import AsyncConnectionPool
from saq import CronJob, Job, Queue, Worker
from saq.job import Status
from saq.queue.postgres import PostgresQueue
from saq.queue.redis import RedisQueue
from sqlalchemy import text
from sqlalchemy.engine import make_url

from .domain.github.jobs import JOBS as GITHUB_JOBS
from .domain.github.jobs import BranchJobReads
from .domain.github.starts import CardStarts
from .domain.pulls.jobs import JOBS as WEBHOOK_JOBS
from .domain.sync.jobs import prune_feed
from .settings import Settings

log = structlog.get_logger("taskly.worker")

CONCURRENCY = 20
"""Jobs one worker runs at once. Branch jobs wait on GitHub most of their time; with 20 of them in
flight, those that start or finish together share their queries (github/jobs.BranchJobReads,
github/starts.py). Each may wait on GitHub in a thread of its own: asyncio's default pool has
cpu_count + 4 threads (6 here), which let only 6 GitHub calls out at a time."""
TIMERS: dict[str, int] = {"sweep": 5}
"""Look for jobs whose worker died every 5 s (SAQ's default is 60 s), so they are retried soon."""
SHUTDOWN_GRACE = 10.0
"""Seconds a stopping worker lets running jobs finish before cancelling them (they are retried)."""
JOB_DEFAULTS: dict[str, Any] = {"timeout": 60, "retries": 4, "retry_delay": 1.0,
                                "retry_backoff": 60.0, "ttl": 24 * 3600}
"""Every job: up to 4 attempts with jittered exponential backoff (1 s, 2 s, 4 s, capped at 60 s)."""


async def health(ctx: dict[str, Any]) -> dict[str, Any]:
    """A round trip through queue, worker and database: what `taskly-server worker --check` asks."""
    async with ctx["sessionmaker"]() as db:
        version = await db.scalar(text("SHOW server_version"))
        migration = await db.scalar(text("SELECT version_num FROM alembic_version"))
    return {"worker": ctx["worker"].id, "queue": backend(ctx["settings"]),
            "database": version, "migration": migration}


JOBS: list[Any] = [health, prune_feed, *GITHUB_JOBS, *WEBHOOK_JOBS]
CRON: list[CronJob] = [
    CronJob(prune_feed, cron="17 * * * *", timeout=600, retries=2),  # hourly, off the full hour
]


def backend(settings: Settings) -> str:
    return "redis" if settings.redis_url else "postgres"


def psycopg_url(database_url: str) -> str:
    """The libpq form of our SQLAlchemy URL (SAQ's Postgres queue runs on psycopg, not asyncpg)."""
    url = make_url(database_url).set(drivername="postgresql")
    if "ssl" in url.query:  # asyncpg spells libpq's sslmode `ssl`
        query = dict(url.query)
        query["sslmode"] = query.pop("ssl")
        url = url.set(query=query)
    return url.render_as_string(hide_password=False)


def create_queue(settings: Settings, *, max_connections: int = 10) -> Queue:
    """The SAQ queue of these settings (not yet connected)."""
    if settings.redis_url:
        return RedisJobQueue.from_url(settings.redis_url, name=settings.queue_name)
    assert settings.database_url, "the Postgres queue needs a database URL"
    pool = AsyncConnectionPool(psycopg_url(settings.database_url), open=False, min_size=1,
                               max_size=max_connections, kwargs={"autocommit": True},
                               check=_check_unless_fresh, reset=_mark_returned)
    return PostgresJobQueue(pool, name=settings.queue_name, min_size=1, max_size=max_connections,
                            manage_pool_lifecycle=True)


FRESH = 0.5
"""Seconds after its last use during which a pooled connection is handed out unchecked."""


async def _mark_returned(conn: AsyncConnection) -> None:
    conn.taskly_returned_at = monotonic()  # type: ignore[attr-defined]


async def _check_unless_fresh(conn: AsyncConnection) -> None:
    """SAQ's pool check (an empty query, one round trip) for a connection idle over FRESH seconds.

    SAQ checks every connection it takes from its pool; under load that was ~3 round trips per
    job to learn that a connection used a moment ago still works. Like HikariCP's alive-bypass
    window (500 ms), a connection back from a successful use within FRESH seconds is trusted:
    the pool discards a connection that came back broken, so it is never handed out again.
    """
    if monotonic() - getattr(conn, "taskly_returned_at", 0.0) > FRESH:
        await AsyncConnectionPool.check_connection(conn)


class PostgresJobQueue(PostgresQueue):
    """SAQ's Postgres queue, writing a job whose new status is known in one statement.

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


class RedisJobQueue(RedisQueue):
    """SAQ's Redis queue, not sweeping the job a worker has only just dequeued (SAQ#124, #277).

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

    async def sweep(self, lock: int = 60, abort: float = 5.0) -> list[str]:
        if not self._cleanup_script:
            self._cleanup_script = self.redis.register_script(ACTIVE_JOBS)
        id_jobs = await self._cleanup_script(keys=[self._sweep, self._active], args=[lock],
                                             client=self.redis)
        unclaimed, swept = set(), []
        for job_id, job_bytes in id_jobs:
            job = self.deserialize(job_bytes)
            if job is None:  # no record: forget the id
                swept.append(job_id)
                async with self.redis.pipeline(transaction=True) as pipe:
                    await pipe.lrem(self._active, 0, job_id).zrem(self._incomplete, job_id).execute()
                continue
            if job.status == Status.QUEUED and job_bytes not in self._unclaimed:
                unclaimed.add(job_bytes)  # dequeued a moment ago, or lost: the next sweep tells
                continue
            if job.status != Status.ACTIVE or job.stuck:
                swept.append(job_id)
                await self.abort(job, error=self.swept_error_message)
                with contextlib.suppress(asyncio.TimeoutError):
                    await job.refresh(abort)
                if job.retryable:
                    await self.retry(job, error=self.swept_error_message)
                else:
                    await self.finish(job, Status.ABORTED, error=self.swept_error_message)
        if id_jobs:  # an empty answer may only mean another worker swept just now
            self._unclaimed = unclaimed
        return [job_id.decode() for job_id in swept]


class JobQueue:
    """What the server and jobs enqueue through; duplicates by `key` collapse (returns None)."""

    def __init__(self, queue: Queue) -> None:
        self.saq = queue

    async def enqueue(self, name: str, *, key: str | None = None, **kwargs: Any) -> Job | None:
        """Queue job `name` with keyword arguments `kwargs`; None when `key` is already queued or running."""
        job = Job(function=name, kwargs=kwargs, **JOB_DEFAULTS)
        if key is not None:
            job.key = key
        return await self.saq.enqueue(job)

    async def job(self, key: str) -> Job | None:
        return await self.saq.job(key)


class TasklyWorker(Worker):
    """SAQ's worker, stopping gently: running jobs get `SHUTDOWN_GRACE`, idle waiters none."""

    async def stop(self) -> None:
        self.event.set()
        if not self._stopped:
            running = [context["task"] for context in self.job_task_contexts.values()]
            if running:
                await asyncio.wait(running, timeout=SHUTDOWN_GRACE)
                await asyncio.sleep(0.05)  # let the finished ones record their result
            waiting = list(self.tasks)  # idle dequeuers and upkeep loops
            for task in waiting:
                task.cancel()
            await asyncio.gather(*waiting, return_exceptions=True)
        await super().stop()


class InProcessWorker(TasklyWorker):
    """Inside the server: uvicorn owns SIGINT/SIGTERM, the app's lifespan stops the worker."""

    SIGNALS: list[Any] = []


def create_worker(settings: Settings, queue: Queue, *, sessionmaker: Any = None,
                  in_process: bool = False) -> Worker:
    """A worker running JOBS and CRON; its startup hook puts settings and a sessionmaker in ctx."""
    engine = None

    async def startup(ctx: dict[str, Any]) -> None:
        nonlocal engine
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="taskly-jobs"))  # `asyncio.to_thread`
        if sessionmaker is None:
            from .db.session import create_engine, create_sessionmaker

            engine = create_engine(settings.database_url, pool_size=5)
            ctx["sessionmaker"] = create_sessionmaker(engine)
        else:
            ctx["sessionmaker"] = sessionmaker
        ctx["settings"] = settings
        ctx["queue"] = JobQueue(queue)
        ctx["card_starts"] = CardStarts(ctx)
        ctx["branch_reads"] = BranchJobReads(ctx)
        log.info("worker_started", queue=queue.name, backend=backend(settings),
                 jobs=sorted(worker.functions), in_process=in_process)

    async def shutdown(ctx: dict[str, Any]) -> None:
        if engine is not None:
            await engine.dispose()

    worker_class = InProcessWorker if in_process else TasklyWorker
    worker = worker_class(queue, JOBS, concurrency=CONCURRENCY, cron_jobs=CRON, startup=startup,
                          shutdown=[shutdown], after_process=[_log_job], timers=TIMERS)
    return worker


async def _log_job(ctx: dict[str, Any]) -> None:
    job: Job = ctx["job"]
    error = ctx.get("exception")
    fields = {"job": job.function, "key": job.key, "status": str(job.status.value),
              "attempt": job.attempts, "duration_ms": job.duration("process")}
    if error is not None:
        log.warning("job_failed", error=type(error).__name__, **fields)
    else:
        log.info("job", **fields)


async def run_worker(settings: Settings) -> None:
    """`taskly-server worker`: process jobs until SIGINT/SIGTERM."""
    queue = create_queue(settings, max_connections=CONCURRENCY + 2)
    await queue.connect()
    try:
        await create_worker(settings, queue).start()
    finally:
        await queue.disconnect()


async def check_worker(settings: Settings, wait: float) -> dict[str, Any]:
    """Enqueue `health` and wait for a worker's answer (raises TimeoutError or saq.JobError)."""
    queue = create_queue(settings, max_connections=2)
    await queue.connect()
    try:
        import uuid

        return await queue.apply("health", timeout=wait, poll_interval=0.1,
                                 key=f"health:{uuid.uuid4().hex}", ttl=60)
    finally:
        await queue.disconnect()


@asynccontextmanager
async def queue_lifespan(app: Any) -> AsyncGenerator[None, None]:
    """Lifespan of the server's queue (`app.state.queue`) and, when configured, its own worker."""
    settings: Settings = app.state.settings
    in_process = bool(settings.worker_in_process)
    queue = create_queue(settings, max_connections=CONCURRENCY + 2 if in_process else 4)
    await queue.connect()
    app.state.queue = JobQueue(queue)
    worker_task = None
    worker = None
    if in_process:
        worker = create_worker(settings, queue, sessionmaker=app.state.sessionmaker, in_process=True)
        worker_task = asyncio.create_task(worker.start(), name="saq-worker")
    try:
        yield
    finally:
        if worker is not None and worker_task is not None:
            await worker.stop()
            worker_task.cancel()
            await asyncio.gather(worker_task, return_exceptions=True)
        await queue.disconnect()
