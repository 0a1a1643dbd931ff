"""HTTP routes of sync: the change feed and the workspace snapshot."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.datastructures import State
from litestar.params import Parameter
from taskly_shared.models import ChangesPage, Snapshot

from ..auth.tokens import Principal
from .services import DEFAULT_PAGE, MAX_PAGE, FeedService, repeatable_read


class SyncController(Controller):
    path = "/api/v1/workspaces/{workspace_id:uuid}"
    tags = ["sync"]

    @get("/changes")
    async def changes(
        self, workspace_id: uuid.UUID, principal: Principal, state: State,
        since: Annotated[int, Parameter(ge=0, description="The last seq the client has.")] = 0,
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    ) -> ChangesPage:
        """Changes with seq > since, oldest first; 410 `gone` when since is below the pruned feed."""
        async with repeatable_read(state.sessionmaker) as db:
            return await FeedService(db).changes(principal.user_id, workspace_id, since, limit)

    @get("/snapshot")
    async def snapshot(self, workspace_id: uuid.UUID, principal: Principal, state: State) -> Snapshot:
        """The whole workspace (soft-deleted cards included), exactly as of `seq`."""
        async with repeatable_read(state.sessionmaker) as db:
            return await FeedService(db).snapshot(principal.user_id, workspace_id)


ROUTES = [SyncController]
