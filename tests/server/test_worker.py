"""A real `taskly-server worker` process runs enqueued jobs, on the Redis and the Postgres queue."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from saq import Job
from saq.job import Status
from saq.utils import now
from sqlalchemy import select
from taskly_server.db.base import utcnow
from taskly_server.db.models import Change, Workspace
from taskly_server.db.session import create_engine, create_sessionmaker, head_revision
from taskly_server.lib.jobs import JOB_DEFAULTS, JobQueue
from taskly_server.settings import Settings
from taskly_server.worker import create_queue

from tests.support.processes import BIN
from tests.support.services import REDIS_URL, create_database, drop_database, require

SECRET = "worker-test-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def worker_database() -> Iterator[str]:
    """A database of its own: prune_feed acts on every workspace it finds."""
    name, url = create_database("taskly_worker")
    yield url
    drop_database(name)


@pytest.fixture(params=["redis", "postgres"])
def worker_settings(request: pytest.FixtureRequest, worker_database: str) -> Settings:
    """Settings of one backend, with a queue name of its own."""
    redis_url = None
    if request.param == "redis":
        require(REDIS_URL, 6379, "Redis")
        redis_url = REDIS_URL
    return Settings(database_url=worker_database, redis_url=redis_url, secret_key=SECRET,
                    queue_name=f"test-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def worker_process(worker_settings: Settings, tmp_path: Path) -> Iterator[subprocess.Popen]:
    env = {**os.environ, "TASKLY_DATABASE_URL": worker_settings.database_url,
           "TASKLY_SECRET_KEY": SECRET, "TASKLY_QUEUE_NAME": worker_settings.queue_name}
    env.pop("TASKLY_REDIS_URL", None)
    if worker_settings.redis_url:
        env["TASKLY_REDIS_URL"] = worker_settings.redis_url
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen([str(BIN / "taskly-server"), "worker"], env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    yield process
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    log.close()
    assert process.returncode == 0, (tmp_path / "worker.log").read_text()


@pytest.fixture
async def jobs(worker_settings: Settings) -> AsyncIterator[JobQueue]:
    queue = create_queue(worker_settings, max_connections=2)
    await queue.connect()
    yield JobQueue(queue)
    await queue.disconnect()


async def run_job(jobs: JobQueue, name: str, **kwargs) -> dict:
    key = f"{name}:{uuid.uuid4().hex}"
    assert await jobs.enqueue(name, key=key, **kwargs) is not None
    for _ in range(300):
        job = await jobs.job(key)
        if job is not None and job.status in (Status.COMPLETE, Status.FAILED, Status.ABORTED):
            assert job.status == Status.COMPLETE, job.error
            return job.result
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {name} was not processed within 30 s")


async def seed_feed(database_url: str) -> Workspace:
    """A workspace with two changes older than the 30-day retention and one fresh change."""
    engine = create_engine(database_url, pool_size=1)
    async with create_sessionmaker(engine)() as db, db.begin():
        workspace = Workspace(name="Pruned", seq=3)
        db.add(workspace)
        await db.flush()
        now = utcnow()
        for seq, age in ((1, timedelta(days=40)), (2, timedelta(days=31)), (3, timedelta(hours=1))):
            db.add(Change(workspace_id=workspace.id, seq=seq, entity_type="workspace",
                          entity_id=workspace.id, op="update", data={"name": f"v{seq}"},
                          actor_type="user", created_at=now - age))
    await engine.dispose()
    return workspace


async def read_feed(database_url: str, workspace_id: uuid.UUID) -> tuple[int, dict[int, object]]:
    engine = create_engine(database_url, pool_size=1)
    async with create_sessionmaker(engine)() as db:
        floor = await db.scalar(select(Workspace.feed_floor).where(Workspace.id == workspace_id))
        rows = (await db.execute(select(Change.seq, Change.data)
                                 .where(Change.workspace_id == workspace_id))).all()
    await engine.dispose()
    return floor, dict(rows)


async def test_worker_runs_health_and_prune_feed(worker_settings: Settings, worker_process, jobs: JobQueue) -> None:
    health = await run_job(jobs, "health")
    assert health["queue"] == ("redis" if worker_settings.redis_url else "postgres")
    assert health["migration"] == head_revision()

    workspace = await seed_feed(worker_settings.database_url)
    summary = await run_job(jobs, "prune_feed")
    assert summary["retention_days"] == 30
    assert summary["workspaces"] >= 1 and summary["changes"] >= 2
    floor, data = await read_feed(worker_settings.database_url, workspace.id)
    assert floor == 2
    assert data == {1: None, 2: None, 3: {"name": "v3"}}

    again = await run_job(jobs, "prune_feed")  # idempotent: nothing left to prune
    assert again["changes"] == 0


async def test_enqueue_with_a_live_key_collapses(worker_settings: Settings, jobs: JobQueue) -> None:
    """No worker runs here: the first job stays queued, so its key is still taken."""
    key = f"dedup:{uuid.uuid4().hex}"
    assert await jobs.enqueue("health", key=key) is not None
    assert await jobs.enqueue("health", key=key) is None
    job = await jobs.job(key)
    assert job is not None and job.status == Status.QUEUED and job.retries == 4
    await jobs.saq.abort(job, "test over")


@pytest.fixture
async def redis_jobs() -> AsyncIterator[JobQueue]:
    require(REDIS_URL, 6379, "Redis")
    settings = Settings(database_url=None, redis_url=REDIS_URL, secret_key=SECRET,
                        queue_name=f"test-{uuid.uuid4().hex[:8]}")
    queue = create_queue(settings)
    await queue.connect()
    yield JobQueue(queue)
    await queue.disconnect()


async def test_redis_sweep_spares_a_job_just_dequeued(redis_jobs: JobQueue) -> None:
    """A worker moves a job to the active list, then marks it active: a sweep in between must
    not take it for a lost job (SAQ's own sweep aborted and re-queued it, so it ran twice). A
    job still unclaimed at the next sweep was lost with its worker, and is queued again."""
    queue = redis_jobs.saq

    async def sweep() -> list[str]:  # now, whenever the last sweep was
        await queue.redis.delete(queue._sweep)
        return await queue.sweep(lock=60, abort=0.1)

    key = f"health:{uuid.uuid4().hex}"
    await redis_jobs.enqueue("health", key=key, heartbeat=5)
    job_id = await queue.redis.blmove(queue._queued, queue._active, 1, "LEFT", "RIGHT")  # dequeued
    assert job_id == queue.job_id(key).encode()

    assert await sweep() == []  # the worker is about to mark it active
    assert (await redis_jobs.job(key)).status == Status.QUEUED

    assert await sweep() == [queue.job_id(key)]  # still unclaimed: its worker is gone
    swept = await redis_jobs.job(key)
    assert swept.status == Status.QUEUED and swept.error == queue.swept_error_message
    assert await queue.redis.lrange(queue._active, 0, -1) == []
    assert await queue.redis.zscore(queue._incomplete, job_id) > 0  # to run again, after a delay

    other = f"health:{uuid.uuid4().hex}"
    await redis_jobs.enqueue("health", key=other, heartbeat=5)
    claimed = await queue.dequeue(timeout=1)  # dequeued and marked active, as a worker does
    assert claimed.key == other
    claimed.started, claimed.attempts = now(), 1
    await claimed.update(status=Status.ACTIVE)
    assert await sweep() == [] and await sweep() == []
    for done in (swept, claimed):
        await queue.abort(done, "test over")


async def wait_done(jobs: JobQueue, key: str) -> Job:
    for _ in range(300):
        job = await jobs.job(key)
        if job is not None and job.status in (Status.COMPLETE, Status.FAILED, Status.ABORTED):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {key} was not processed within 30 s")


async def test_a_failure_by_design_is_one_warning_line(worker_process, jobs: JobQueue,
                                                       tmp_path: Path) -> None:
    """A job that fails by design (`JobFailed`: here a branch for a card that does not exist)
    stores its one-line reason as its error and is logged as one WARNING line with job, key,
    reason and attempt: no ERROR, no traceback."""
    key = f"branch:{uuid.uuid4()}"
    ids = {name: str(uuid.uuid4()) for name in ("card_id", "user_id", "repository_id")}
    assert await jobs.enqueue("create_branch", key=key, branch="nowhere", **ids) is not None
    job = await wait_done(jobs, key)
    reason = "the card was deleted; no branch was created"
    assert (job.status, job.error, job.attempts) == (Status.FAILED, reason, 1)

    log_path = tmp_path / "worker.log"
    for _ in range(50):  # the line follows the job's last write
        if key in log_path.read_text():
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)
    log = log_path.read_text()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    [line] = [line for line in lines if key in json.dumps(line)]
    assert {name: line[name] for name in ("event", "level", "job", "key", "error", "attempt")} == {
        "event": "job_failed", "level": "warning", "job": "create_branch", "key": key,
        "error": reason, "attempt": 1}
    assert "Traceback" not in log and "JobFailed" not in log, log
    assert not [line for line in lines if line.get("level") in ("error", "critical")], log


async def test_one_sweep_takes_back_every_job_of_a_dead_worker(jobs: JobQueue) -> None:
    """A worker died holding three jobs, one of which has missed its heartbeat already, the other
    two not yet: one sweep queues all three again (SAQ's sweep took them back one per 5 s, and
    the two others a sweep later). A live worker's job stays with it."""
    queue = jobs.saq
    keys = [f"health:{uuid.uuid4().hex}" for _ in range(4)]
    for key in keys:
        await queue.enqueue(Job(function="health", key=key, **{**JOB_DEFAULTS, "heartbeat": 5}))
    held = {}
    for _ in keys:
        job = await queue.dequeue(timeout=1)
        held[job.key] = job
    for key, worker, age in zip(keys, ["dead", "dead", "dead", "live"], [10, 3, 3, 0], strict=True):
        job = held[key]  # as its worker left it: started and last touched `age` seconds ago
        job.worker_id, job.attempts, job.started = worker, 1, now() - age * 1000
        job.touched = job.started
        await queue._update(job, status=Status.ACTIVE)
    if hasattr(queue, "_sweep"):
        await queue.redis.delete(queue._sweep)  # sweep now, whenever the last sweep was

    started = time.monotonic()
    swept = await queue.sweep(lock=5, abort=0.5)
    assert time.monotonic() - started < 5  # the abort window (0.5 s) once, not once a job
    assert sorted(swept) == sorted(queue.job_id(key) for key in keys[:3])
    for key in keys[:3]:
        job = await jobs.job(key)
        assert (job.status, job.error, job.attempts) == (Status.QUEUED, queue.swept_error_message, 1)
    assert (await jobs.job(keys[3])).status == Status.ACTIVE
    for key in keys:
        await queue.abort(await jobs.job(key), "test over")


async def test_a_sweep_leaves_a_job_its_worker_touched_since(jobs: JobQueue) -> None:
    """The sweep writes only over the record it read: a job whose worker beat (or finished it)
    in between stays with that worker."""
    queue = jobs.saq
    key = f"health:{uuid.uuid4().hex}"
    await queue.enqueue(Job(function="health", key=key, **{**JOB_DEFAULTS, "heartbeat": 5}))
    job = await queue.dequeue(timeout=1)
    job.worker_id, job.attempts, job.started = "slow", 1, now() - 10_000
    job.touched = job.started
    await queue._update(job, status=Status.ACTIVE)
    [seen] = await queue._stranded([key])
    assert seen.job.stuck
    await job.update()  # the worker's heartbeat, after the sweep read the job
    assert await queue._sweep_stranded([seen], 0.2) == []
    stored = await jobs.job(key)
    assert (stored.status, stored.error) == (Status.ACTIVE, None)
    await queue.abort(stored, "test over")
