"""HTTP routes of sprints."""

from __future__ import annotations

import uuid

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import HeaderParameter
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import (
    SprintBurndown,
    SprintClose,
    SprintClosed,
    SprintCreate,
    SprintOut,
    SprintPatch,
)

from ...lib.clock import Clock
from ...lib.mutation import execute
from ...lib.principal import Principal
from ...settings import Settings
from .services import SprintService


def clock_of(settings: Settings) -> Clock:
    """The clock sprints count days by (a test may set it)."""
    return Clock(settings.test_clock_file)

IF_MATCH = HeaderParameter(name="If-Match", default=None, required=False,
                           description="The sprint version the client saw (like `version`).")


class BoardSprintController(Controller):
    path = "/api/v1/boards/{board_id:uuid}/sprints"
    tags = ["sprints"]

    @get("/")
    async def list_sprints(self, principal: Principal, db: AsyncSession, settings: Settings,
                           board_id: uuid.UUID) -> list[SprintOut]:
        """The board's sprints (not deleted) by start date."""
        return await SprintService(db, clock_of(settings)).list(principal, board_id)

    @post("/", status_code=201)
    async def create(self, request: Request, principal: Principal, settings: Settings,
                     board_id: uuid.UUID, data: SprintCreate) -> Response[SprintOut]:
        """A sprint: its name unique on the board, its dates not overlapping another open one."""
        clock = clock_of(settings)
        return await execute(request, principal,
                             lambda m: SprintService(m, clock).create(principal, board_id, data), 201)


class SprintController(Controller):
    path = "/api/v1/sprints/{sprint_id:uuid}"
    tags = ["sprints"]

    @get("/")
    async def read(self, principal: Principal, db: AsyncSession, settings: Settings,
                   sprint_id: uuid.UUID) -> SprintOut:
        return await SprintService(db, clock_of(settings)).get(principal, sprint_id)

    @patch("/")
    async def update(self, request: Request, principal: Principal, settings: Settings,
                     sprint_id: uuid.UUID, data: SprintPatch,
                     if_match: str | None = IF_MATCH) -> Response[SprintOut]:
        """Change the fields the body names (null clears the goal)."""
        clock = clock_of(settings)
        return await execute(request, principal,
                             lambda m: SprintService(m, clock).update(principal, sprint_id, data, if_match))

    @delete("/", status_code=204)
    async def remove(self, request: Request, principal: Principal, settings: Settings,
                     sprint_id: uuid.UUID) -> Response[None]:
        """Soft delete: its cards leave the sprint and keep their history."""
        clock = clock_of(settings)
        return await execute(request, principal,
                             lambda m: SprintService(m, clock).delete(principal, sprint_id), 204)

    @post("/close", status_code=200)
    async def close(self, request: Request, principal: Principal, settings: Settings,
                    sprint_id: uuid.UUID, data: SprintClose) -> Response[SprintClosed]:
        """Close it; its unfinished cards move to `carry_over_to` (or to no sprint), once."""
        clock = clock_of(settings)
        return await execute(request, principal,
                             lambda m: SprintService(m, clock).close(principal, sprint_id, data))

    @get("/burndown")
    async def burndown(self, principal: Principal, db: AsyncSession, settings: Settings,
                       sprint_id: uuid.UUID) -> SprintBurndown:
        """Remaining, completed, scope and ideal points at the end of each day (UTC) from the
        start to min(end, today), replayed from the change feed."""
        return await SprintService(db, clock_of(settings)).burndown(principal, sprint_id)


ROUTES = [BoardSprintController, SprintController]
