"""`batching.Batches`: what arrives while a batch runs makes the next one; outcomes per item."""

from __future__ import annotations

import asyncio

import pytest
from taskly_server.lib.batching import Batches


async def test_items_that_arrive_together_share_a_batch_and_each_gets_its_outcome():
    seen: list[list[int]] = []

    async def run(items: list[int]) -> list[int | Exception]:
        seen.append(items)
        await asyncio.sleep(0.01)
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]

    batches: Batches[int, int] = Batches(run, max_batch=3)
    alone = await batches.submit(0)
    outcomes = await asyncio.gather(*(batches.submit(i) for i in range(1, 6)), return_exceptions=True)
    assert alone == 0 and seen[0] == [0]
    assert seen[1:] == [[1, 2, 3], [4, 5]]  # at most max_batch; the rest make the next batch
    assert [o if isinstance(o, int) else str(o) for o in outcomes] == ["odd 1", 20, "odd 3", 40, "odd 5"]


async def test_a_failed_batch_fails_its_items_and_the_next_batch_still_runs():
    calls = 0

    async def run(items: list[str]) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database away")
        return [item.upper() for item in items]

    batches: Batches[str, str] = Batches(run, max_batch=10)
    with pytest.raises(RuntimeError, match="database away"):
        await batches.submit("a")
    assert await batches.submit("b") == "B"


async def test_a_caller_that_goes_away_does_not_stop_the_others():
    release = asyncio.Event()

    async def run(items: list[int]) -> list[int]:
        await release.wait()
        return items

    batches: Batches[int, int] = Batches(run, max_batch=10)
    first = asyncio.create_task(batches.submit(1))
    second = asyncio.create_task(batches.submit(2))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    assert await second == 2
    with pytest.raises(asyncio.CancelledError):
        await first
