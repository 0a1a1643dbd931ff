"""HTTP routes of the label catalogue."""

from __future__ import annotations

import uuid

from litestar import Controller, Request, Response, delete, get, patch, post
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import LabelChanged, LabelCreate, LabelOut, LabelPatch

from ...lib.mutation import execute
from ...lib.principal import Principal
from .services import LabelService


class WorkspaceLabelController(Controller):
    path = "/api/v1/workspaces/{workspace_id:uuid}/labels"
    tags = ["labels"]

    @get("/")
    async def list_labels(self, principal: Principal, db: AsyncSession,
                          workspace_id: uuid.UUID) -> list[LabelOut]:
        """The workspace's label catalogue by name."""
        return await LabelService(db).list(principal, workspace_id)

    @post("/", status_code=201)
    async def create(self, request: Request, principal: Principal, workspace_id: uuid.UUID,
                     data: LabelCreate) -> Response[LabelOut]:
        """A label (members and up); its name is unique in the workspace, its colour a palette
        colour unless given."""
        return await execute(request, principal,
                             lambda m: LabelService(m).create(principal, workspace_id, data), 201)


class LabelController(Controller):
    path = "/api/v1/labels/{label_id:uuid}"
    tags = ["labels"]

    @patch("/")
    async def update(self, request: Request, principal: Principal, label_id: uuid.UUID,
                     data: LabelPatch) -> Response[LabelChanged]:
        """Recolour, describe or rename (members and up); a rename renames the label on every card
        in the same transaction (a card Change each)."""
        return await execute(request, principal,
                             lambda m: LabelService(m).update(principal, label_id, data))

    @delete("/", status_code=200)
    async def remove(self, request: Request, principal: Principal,
                     label_id: uuid.UUID) -> Response[LabelChanged]:
        """Delete the label (admins and up): it leaves every card, in the same transaction."""
        return await execute(request, principal, lambda m: LabelService(m).delete(principal, label_id))


ROUTES = [WorkspaceLabelController, LabelController]
