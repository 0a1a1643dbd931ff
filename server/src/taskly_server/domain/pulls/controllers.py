"""HTTP routes of a board's automation rules."""

from __future__ import annotations

import uuid

from litestar import Controller, Request, Response, get, put
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import AutomationUpdate, BoardAutomation

from ...lib.mutation import execute
from ...lib.principal import Principal
from .services import AutomationService


class BoardAutomationController(Controller):
    path = "/api/v1/boards/{board_id:uuid}/automation"
    tags = ["boards"]

    @get("/")
    async def read(self, principal: Principal, db: AsyncSession, board_id: uuid.UUID) -> BoardAutomation:
        """Where each pull-request event moves the board's linked cards (Taskly's defaults unless set)."""
        return await AutomationService(db).get(principal, board_id)

    @put("/")
    async def update(self, request: Request, principal: Principal, board_id: uuid.UUID,
                     data: AutomationUpdate) -> Response[BoardAutomation]:
        """Set rules (admins): `{"rules": {"pr_opened": {"column": "QA"}, "pr_merged": {"kind":
        "done"}, "pr_approved": {"enabled": false}, "pr_closed": null}}`; null resets to the default."""
        return await execute(request, principal,
                             lambda m: AutomationService(m).update(principal, board_id, data))


ROUTES = [BoardAutomationController]
