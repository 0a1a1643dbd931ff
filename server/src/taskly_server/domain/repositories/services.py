"""Connected GitHub repositories: list, connect (a job does the GitHub part), disconnect."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import RepositoryConnect, RepositoryConnectOut, RepositoryOut, Role

from ...db.models import Board, Repository
from ...errors import Invalid, NotFound
from ...settings import Settings
from ...worker import JobQueue
from ..auth.tokens import Principal
from ..jobs.services import enqueue
from ..sync.mutation import Mutation
from ..workspaces.access import require_role
from .store import repository_out, require_github_token

CONNECT_JOB = {"ttl": 3600, "heartbeat": 15}
"""The result may hold a webhook secret (sealed): kept one hour."""


class RepositoryService:
    """Reads take a session; writes take the Mutation of `execute`."""

    def __init__(self, target: AsyncSession | Mutation, settings: Settings) -> None:
        self.mutation = target if isinstance(target, Mutation) else None
        self.db = target.db if isinstance(target, Mutation) else target
        self.settings = settings

    async def list(self, principal: Principal, workspace_id: uuid.UUID,
                   include_inactive: bool = False) -> list[RepositoryOut]:
        await require_role(self.db, workspace_id, principal.user_id)
        query = select(Repository).where(Repository.workspace_id == workspace_id)
        if not include_inactive:
            query = query.where(Repository.active.is_(True))
        rows = await self.db.scalars(
            query.order_by(func.lower(Repository.owner), func.lower(Repository.name)))
        return [repository_out(row, self.settings) for row in rows.all()]

    async def connect(self, principal: Principal, workspace_id: uuid.UUID, data: RepositoryConnect,
                      queue: JobQueue) -> RepositoryConnectOut:
        """Queue `connect_repository`: access check, store, webhook (admins and owners)."""
        await require_role(self.db, workspace_id, principal.user_id, Role.ADMIN)
        if data.board_id is not None:
            board = await self.db.scalar(select(Board.id).where(
                Board.id == data.board_id, Board.workspace_id == workspace_id,
                Board.deleted_at.is_(None)))
            if board is None:
                raise Invalid("board_id must be a board of this workspace")
        await require_github_token(self.db, principal.user_id)
        full_name = data.full_name
        job = await enqueue(
            queue, "connect_repository",
            {"workspace_id": str(workspace_id), "full_name": full_name,
             "user_id": str(principal.user_id),
             "board_id": str(data.board_id) if data.board_id else None},
            key=f"repo:{workspace_id}:{full_name.lower().replace('/', ':')}", user_id=principal.user_id,
            workspace_id=workspace_id, shared_with=Role.ADMIN, options=CONNECT_JOB)
        return RepositoryConnectOut(job_id=job.key, full_name=job.kwargs.get("full_name", full_name))

    async def disconnect(self, principal: Principal,
                         repository_id: uuid.UUID) -> tuple[RepositoryOut, int | None]:
        """Mark inactive (webhooks from it are then ignored); returns the hook to remove, if any."""
        repository = await self.db.scalar(
            select(Repository).where(Repository.id == repository_id).with_for_update())
        if repository is None:
            raise NotFound("repository not found")
        await require_role(self.db, repository.workspace_id, principal.user_id, Role.ADMIN,
                           what="repository")
        if not repository.active:
            return repository_out(repository, self.settings), None
        repository.active = False
        repository.version += 1
        await self.db.flush()
        out = repository_out(repository, self.settings)
        self.mutation.record(repository.workspace_id, "repository", repository.id, "delete",
                             changes={"active": (True, False)}, data=out, version=repository.version)
        return out, repository.webhook_id
