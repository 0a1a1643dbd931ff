"""The reminders cron job with three real worker processes and the test clock: a passed `remind_at`
notifies each assignee (the creator when none) once however many runs overlap, a new `remind_at`
fires again; due-tomorrow and overdue notifications come once, from 09:00 in each user's time zone."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from saq.job import Status
from taskly_server.lib.jobs import JobQueue
from taskly_server.settings import Settings
from taskly_server.worker import create_queue

from tests.support.api import Api
from tests.support.consumers import ConsumerStack, consumer_database

pytestmark = pytest.mark.timeout(180)
__all__ = ["consumer_database"]

RUNS = 6
"""Runs of the job enqueued at once: the three workers take them together."""


@pytest.fixture(scope="module")
def stack(consumer_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsumerStack]:
    stack = ConsumerStack.start(tmp_path_factory.mktemp("reminders"), consumer_database, workers=3)
    yield stack
    stack.stop()


@pytest.fixture
async def jobs(stack: ConsumerStack) -> AsyncIterator[JobQueue]:
    settings = Settings(database_url=stack.database_url, secret_key="x" * 32,
                        queue_name=stack.env["TASKLY_QUEUE_NAME"])
    queue = create_queue(settings, max_connections=2)
    await queue.connect()
    yield JobQueue(queue)
    await queue.disconnect()


async def run_reminders(stack: ConsumerStack, jobs: JobQueue, at: datetime) -> list[dict]:
    """Set the clock and run the job RUNS times at once; their results."""
    stack.set_now(at)
    keys = [f"reminders-test:{uuid.uuid4().hex}" for _ in range(RUNS)]
    await asyncio.gather(*(jobs.enqueue("send_reminders", key=key) for key in keys))
    results = []
    for key in keys:
        for _ in range(600):
            job = await jobs.job(key)
            if job is not None and job.status in (Status.COMPLETE, Status.FAILED, Status.ABORTED):
                break
            await asyncio.sleep(0.05)
        assert job is not None and job.status == Status.COMPLETE, (job, stack.workers[0].log()[-2000:])
        results.append(job.result)
    return results


def received(api: Api, kind: str) -> Counter:
    notes = api.ok("GET", "/notifications", params={"limit": 200})["notifications"]
    return Counter(n["card_key"] for n in notes if n["kind"] == kind)


async def expect_received(api: Api, kind: str, expected: Counter) -> None:
    """`received` is `expected`, within 15 s: the workers' own minutely cron run may take a due
    card before the test's jobs do (they then skip it, locked) and commit after them."""
    for _ in range(150):
        if (found := received(api, kind)) == expected:
            return
        await asyncio.sleep(0.1)
    assert found == expected


class Team:
    def __init__(self, stack: ConsumerStack) -> None:
        self.owner = stack.login()
        self.workspace = self.owner.workspace("Reminded")
        self.board = self.owner.board(self.workspace["id"], "REM")
        self.alice, self.bob = self.join(), self.join()

    def join(self) -> Api:
        api = Api.login(self.owner.base_url)
        invitation = self.owner.ok("POST", f"/workspaces/{self.workspace['id']}/invitations", json={})
        api.ok("POST", f"/invitations/{invitation['token']}/accept")
        return api

    def card(self, title: str, **fields: object) -> dict:
        return self.owner.ok("POST", f"/boards/{self.board['id']}/cards", json={"title": title, **fields})


async def test_reminders_fire_once_with_three_workers_and_again_when_moved(stack: ConsumerStack,
                                                                          jobs: JobQueue) -> None:
    assert all(worker.poll() is None for worker in stack.workers) and len(stack.workers) == 3
    team = Team(stack)
    shared = team.card("Ship it", remind_at="2030-01-04T08:00:00Z",
                       assignees=[team.alice.username, team.bob.username])
    own = team.card("Call back", remind_at="2030-01-04T10:00:00Z")  # no assignee: its creator

    await run_reminders(stack, jobs, datetime(2030, 1, 4, 8, 30, tzinfo=UTC))
    await expect_received(team.alice, "reminder", Counter({shared["key"]: 1}))
    await expect_received(team.bob, "reminder", Counter({shared["key"]: 1}))
    await expect_received(team.owner, "reminder", Counter())
    [note] = [n for n in team.alice.ok("GET", "/notifications")["notifications"] if n["kind"] == "reminder"]
    assert note["actor"] == "reminders" and note["card_title"] == "Ship it"
    assert note["created_at"].startswith("2030-01-04T08:30:00")  # the test clock's now

    await run_reminders(stack, jobs, datetime(2030, 1, 4, 10, 5, tzinfo=UTC))
    await expect_received(team.owner, "reminder", Counter({own["key"]: 1}))
    await expect_received(team.alice, "reminder", Counter({shared["key"]: 1}))

    team.owner.ok("PATCH", f"/cards/{shared['key']}", json={"remind_at": "2030-01-04T11:00:00Z"})
    await run_reminders(stack, jobs, datetime(2030, 1, 4, 10, 59, tzinfo=UTC))
    await expect_received(team.alice, "reminder", Counter({shared["key"]: 1}))
    await run_reminders(stack, jobs, datetime(2030, 1, 4, 11, 0, tzinfo=UTC))
    await expect_received(team.alice, "reminder", Counter({shared["key"]: 2}))
    await expect_received(team.bob, "reminder", Counter({shared["key"]: 2}))

    # a member who turned reminders off gets none; a removed one neither
    team.alice.ok("PATCH", "/me/settings", json={"notify": {"reminder": False}})
    team.owner.ok("DELETE", f"/workspaces/{team.workspace['id']}/members/{team.bob.username}")
    team.owner.ok("PATCH", f"/cards/{shared['key']}", json={"remind_at": "2030-01-04T12:00:00Z"})
    await run_reminders(stack, jobs, datetime(2030, 1, 4, 12, 0, tzinfo=UTC))
    await expect_received(team.alice, "reminder", Counter({shared["key"]: 2}))
    await expect_received(team.bob, "reminder", Counter({shared["key"]: 2}))


async def test_due_soon_and_overdue_at_nine_in_each_users_zone(stack: ConsumerStack, jobs: JobQueue) -> None:
    team = Team(stack)
    team.owner.ok("PATCH", "/me/settings", json={"timezone": "Europe/Berlin"})
    card = team.card("Renew domain", due="2031-03-11", assignees=[team.owner.username, team.alice.username])
    done = team.card("Already done", due="2031-03-11", assignees=[team.alice.username], column="Done")
    key = card["key"]

    await run_reminders(stack, jobs, datetime(2031, 3, 10, 7, 59, tzinfo=UTC))  # 08:59 in Berlin
    assert received(team.owner, "due_soon") == Counter() == received(team.alice, "due_soon")
    await run_reminders(stack, jobs, datetime(2031, 3, 10, 8, 0, tzinfo=UTC))  # 09:00 in Berlin
    assert received(team.owner, "due_soon") == Counter({key: 1})
    assert received(team.alice, "due_soon") == Counter()
    await run_reminders(stack, jobs, datetime(2031, 3, 10, 9, 0, tzinfo=UTC))
    await run_reminders(stack, jobs, datetime(2031, 3, 10, 15, 0, tzinfo=UTC))
    assert received(team.owner, "due_soon") == Counter({key: 1})
    assert received(team.alice, "due_soon") == Counter({key: 1})

    await run_reminders(stack, jobs, datetime(2031, 3, 11, 12, 0, tzinfo=UTC))  # due today: nothing new
    assert received(team.alice, "overdue") == Counter()
    await run_reminders(stack, jobs, datetime(2031, 3, 12, 8, 0, tzinfo=UTC))  # the morning after, Berlin
    assert received(team.owner, "overdue") == Counter({key: 1})
    assert received(team.alice, "overdue") == Counter()
    await run_reminders(stack, jobs, datetime(2031, 3, 12, 9, 0, tzinfo=UTC))
    await run_reminders(stack, jobs, datetime(2031, 3, 13, 9, 0, tzinfo=UTC))
    assert received(team.owner, "overdue") == Counter({key: 1})
    assert received(team.alice, "overdue") == Counter({key: 1})
    assert done["key"] not in received(team.alice, "due_soon") + received(team.alice, "overdue")
