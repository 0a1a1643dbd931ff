"""Routes of connected repositories."""

from __future__ import annotations

import uuid

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import (
    RepositoryConnect,
    RepositoryConnectOut,
    RepositoryOut,
    RepositoryStatus,
    RepositorySync,
    RepositorySyncOut,
)

from ...lib.mutation import execute
from ...lib.principal import Principal
from ..jobs.services import enqueue
from .services import RepositoryService


class WorkspaceRepositoryController(Controller):
    path = "/api/v1/workspaces/{workspace_id:uuid}/repositories"
    tags = ["repositories"]

    @get("/")
    async def list_repositories(self, principal: Principal, db: AsyncSession, state: State,
                                workspace_id: uuid.UUID,
                                include_inactive: bool = False) -> list[RepositoryOut]:
        """The workspace's connected repositories (disconnected ones too with include_inactive)."""
        service = RepositoryService(db, state.settings)
        return await service.list(principal, workspace_id, include_inactive)

    @post("/", status_code=202)
    async def connect(self, request: Request, principal: Principal, state: State,
                      workspace_id: uuid.UUID,
                      data: RepositoryConnect) -> Response[RepositoryConnectOut]:
        """Connect `owner/name` (admins): a job checks your access on GitHub, stores it and
        registers the webhook, or gives the URL and secret to set by hand (`webhook: manual`)."""
        return await execute(request, principal, lambda m: RepositoryService(m, state.settings).connect(
            principal, workspace_id, data, state.queue), 202)


class RepositoryController(Controller):
    path = "/api/v1/repositories/{repository_id:uuid}"
    tags = ["repositories"]

    @get("/status")
    async def status(self, principal: Principal, db: AsyncSession, state: State,
                     repository_id: uuid.UUID) -> RepositoryStatus:
        """Its webhook deliveries (the last one, the last 24 h, failures) and last reconcile."""
        return await RepositoryService(db, state.settings).status(principal, repository_id)

    @post("/sync", status_code=202)
    async def sync(self, principal: Principal, db: AsyncSession, state: State, repository_id: uuid.UUID,
                   data: RepositorySync | None = None) -> RepositorySyncOut:
        """Re-read pull requests from GitHub now (members): a job applies what changed as the
        webhooks would have, attributed to `reconcile`; its result lists the cards that changed."""
        return await RepositoryService(db, state.settings).sync(
            principal, repository_id, data or RepositorySync(), state.queue)

    @delete("/", status_code=200)
    async def disconnect(self, request: Request, principal: Principal, state: State,
                         repository_id: uuid.UUID) -> Response[RepositoryOut]:
        """Disconnect (admins): the repository turns inactive; its webhook is removed in a job."""
        removal: dict[str, int | None] = {}

        async def operation(mutation):
            service = RepositoryService(mutation, state.settings)
            out, hook_id = await service.disconnect(principal, repository_id)
            removal["hook_id"] = hook_id
            return out

        response = await execute(request, principal, operation)
        if removal.get("hook_id") is not None:
            await enqueue(state.queue, "remove_webhook",
                          {"repository_id": str(repository_id), "user_id": str(principal.user_id),
                           "webhook_id": removal["hook_id"]},
                          key=f"unhook:{repository_id}", user_id=principal.user_id)
        return response


ROUTES = [WorkspaceRepositoryController, RepositoryController]
