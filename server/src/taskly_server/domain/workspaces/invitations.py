"""Invitations: a secret link that lets one person join a workspace with a given role."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from taskly_shared.models import InvitationCreate, InvitationOut, Role, WorkspaceOut

from ...db.base import utcnow
from ...db.models import Invitation, Member, User, Workspace
from ...errors import Forbidden, Gone, NotFound
from ..auth.tokens import INVITATION_PREFIX, Principal, hash_secret, new_secret
from ..sync.mutation import Mutation
from .access import ROLE_RANK, require_role
from .services import member_out, workspace_out


class InvitationService:
    def __init__(self, mutation: Mutation) -> None:
        self.mutation = mutation
        self.db = mutation.db

    async def create(self, principal: Principal, workspace_id: uuid.UUID,
                     data: InvitationCreate) -> InvitationOut:
        """Admins invite; only owners invite owners. The token is stored as a hash only."""
        caller = await require_role(self.db, workspace_id, principal.user_id, Role.ADMIN)
        if data.role == Role.OWNER and caller != Role.OWNER:
            raise Forbidden("only an owner can invite an owner")
        token = new_secret(INVITATION_PREFIX)
        invitation = Invitation(
            id=uuid.uuid4(), workspace_id=workspace_id, token_hash=hash_secret(token),
            role=data.role.value, created_by=principal.user_id, version=1,
            expires_at=utcnow() + timedelta(hours=data.expires_in_hours),
        )
        self.db.add(invitation)
        await self.db.flush()
        return InvitationOut(token=token, workspace_id=workspace_id, role=data.role,
                             expires_at=invitation.expires_at)

    async def accept(self, principal: Principal, token: str) -> WorkspaceOut:
        """Join with the invitation's role; single use, 410 once used or expired.

        A caller who is already a member gets 200 and keeps the higher of the two roles, so a
        repeated accept by the same person is harmless.
        """
        invitation = await self.db.scalar(
            select(Invitation).where(Invitation.token_hash == hash_secret(token)).with_for_update()
        )
        workspace = invitation and await self.db.scalar(
            select(Workspace).where(Workspace.id == invitation.workspace_id,
                                    Workspace.deleted_at.is_(None)).with_for_update()
        )
        if invitation is None or workspace is None:
            raise NotFound("invitation not found")
        user = await self.db.get(User, principal.user_id)
        if user is None:
            raise NotFound("user not found")
        member = await self.db.scalar(
            select(Member).where(Member.workspace_id == workspace.id, Member.user_id == user.id)
            .with_for_update()
        )
        usable = invitation.accepted_at is None and invitation.expires_at > utcnow()
        if member is None and not usable:
            raise Gone("this invitation was already used" if invitation.accepted_at is not None
                       else "this invitation has expired")
        if usable:
            invitation.accepted_at = utcnow()
            invitation.accepted_by = user.id
            invitation.version += 1
        if member is None:
            member = Member(id=uuid.uuid4(), workspace_id=workspace.id, user_id=user.id,
                            role=invitation.role, version=1)
            self.db.add(member)
            await self.db.flush()
            self.mutation.record(workspace.id, "member", user.id, "create",
                                 changes={"role": (None, member.role)},
                                 data=member_out(member, user), version=member.version)
        elif usable and ROLE_RANK[Role(invitation.role)] > ROLE_RANK[Role(member.role)]:
            old = member.role
            member.role = invitation.role
            member.version += 1
            await self.db.flush()
            self.mutation.record(workspace.id, "member", user.id, "update",
                                 changes={"role": (old, member.role)},
                                 data=member_out(member, user), version=member.version)
        await self.db.flush()
        seq = workspace.seq + len(self.mutation.pending.get(workspace.id, ()))
        return workspace_out(workspace, Role(member.role), seq=seq)
