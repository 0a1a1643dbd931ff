"""Workspaces and their members: create, read, rename, delete; roles and removal (which revokes
the invitations a member can no longer grant)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.errors import ErrorCode
from taskly_shared.models import (
    MemberOut,
    MemberPatch,
    Role,
    WorkspaceCreate,
    WorkspaceData,
    WorkspaceOut,
    WorkspacePatch,
)

from ...db.base import utcnow
from ...db.models import Invitation, Member, User, Workspace
from ...errors import Conflict, Forbidden, NotFound
from ...lib.access import ROLE_RANK, require_role
from ...lib.mutation import Mutation
from ...lib.principal import Principal


def workspace_out(workspace: Workspace, role: Role, seq: int | None = None) -> WorkspaceOut:
    return WorkspaceOut(id=workspace.id, name=workspace.name, role=role,
                        seq=workspace.seq if seq is None else seq, version=workspace.version,
                        created_at=workspace.created_at, updated_at=workspace.updated_at)


def workspace_data(workspace: Workspace) -> WorkspaceData:
    return WorkspaceData.model_validate(workspace)


def can_invite(creator: Role, role: Role) -> bool:
    """Admins invite up to admin, owners anyone: an invitation never grants more than its creator has."""
    return ROLE_RANK[creator] >= ROLE_RANK[Role.ADMIN] and ROLE_RANK[role] <= ROLE_RANK[creator]


async def revoke_invitations_of(db: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID,
                                role: Role | None) -> None:
    """Revoke the open invitations `user_id` created that their role now (None: removed) cannot grant.

    Invitations are not synced entities (no Change rows); this runs in the transaction of the
    removal or demotion, so no moment exists where the old invitations still work.
    """
    granted = [r.value for r in Role if role is not None and can_invite(role, r)]
    query = update(Invitation).where(
        Invitation.workspace_id == workspace_id, Invitation.created_by == user_id,
        Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
    if granted:
        query = query.where(Invitation.role.not_in(granted))
    await db.execute(query.values(revoked_at=utcnow(), version=Invitation.version + 1)
                     .execution_options(synchronize_session=False))


def member_out(member: Member, user: User) -> MemberOut:
    return MemberOut(user_id=user.id, username=user.username, name=user.name, role=Role(member.role),
                     joined_at=member.created_at)


class WorkspaceService:
    """Reads take a session; writes take the Mutation of `execute` and record their changes."""

    def __init__(self, target: AsyncSession | Mutation) -> None:
        self.mutation = target if isinstance(target, Mutation) else None
        self.db = target.db if isinstance(target, Mutation) else target

    # --- workspaces ------------------------------------------------------------------------

    async def list(self, principal: Principal) -> list[WorkspaceOut]:
        rows = await self.db.execute(
            select(Workspace, Member.role)
            .join(Member, Member.workspace_id == Workspace.id)
            .where(Member.user_id == principal.user_id, Workspace.deleted_at.is_(None))
            .order_by(func.lower(Workspace.name), Workspace.created_at)
        )
        return [workspace_out(workspace, Role(role)) for workspace, role in rows.all()]

    async def get(self, principal: Principal, workspace_id: uuid.UUID) -> WorkspaceOut:
        role = await require_role(self.db, workspace_id, principal.user_id)
        workspace = await self.db.get(Workspace, workspace_id)
        return workspace_out(workspace, role)

    async def create(self, principal: Principal, data: WorkspaceCreate) -> WorkspaceOut:
        """A new workspace; its creator becomes its owner."""
        workspace_id = data.id or uuid.uuid4()
        if await self.db.get(Workspace, workspace_id) is not None:
            raise Conflict("a workspace with this id exists", code=ErrorCode.DUPLICATE)
        user = await self._user(principal.user_id)
        workspace = Workspace(id=workspace_id, name=data.name, seq=0, feed_floor=0, version=1)
        member = Member(id=uuid.uuid4(), workspace_id=workspace_id, user_id=user.id,
                        role=Role.OWNER.value, version=1)
        self.db.add(workspace)
        try:
            await self.db.flush()
        except IntegrityError:
            raise Conflict("a workspace with this id exists", code=ErrorCode.DUPLICATE) from None
        self.db.add(member)
        await self.db.flush()
        self.mutation.record(workspace_id, "workspace", workspace_id, "create",
                             changes={"name": (None, workspace.name)},
                             data=workspace_data(workspace), version=workspace.version)
        self.mutation.record(workspace_id, "member", user.id, "create",
                             changes={"role": (None, member.role)},
                             data=member_out(member, user), version=member.version)
        return workspace_out(workspace, Role.OWNER, seq=self._seq_after(workspace))

    async def update(self, principal: Principal, workspace_id: uuid.UUID,
                     data: WorkspacePatch) -> WorkspaceOut:
        role = await require_role(self.db, workspace_id, principal.user_id, Role.ADMIN)
        workspace = await self._locked(workspace_id)
        if data.name is not None and data.name != workspace.name:
            old = workspace.name
            workspace.name = data.name
            workspace.version += 1
            await self.db.flush()
            self.mutation.record(workspace_id, "workspace", workspace_id, "update",
                                 changes={"name": (old, workspace.name)},
                                 data=workspace_data(workspace), version=workspace.version)
        return workspace_out(workspace, role, seq=self._seq_after(workspace))

    async def delete(self, principal: Principal, workspace_id: uuid.UUID) -> None:
        """Soft delete: afterwards the workspace and everything in it answer 404."""
        await require_role(self.db, workspace_id, principal.user_id, Role.OWNER)
        workspace = await self._locked(workspace_id)
        workspace.deleted_at = utcnow()
        workspace.version += 1
        await self.db.flush()
        self.mutation.record(workspace_id, "workspace", workspace_id, "delete",
                             changes={"deleted_at": (None, workspace.deleted_at)},
                             data=workspace_data(workspace), version=workspace.version)

    # --- members ---------------------------------------------------------------------------

    async def members(self, principal: Principal, workspace_id: uuid.UUID) -> list[MemberOut]:
        await require_role(self.db, workspace_id, principal.user_id)
        rows = await self.db.execute(
            select(Member, User).join(User, User.id == Member.user_id)
            .where(Member.workspace_id == workspace_id)
            .order_by(Member.created_at, func.lower(User.username))
        )
        return [member_out(member, user) for member, user in rows.all()]

    async def update_member(self, principal: Principal, workspace_id: uuid.UUID, user_ref: str,
                            data: MemberPatch) -> MemberOut:
        """Change a role: admins manage members, only owners grant or take away ownership."""
        caller = await require_role(self.db, workspace_id, principal.user_id, Role.ADMIN)
        member, user = await self._member(workspace_id, user_ref)
        old = Role(member.role)
        if old == data.role:
            return member_out(member, user)
        if Role.OWNER in (old, data.role) and caller != Role.OWNER:
            raise Forbidden("only an owner can grant or take away the owner role")
        if old == Role.OWNER:
            await self._keep_an_owner(workspace_id, "demote")
        member.role = data.role.value
        member.version += 1
        await self.db.flush()
        await revoke_invitations_of(self.db, workspace_id, user.id, data.role)
        out = member_out(member, user)
        self.mutation.record(workspace_id, "member", user.id, "update",
                             changes={"role": (old.value, member.role)}, data=out,
                             version=member.version)
        return out

    async def remove_member(self, principal: Principal, workspace_id: uuid.UUID, user_ref: str) -> None:
        """Admins remove others (an owner only by an owner); anyone may leave."""
        caller = await require_role(self.db, workspace_id, principal.user_id)
        member, user = await self._member(workspace_id, user_ref)
        if user.id != principal.user_id:
            if ROLE_RANK[caller] < ROLE_RANK[Role.ADMIN]:
                raise Forbidden("this needs the admin role or higher; you are " + caller.value)
            if member.role == Role.OWNER.value and caller != Role.OWNER:
                raise Forbidden("only an owner can remove an owner")
        if member.role == Role.OWNER.value:
            await self._keep_an_owner(workspace_id, "remove")
        old_role = member.role
        await self.db.delete(member)
        await self.db.flush()
        await revoke_invitations_of(self.db, workspace_id, user.id, None)
        self.mutation.record(workspace_id, "member", user.id, "delete",
                             changes={"role": (old_role, None)}, version=member.version + 1)

    # --- helpers ---------------------------------------------------------------------------

    async def _user(self, user_id: uuid.UUID) -> User:
        user = await self.db.get(User, user_id)
        if user is None:
            raise NotFound("user not found")
        return user

    async def _locked(self, workspace_id: uuid.UUID) -> Workspace:
        """The workspace row, locked so its seq is current until commit."""
        workspace = await self.db.scalar(
            select(Workspace).where(Workspace.id == workspace_id).with_for_update()
            .execution_options(populate_existing=True)
        )
        if workspace is None or workspace.deleted_at is not None:
            raise NotFound("workspace not found")
        return workspace

    def _seq_after(self, workspace: Workspace) -> int:
        """The workspace's seq once this mutation's pending changes are written."""
        return workspace.seq + len(self.mutation.pending.get(workspace.id, ()))

    async def _member(self, workspace_id: uuid.UUID, user_ref: str) -> tuple[Member, User]:
        """A member by user id or username (case-insensitive); 404 when not a member."""
        query = select(Member, User).join(User, User.id == Member.user_id).where(
            Member.workspace_id == workspace_id)
        by_name = func.lower(User.username) == user_ref.lower()
        try:
            query = query.where(or_(User.id == uuid.UUID(user_ref), by_name))
        except ValueError:
            query = query.where(by_name)
        row = (await self.db.execute(query.with_for_update(of=Member))).first()
        if row is None:
            raise NotFound("member not found")
        return row[0], row[1]

    async def _keep_an_owner(self, workspace_id: uuid.UUID, action: str) -> None:
        """409 `last_owner` when the workspace would lose its last owner. The workspace row is
        locked first, so demotions and removals of owners are checked one at a time (two owners
        demoting each other at once: the second sees one owner left); owner rows stay locked to
        commit."""
        await self._locked(workspace_id)
        owners = (await self.db.scalars(
            select(Member.id).where(Member.workspace_id == workspace_id,
                                    Member.role == Role.OWNER.value).with_for_update()
        )).all()
        if len(owners) <= 1:
            raise Conflict(f"cannot {action} the last owner of the workspace; make someone else "
                           "owner first", code=ErrorCode.LAST_OWNER)
