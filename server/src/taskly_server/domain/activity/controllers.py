"""HTTP route of the workspace's audit log."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import ActivityPage

from ...lib.principal import Principal
from .services import DEFAULT_LIMIT, MAX_LIMIT, ActivityQuery, ActivityService


class ActivityController(Controller):
    path = "/api/v1/workspaces/{workspace_id:uuid}/activity"
    tags = ["activity"]

    @get("/")
    async def activity(
        self, principal: Principal, db: AsyncSession, workspace_id: uuid.UUID,
        user: Annotated[str | None, Parameter(max_length=64, description="Username or user id.")] = None,
        card: Annotated[str | None, Parameter(max_length=64, description="Card key or id (its comments too).")] = None,
        entity: Annotated[str | None, Parameter(max_length=16, description="card, comment, column, board, sprint, member, workspace or label.")] = None,
        op: Annotated[str | None, Parameter(max_length=16, description="create, update, delete, restore or move.")] = None,
        since: Annotated[str | None, Parameter(max_length=40, description="From this date or ISO time.")] = None,
        until: Annotated[str | None, Parameter(max_length=40, description="Up to this date (included) or ISO time.")] = None,
        cursor: Annotated[int | None, Parameter(ge=1, le=2**63 - 1,  # a bigint seq
                                                description="`next_cursor` of the previous page.")] = None,
        limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    ) -> ActivityPage:
        """Who changed what, field by field from what to what, and when: newest first, paged
        (members and up). Kept when the feed's sync payload is pruned."""
        query = ActivityQuery(user=user, card=card, entity=entity, op=op, since=since, until=until,
                              cursor=cursor, limit=limit)
        return await ActivityService(db).page(principal, workspace_id, query)


ROUTES = [ActivityController]
