"""Work that arrives together, done together.

Items are done one batch at a time; a batch is whatever has arrived while the previous one ran
(up to a limit), so an idle process does a lone item at once and a busy one shares one round
trip and one commit among many. Card moves (domain/cards/moves.py) and the card side of
create_branch (domain/github/starts.py) go through it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


class Batches(Generic[Item, Outcome]):
    """`submit` an item, get its outcome; `run` does a batch and answers an outcome per item,
    in order (an exception among them is raised to that item's caller only)."""

    def __init__(self, run: Callable[[list[Item]], Awaitable[Sequence[Outcome | Exception]]],
                 max_batch: int) -> None:
        self.run = run
        self.max_batch = max_batch
        self.waiting: list[tuple[Item, asyncio.Future[Outcome]]] = []
        self.task: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Outcome:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self.waiting.append((item, future))
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        batch: list[tuple[Item, asyncio.Future[Outcome]]] = []
        try:
            while self.waiting:
                batch, self.waiting = self.waiting[:self.max_batch], self.waiting[self.max_batch:]
                try:
                    outcomes: Sequence[Outcome | Exception] = await self.run([item for item, _ in batch])
                except Exception as exc:
                    outcomes = [exc] * len(batch)
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():  # its caller went away
                        continue
                    if isinstance(outcome, Exception):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self.task = None
            for _, future in batch + self.waiting:  # cancelled (shutting down): nobody waits on
                if not future.done():
                    future.cancel()
            self.waiting = []
