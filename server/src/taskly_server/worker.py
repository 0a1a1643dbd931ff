"""SAQ: the job queue, the job list, cron, and the worker (separate or inside the server).

The queue lives on Redis when `TASKLY_REDIS_URL` is set, else on Postgres (SAQ's own `saq_*`
tables next to ours, LISTEN/NOTIFY wake-ups). Jobs are small idempotent functions with keyword
arguments that return a summary; their context holds `settings`, `sessionmaker` and `queue`.
Services enqueue through `app.state.queue` (a `lib.jobs.JobQueue`), with a key so duplicates
collapse: `await state.queue.enqueue("create_branch", key=f"branch:{card_id}", card_id=str(card_id))`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from time import monotonic
from typing import Any

import structlog
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from saq import CronJob, Job, Queue, Worker
from sqlalchemy import text
from sqlalchemy.engine import make_url

from .domain.feed.jobs import prune_feed
from .domain.github.jobs import JOBS as GITHUB_JOBS
from .domain.github.jobs import BranchJobReads
from .domain.github.starts import CardStarts
from .domain.notifications.consumers import CONSUMER as NOTIFICATIONS
from .domain.notifications.reminders import send_reminders
from .domain.pulls.comments import JOBS as COMMENT_JOBS
from .domain.pulls.consumers import CONSUMER as PR_COMMENTS
from .domain.pulls.jobs import JOBS as WEBHOOK_JOBS
from .domain.pulls.reconcile import JOBS as RECONCILE_JOBS
from .domain.pulls.reconcile import reconcile_stale
from .domain.recurrence.consumers import CONSUMER as RECURRENCE
from .lib.clock import Clock
from .lib.consumers import FeedConsumers, NoticeListener, sweep_consumers
from .lib.deadlines import bounded
from .lib.jobs import (
    Announcer,
    JobDeferred,
    JobFailed,
    JobQueue,
    QuietJobFailures,
    restore_retry_policy,
)
from .lib.queues import PostgresJobQueue, RedisJobQueue
from .observability import report_task_errors, tag_error_reports
from .settings import Settings

log = structlog.get_logger("taskly.worker")

CONCURRENCY = 20
"""Jobs one worker runs at once. Branch jobs wait on GitHub most of their time; with 20 of them in
flight, those that start or finish together share their queries (BranchJobReads in
domain/github/jobs.py, CardStarts in domain/github/starts.py). Each may wait on GitHub in a thread
of its own: asyncio's default pool has cpu_count + 4 threads (6 here), which let only 6 GitHub
calls out at a time."""
TIMERS: dict[str, int] = {"sweep": 5}
"""Look for jobs whose worker died every 5 s (SAQ's default is 60 s), so they are retried soon;
one sweep takes back all of them at once (lib/queues.py)."""
SHUTDOWN_GRACE = 10.0
"""Seconds a stopping worker lets running jobs finish before cancelling them (they are retried)."""



async def health(ctx: dict[str, Any]) -> dict[str, Any]:
    """A round trip through queue, worker and database: what `taskly-server worker --check` asks."""
    async with ctx["sessionmaker"]() as db:
        version = await db.scalar(text("SHOW server_version"))
        migration = await db.scalar(text("SELECT version_num FROM alembic_version"))
    return {"worker": ctx["worker"].id, "queue": backend(ctx["settings"]),
            "database": version, "migration": migration}


JOBS: list[Any] = [health, prune_feed, sweep_consumers, send_reminders, *GITHUB_JOBS, *WEBHOOK_JOBS,
                      *RECONCILE_JOBS, *COMMENT_JOBS]
CRON: list[CronJob] = [
    CronJob(prune_feed, cron="17 * * * *", timeout=600, retries=2),  # hourly, off the full hour
    CronJob(send_reminders, cron="* * * * *", timeout=120, retries=2),  # every minute
    CronJob(reconcile_stale, cron="*/10 * * * *", timeout=120, retries=1),  # GitHub drift
]
CONSUMERS = [RECURRENCE, NOTIFICATIONS, PR_COMMENTS]
"""The change-feed consumers every worker runs (lib/consumers.py), in this order per workspace."""


def cron_jobs(settings: Settings) -> list[CronJob]:
    """CRON, and the consumers' sweep every `consumer_sweep_interval` seconds (croniter's sixth
    field is seconds)."""
    sweep = CronJob(sweep_consumers, cron=f"* * * * * */{settings.consumer_sweep_interval}",
                    timeout=60, retries=1, ttl=60)
    return [*CRON, sweep]


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
        return RedisJobQueue(redis_client(settings.redis_url), name=settings.queue_name)
    assert settings.database_url, "the Postgres queue needs a database URL"
    pool = AsyncConnectionPool(psycopg_url(settings.database_url), open=False, min_size=1,
                               max_size=max_connections, kwargs={"autocommit": True},
                               check=_check_unless_fresh, reset=_mark_returned)
    return PostgresJobQueue(pool, name=settings.queue_name, min_size=1, max_size=max_connections,
                            manage_pool_lifecycle=True)


REDIS_CONNECT_TIMEOUT = 2.0
"""Seconds to open a Redis connection: a Redis that is down fails a request fast (503)."""


def redis_client(url: str) -> Any:
    """A Redis client that gives up quickly when Redis is down: one retry after 50 ms, instead of
    redis-py's three with jittered backoff of up to 14 s in all. No read timeout: a worker's
    dequeue blocks on Redis by design (a silent Redis is bounded by each request's deadline)."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import ConstantBackoff

    return Redis.from_url(url, socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
                          retry=Retry(ConstantBackoff(0.05), 1))


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

            engine = create_engine(settings.database_url, pool_size=5,
                                   connect_timeout=settings.db_connect_timeout)
            ctx["sessionmaker"] = create_sessionmaker(engine)
        else:
            ctx["sessionmaker"] = sessionmaker
        ctx["settings"] = settings
        ctx["queue"] = JobQueue(queue)
        ctx["card_starts"] = CardStarts(ctx)
        ctx["branch_reads"] = BranchJobReads(ctx)
        ctx["clock"] = Clock(settings.test_clock_file)
        ctx["announcer"] = Announcer(ctx)
        ctx["consumers"] = FeedConsumers(CONSUMERS, ctx["sessionmaker"], settings, ctx["announcer"],
                                         ctx["clock"], queue=ctx["queue"])
        await ctx["consumers"].register()
        ctx["notice_listener"] = NoticeListener(settings, ctx["consumers"])
        ctx["notice_listener"].start()
        log.info("worker_started", queue=queue.name, backend=backend(settings),
                 jobs=sorted(worker.functions), in_process=in_process)

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "notice_listener" in ctx:
            await ctx["notice_listener"].stop()
            await bounded(ctx["consumers"].idle(), SHUTDOWN_GRACE, "feed consumers")
        if engine is not None:
            from .db.session import dispose

            await dispose(engine)

    QuietJobFailures.install(logging.getLogger("saq"))
    worker_class = InProcessWorker if in_process else TasklyWorker
    worker = worker_class(queue, JOBS, concurrency=CONCURRENCY, cron_jobs=cron_jobs(settings), startup=startup,
                          shutdown=[shutdown], before_process=[_tag_job], after_process=[_log_job],
                          timers=TIMERS)
    return worker


async def _tag_job(ctx: dict[str, Any]) -> None:
    """An error report from the job's task names the job (SAQ runs each attempt in a task of its
    own, created after this hook: the task starts from these tags)."""
    job: Job = ctx["job"]
    restore_retry_policy(job)
    tag_error_reports(job=job.function, job_key=job.key, job_attempt=job.attempts)


async def _log_job(ctx: dict[str, Any]) -> None:
    """One line per attempt; a failure by design (`JobFailed`) with its reason, any other
    exception by its type (SAQ has logged its traceback at ERROR)."""
    job: Job = ctx["job"]
    error = ctx.get("exception")
    if error is None and job.function == "sweep_consumers":
        return  # every few seconds: the sweep it starts logs `consumers_swept` when it finds work
    fields = {"job": job.function, "key": job.key, "status": str(job.status.value),
              "attempt": job.attempts, "duration_ms": job.duration("process")}
    if isinstance(error, JobDeferred):
        log.info("job_deferred", reason=str(error), **fields)
    elif isinstance(error, JobFailed):
        log.warning("job_failed", error=str(error), **fields)
    elif error is not None:
        log.warning("job_failed", error=type(error).__name__, **fields)
    else:
        log.info("job", **fields)


async def run_worker(settings: Settings) -> None:
    """`taskly-server worker`: process jobs until SIGINT/SIGTERM."""
    report_task_errors()
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
    report_task_errors()  # the server's event loop: its tasks' unhandled errors go to Sentry
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
        budget = settings.shutdown_timeout
        if worker is not None and worker_task is not None:
            await bounded(worker.stop(), budget * 0.3, "in-process worker")
            worker_task.cancel()
            await bounded(asyncio.gather(worker_task, return_exceptions=True), 1, "in-process worker")
        await bounded(queue.disconnect(), 2, "job queue")
