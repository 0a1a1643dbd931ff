"""Invitations: a secret link that lets one person join a workspace with a given role.

One stays usable while it is unused, unexpired, unrevoked and its creator may still grant its role
(`can_invite`): removing or demoting a member revokes theirs, and acceptance checks again.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import (
    InvitationCreate,
    InvitationOut,
    PendingInvitationOut,
    Role,
    WorkspaceOut,
)

from ...db.base import utcnow
from ...db.models import Invitation, Member, User, Workspace
from ...errors import Conflict, Forbidden, Gone, NotFound
from ...lib.access import ROLE_RANK, member_role, require_role
from ...lib.mutation import Mutation
from ...lib.principal import Principal
from ..auth.tokens import INVITATION_PREFIX, hash_secret, new_secret
from .services import can_invite, member_out, workspace_out


class InvitationService:
    """Reads take a session; writes take the Mutation of `execute`."""

    def __init__(self, target: AsyncSession | Mutation) -> None:
        self.mutation = target if isinstance(target, Mutation) else None
        self.db = target.db if isinstance(target, Mutation) else target

    async def create(self, principal: Principal, workspace_id: uuid.UUID,
                     data: InvitationCreate) -> InvitationOut:
        """Admins invite; only owners invite owners. The token is stored as a hash only."""
        caller = await require_role(self.db, workspace_id, principal.user_id, Role.ADMIN)
        if not can_invite(caller, data.role):
            raise Forbidden("only an owner can invite an owner")
        token = new_secret(INVITATION_PREFIX)
        invitation = Invitation(
            id=uuid.uuid4(), workspace_id=workspace_id, token_hash=hash_secret(token),
            role=data.role.value, created_by=principal.user_id, version=1,
            expires_at=utcnow() + timedelta(hours=data.expires_in_hours),
        )
        self.db.add(invitation)
        await self.db.flush()
        return InvitationOut(id=invitation.id, token=token, workspace_id=workspace_id, role=data.role,
                             expires_at=invitation.expires_at)

    async def list_open(self, principal: Principal, workspace_id: uuid.UUID) -> list[PendingInvitationOut]:
        """The invitations that can still be accepted, oldest first (admins); never their tokens."""
        await require_role(self.db, workspace_id, principal.user_id, Role.ADMIN)
        rows = await self.db.execute(
            select(Invitation, User.username).outerjoin(User, User.id == Invitation.created_by)
            .where(Invitation.workspace_id == workspace_id, Invitation.accepted_at.is_(None),
                   Invitation.revoked_at.is_(None), Invitation.expires_at > utcnow())
            .order_by(Invitation.created_at, Invitation.id)
        )
        return [PendingInvitationOut(
            id=invitation.id, workspace_id=invitation.workspace_id, role=Role(invitation.role),
            created_by=invitation.created_by, created_by_username=username,
            created_at=invitation.created_at, expires_at=invitation.expires_at,
        ) for invitation, username in rows.all()]

    async def revoke(self, principal: Principal, invitation_id: uuid.UUID) -> None:
        """Admins of its workspace revoke an invitation (again: no-op); 404 for anyone else, 409 once used."""
        workspace_id = await self.db.scalar(select(Invitation.workspace_id).where(Invitation.id == invitation_id))
        if workspace_id is None:
            raise NotFound("invitation not found")
        await require_role(self.db, workspace_id, principal.user_id, Role.ADMIN, what="invitation")
        invitation = await self.db.scalar(
            select(Invitation).where(Invitation.id == invitation_id).with_for_update()
            .execution_options(populate_existing=True)
        )
        if invitation.accepted_at is not None:
            raise Conflict("this invitation was already used: remove the member instead")
        if invitation.revoked_at is None:
            invitation.revoked_at = utcnow()
            invitation.version += 1
            await self.db.flush()

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
        refusal = await self._refusal(invitation)
        usable = refusal is None
        if member is None and refusal is not None:
            raise Gone(refusal)
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

    async def _refusal(self, invitation: Invitation) -> str | None:
        """Why the invitation cannot be accepted now; None when it can."""
        if invitation.accepted_at is not None:
            return "this invitation was already used"
        if invitation.revoked_at is not None:
            return "this invitation was revoked"
        if invitation.expires_at <= utcnow():
            return "this invitation has expired"
        creator = invitation.created_by and await member_role(
            self.db, invitation.workspace_id, invitation.created_by)
        if creator is None or not can_invite(creator, Role(invitation.role)):
            return (f"this invitation was revoked: whoever created it can no longer grant the "
                    f"{invitation.role} role")
        return None
