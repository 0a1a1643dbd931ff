"""Membership checks: every query inside a workspace goes through one of these."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.errors import ErrorCode
from taskly_shared.models import Role

from ..db.models import Board, Member, Workspace
from ..errors import Conflict, Forbidden, NotFound

ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


def roles_at_least(minimum: Role) -> list[str]:
    """The stored role values that `minimum` allows, for a membership test inside a query."""
    return [role.value for role, rank in ROLE_RANK.items() if rank >= ROLE_RANK[minimum]]


async def member_role(db: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Role | None:
    role = await db.scalar(
        select(Member.role)
        .join(Workspace, Workspace.id == Member.workspace_id)
        .where(Member.workspace_id == workspace_id, Member.user_id == user_id,
               Workspace.deleted_at.is_(None))
    )
    return Role(role) if role is not None else None


async def require_role(db: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID,
                       minimum: Role = Role.VIEWER, what: str = "workspace") -> Role:
    """The caller's role; 404 for a non-member (nothing is revealed), 403 below `minimum`."""
    role = await member_role(db, workspace_id, user_id)
    if role is None:
        raise NotFound(f"{what} not found")
    if ROLE_RANK[role] < ROLE_RANK[minimum]:
        raise Forbidden(f"this needs the {minimum.value} role or higher; you are {role.value}")
    return role


def refuse_archived(board: Board) -> None:
    """Archived boards are read-only: a write to one (or to its cards, columns, sprints or
    comments) is 409 `board_archived` until an admin unarchives it."""
    if board.archived:
        raise Conflict(f"board {board.key} is archived (read-only); an admin can unarchive it with "
                       f"`taskly board unarchive {board.key}`", code=ErrorCode.BOARD_ARCHIVED,
                       board=board.key)


async def refuse_archived_boards(db: AsyncSession, board_ids: set[uuid.UUID]) -> None:
    """`refuse_archived` for the boards of many cards at once (a bulk update)."""
    if board_ids:
        archived = (await db.scalars(select(Board).where(Board.id.in_(board_ids), Board.archived)
                                     .order_by(Board.key))).first()
        if archived is not None:
            refuse_archived(archived)
