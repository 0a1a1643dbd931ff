"""HTTP routes of workspaces, members and invitations."""

from __future__ import annotations

import uuid

from litestar import Controller, Request, Response, delete, get, patch, post
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import (
    InvitationCreate,
    InvitationOut,
    MemberOut,
    MemberPatch,
    PendingInvitationOut,
    WorkspaceCreate,
    WorkspaceOut,
    WorkspacePatch,
)

from ...lib.mutation import execute
from ...lib.principal import Principal
from .invitations import InvitationService
from .services import WorkspaceService


class WorkspaceController(Controller):
    path = "/api/v1/workspaces"
    tags = ["workspaces"]

    @get("/")
    async def list_workspaces(self, principal: Principal, db: AsyncSession) -> list[WorkspaceOut]:
        """The caller's workspaces, each with the caller's role."""
        return await WorkspaceService(db).list(principal)

    @post("/", status_code=201)
    async def create(self, request: Request, principal: Principal,
                     data: WorkspaceCreate) -> Response[WorkspaceOut]:
        """A new workspace owned by the caller."""
        return await execute(request, principal,
                             lambda m: WorkspaceService(m).create(principal, data), 201)

    @get("/{workspace_id:uuid}")
    async def read(self, principal: Principal, db: AsyncSession, workspace_id: uuid.UUID) -> WorkspaceOut:
        return await WorkspaceService(db).get(principal, workspace_id)

    @patch("/{workspace_id:uuid}")
    async def update(self, request: Request, principal: Principal, workspace_id: uuid.UUID,
                     data: WorkspacePatch) -> Response[WorkspaceOut]:
        """Rename (admin or owner)."""
        return await execute(request, principal,
                             lambda m: WorkspaceService(m).update(principal, workspace_id, data))

    @delete("/{workspace_id:uuid}", status_code=204)
    async def remove(self, request: Request, principal: Principal, workspace_id: uuid.UUID) -> Response[None]:
        """Delete the workspace (owner only); it answers 404 afterwards."""
        return await execute(request, principal,
                             lambda m: WorkspaceService(m).delete(principal, workspace_id), 204)

    @get("/{workspace_id:uuid}/members")
    async def members(self, principal: Principal, db: AsyncSession,
                      workspace_id: uuid.UUID) -> list[MemberOut]:
        return await WorkspaceService(db).members(principal, workspace_id)

    @patch("/{workspace_id:uuid}/members/{user_ref:str}")
    async def update_member(self, request: Request, principal: Principal, workspace_id: uuid.UUID,
                            user_ref: str, data: MemberPatch) -> Response[MemberOut]:
        """Change a member's role; the member is named by user id or username."""
        return await execute(request, principal, lambda m: WorkspaceService(m).update_member(
            principal, workspace_id, user_ref, data))

    @delete("/{workspace_id:uuid}/members/{user_ref:str}", status_code=204)
    async def remove_member(self, request: Request, principal: Principal, workspace_id: uuid.UUID,
                            user_ref: str) -> Response[None]:
        """Remove a member (admin or owner), or leave the workspace (anyone, for themselves)."""
        return await execute(request, principal, lambda m: WorkspaceService(m).remove_member(
            principal, workspace_id, user_ref), 204)

    @post("/{workspace_id:uuid}/invitations", status_code=201)
    async def invite(self, request: Request, principal: Principal, workspace_id: uuid.UUID,
                     data: InvitationCreate) -> Response[InvitationOut]:
        """A single-use invitation; its token is shown only in this answer."""
        return await execute(request, principal, lambda m: InvitationService(m).create(
            principal, workspace_id, data), 201)

    @get("/{workspace_id:uuid}/invitations")
    async def invitations(self, principal: Principal, db: AsyncSession,
                          workspace_id: uuid.UUID) -> list[PendingInvitationOut]:
        """The open invitations (admin or owner): who made each, its role and expiry; never a token."""
        return await InvitationService(db).list_open(principal, workspace_id)


@post("/api/v1/invitations/{token:str}/accept", status_code=200, tags=["workspaces"])
async def accept_invitation(request: Request, principal: Principal, token: str) -> Response[WorkspaceOut]:
    """Join the invitation's workspace with its role (an existing member keeps the higher role)."""
    return await execute(request, principal, lambda m: InvitationService(m).accept(principal, token))


@delete("/api/v1/invitations/{invitation_id:uuid}", status_code=204, tags=["workspaces"])
async def revoke_invitation(request: Request, principal: Principal, invitation_id: uuid.UUID) -> Response[None]:
    """Revoke an open invitation (admins of its workspace): accepting it answers 410 afterwards."""
    return await execute(request, principal, lambda m: InvitationService(m).revoke(principal, invitation_id), 204)


ROUTES = [WorkspaceController, accept_invitation, revoke_invitation]
