"""The repositories a user may connect: theirs on GitHub (`GET /user/repos`, with their own token).

A read for one person at the moment they choose, so it is answered in the request (the client in a
thread, through its timeouts and circuit breaker) rather than as a job to poll.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.errors import ErrorCode
from taskly_shared.models import GitHubRepositoryOut

from ...errors import Conflict
from ...integrations.github.client import GitHubClient, GitHubError
from ...integrations.github.crypto import decrypt_user_token
from ...integrations.github.oauth import unavailable
from ...settings import Settings
from ..pulls.reconcile import SIGN_IN_AGAIN, token_refused
from ..repositories.queries import require_github_token


def repository_view(repo: dict[str, Any]) -> GitHubRepositoryOut:
    """GitHub's repository object, as the wire shows it."""
    permissions = repo.get("permissions") or {}
    owner = repo.get("owner") or {}
    full_name = str(repo.get("full_name") or "")
    return GitHubRepositoryOut(
        github_id=int(repo.get("id") or 0), owner=str(owner.get("login") or full_name.split("/")[0]),
        name=str(repo.get("name") or full_name.split("/")[-1]), full_name=full_name,
        private=bool(repo.get("private")), description=repo.get("description"),
        default_branch=str(repo.get("default_branch") or "main"), html_url=str(repo.get("html_url") or ""),
        admin=bool(permissions.get("admin")), push=bool(permissions.get("push")),
        pushed_at=repo.get("pushed_at"))


class AvailableRepositories:
    """What `taskly repo connect` (no argument) and `taskly repo ls --available` list."""

    def __init__(self, db: AsyncSession, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    async def list(self, user_id: uuid.UUID, *, admin_only: bool) -> list[GitHubRepositoryOut]:
        """409 `github_not_linked` without a GitHub sign-in, `github_sign_in_required` with a token
        GitHub refused (it is marked, as the jobs do); 502 `github_unavailable` when GitHub fails."""
        user = await require_github_token(self.db, user_id)
        token = decrypt_user_token(self.settings.secret(), user.id, user.github_token_encrypted)
        if token is None or user.github_token_refused_at is not None:
            raise Conflict(SIGN_IN_AGAIN, code=ErrorCode.GITHUB_SIGN_IN_REQUIRED)
        await self.db.rollback()  # no connection held while GitHub answers
        client = GitHubClient(self.settings.github_api_url, token)
        try:
            found = await asyncio.to_thread(client.user_repositories, admin_only=admin_only)
        except GitHubError as exc:
            if exc.status == 401:
                await token_refused(self.db, user_id)
                await self.db.commit()
                raise Conflict(SIGN_IN_AGAIN, code=ErrorCode.GITHUB_SIGN_IN_REQUIRED) from None
            raise unavailable(exc.message) from None
        views = [repository_view(repo) for repo in found if repo.get("full_name")]
        return sorted(views, key=lambda repo: repo.full_name.lower())
