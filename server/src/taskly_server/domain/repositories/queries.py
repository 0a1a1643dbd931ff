"""Repository rows as the wire sees them, and what the connect job writes."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.errors import ErrorCode
from taskly_shared.models import RepositoryOut

from ...db.models import Board, Repository, User
from ...errors import Conflict
from ...lib.mutation import Mutation
from ...settings import Settings
from ..boards.services import BoardService


def repository_out(repository: Repository, settings: Settings) -> RepositoryOut:
    webhook = ("registered" if repository.webhook_id is not None
               else "manual" if repository.webhook_secret_encrypted is not None else "none")
    full_name = f"{repository.owner}/{repository.name}"
    return RepositoryOut(
        id=repository.id, workspace_id=repository.workspace_id, github_id=repository.github_id,
        owner=repository.owner, name=repository.name, full_name=full_name,
        default_branch=repository.default_branch, active=repository.active, webhook=webhook,
        html_url=f"{settings.github_oauth_url.rstrip('/')}/{full_name}", version=repository.version,
        created_at=repository.created_at, updated_at=repository.updated_at,
    )


def webhook_url(settings: Settings) -> str:
    """Where GitHub delivers this server's webhooks."""
    return f"{settings.public_url.rstrip('/')}/api/v1/webhooks/github"


async def require_github_token(db: AsyncSession, user_id: uuid.UUID) -> User:
    """The user, once they signed in with GitHub (Taskly acts on GitHub with their token)."""
    user = await db.get(User, user_id)
    if user is None or user.github_token_encrypted is None:
        raise Conflict("sign in with GitHub first (`taskly login`): Taskly works on GitHub with "
                       "your own access", code=ErrorCode.GITHUB_NOT_LINKED)
    return user


class RepositoryStore:
    """The connect job's writes, recorded on its Mutation."""

    def __init__(self, mutation: Mutation, settings: Settings) -> None:
        self.mutation = mutation
        self.db = mutation.db
        self.settings = settings

    async def store(self, workspace_id: uuid.UUID, found: Any, webhook_id: int | None,
                    secret_encrypted: bytes | None, repository_id: uuid.UUID) -> Repository:
        """Create or update the workspace's row of the GitHub repository `found` (a RepoInfo)."""
        repository = await self.db.scalar(select(Repository).where(
            Repository.workspace_id == workspace_id,
            (Repository.github_id == found.github_id)
            | ((func.lower(Repository.owner) == found.owner.lower())
               & (func.lower(Repository.name) == found.name.lower())),
        ).order_by(Repository.github_id.is_(None)).limit(1).with_for_update())
        values = {"github_id": found.github_id, "owner": found.owner, "name": found.name,
                  "default_branch": found.default_branch, "active": True, "webhook_id": webhook_id,
                  "webhook_secret_encrypted": secret_encrypted}
        if repository is None:
            repository = Repository(id=repository_id, workspace_id=workspace_id, version=1, **values)
            self.db.add(repository)
            await self.db.flush()
            tracked = {k: (None, v) for k, v in values.items() if k != "webhook_secret_encrypted"}
            op = "create"
        else:
            tracked = {k: (getattr(repository, k), v) for k, v in values.items()
                       if k != "webhook_secret_encrypted" and getattr(repository, k) != v}
            secret_changed = repository.webhook_secret_encrypted != secret_encrypted
            for key, value in values.items():
                setattr(repository, key, value)
            if not tracked and not secret_changed:
                return repository
            repository.version += 1
            await self.db.flush()
            op = "restore" if tracked.get("active") == (False, True) else "update"
        self.mutation.record(workspace_id, "repository", repository.id, op, changes=tracked,
                             data=repository_out(repository, self.settings), version=repository.version)
        return repository

    async def make_default(self, board_id: uuid.UUID, repository: Repository) -> bool:
        """Make `repository` the board's default when the board has none (or an inactive one)."""
        board = await self.db.scalar(select(Board).where(
            Board.id == board_id, Board.workspace_id == repository.workspace_id,
            Board.deleted_at.is_(None)).with_for_update())
        if board is None:
            return False
        if board.default_repository_id is not None and board.default_repository_id != repository.id:
            current = await self.db.get(Repository, board.default_repository_id)
            if current is not None and current.active:
                return False
        await BoardService(self.mutation).set_default_repository(board, repository.id)
        return True
