"""HTTP routes of the change feed (sync): the changes since a seq, and the workspace snapshot."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.params import Parameter
from taskly_shared.models import ChangesPage, Snapshot

from ...lib.clock import Clock
from ...lib.principal import Principal
from ...lib.rendered import IfNoneMatch, etag_key, held_response, rendered_json, tagged_json
from .reads import WORKSPACE_SEQ, changes_after, changes_json, snapshot_json
from .services import DEFAULT_PAGE, MAX_PAGE, repeatable_read

MAX_SEQ = 2**63 - 1
"""The largest seq Postgres' bigint holds: a larger `since` is a 400, never a driver error."""


class SyncController(Controller):
    path = "/api/v1/workspaces/{workspace_id:uuid}"
    tags = ["sync"]

    @get("/changes")
    async def changes(
        self, request: Request, workspace_id: uuid.UUID, principal: Principal, state: State,
        since: Annotated[int, Parameter(ge=0, le=MAX_SEQ, description="The last seq the client has.")] = 0,
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    ) -> Response[ChangesPage]:
        """Changes with seq > since, oldest first; 410 `gone` when since is below the pruned feed."""
        body = await changes_json(state, principal.user_id, workspace_id, since, limit)
        return rendered_json(body)

    @get("/snapshot")
    async def snapshot(self, request: Request, workspace_id: uuid.UUID, principal: Principal,
                       state: State) -> Response[Snapshot]:
        """The whole workspace (soft-deleted cards included), exactly as of `seq` (ETag: 304 when
        If-None-Match has it)."""
        clock = Clock(state.settings.test_clock_file)
        # Sprint statuses follow the day: the hour is part of the tag (and the caller's role).
        key = etag_key("snapshot", workspace_id, principal.user_id, clock.now().strftime("%Y-%m-%dT%H"))
        conditions, rendered = IfNoneMatch(request), state.rendered
        held = await held_response(request, state.engine, rendered, key, conditions,
                                   changes_after(state, principal.user_id), WORKSPACE_SEQ,
                                   workspace_id, principal.user_id)
        if held is not None:
            return held
        async with repeatable_read(state.sessionmaker) as db:
            seq, body, cards = await snapshot_json(
                db, principal.user_id, workspace_id, clock,
                rendered.known_seq(key, conditions.known_seq(key)), state.settings.snapshot_split_at)
        return tagged_json(request, rendered.body(key, seq, body, cards), seq, key, conditions)


ROUTES = [SyncController]
