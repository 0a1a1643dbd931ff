"""Connected GitHub repositories: list, connect (a job does the GitHub part), disconnect."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import (
    DeliveryFailure,
    GitHubBudget,
    RepositoryConnect,
    RepositoryConnectOut,
    RepositoryOut,
    RepositoryStatus,
    RepositorySync,
    RepositorySyncOut,
    Role,
)

from ...db.models import Board, Repository
from ...errors import Conflict, Invalid, NotFound
from ...lib.access import require_role
from ...lib.jobs import JobQueue
from ...lib.mutation import Mutation
from ...lib.principal import Principal
from ...settings import Settings
from ..jobs.services import enqueue
from ..pulls.access import repository_budget
from .queries import repository_out, require_github_token

CONNECT_JOB = {"ttl": 3600, "heartbeat": 15}
FAILED = ("(d.outcome = 'invalid payload' OR (d.processed_at IS NULL AND d.outcome IS NULL"
          " AND d.received_at < now() - interval '10 minutes'))")
"""A delivery that failed: its payload refused, or still unprocessed after its job's retries
(attempts with backoff are over within minutes)."""
DELIVERY_COUNTS = text(
    "SELECT max(d.received_at) AS last_at,"
    " count(*) FILTER (WHERE d.received_at > now() - interval '24 hours') AS total,"
    f" count(*) FILTER (WHERE d.received_at > now() - interval '24 hours' AND {FAILED}) AS failed"
    " FROM webhook_deliveries d WHERE d.repository_id = :id")
LAST_FAILURE = text(
    "SELECT d.delivery_id, d.event, d.received_at, d.error FROM webhook_deliveries d"
    f" WHERE d.repository_id = :id AND {FAILED} ORDER BY d.received_at DESC LIMIT 1")
SYNC_JOB = {"ttl": 3600, "heartbeat": 15, "timeout": 600}
"""`taskly pr sync`: a key per request (the result is what that run changed), kept one hour."""
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

    async def sync(self, principal: Principal, repository_id: uuid.UUID, data: RepositorySync,
                   queue: JobQueue) -> RepositorySyncOut:
        """Queue `reconcile_repository` now (members): the named pull requests, else every one
        changed since the last reconcile, open ones and the last 14 days included."""
        repository = await self.db.scalar(select(Repository).where(Repository.id == repository_id))
        if repository is None:
            raise NotFound("repository not found")
        await require_role(self.db, repository.workspace_id, principal.user_id, Role.MEMBER,
                           what="repository")
        if not repository.active:
            raise Conflict("the repository is disconnected: connect it again with `taskly repo connect`")
        numbers = sorted(set(data.numbers)) if data.numbers else None
        kwargs = {"repository_id": str(repository.id), "user": True,
                  **({"numbers": numbers} if numbers else {"full": True})}
        job = await enqueue(queue, "reconcile_repository", kwargs,
                            key=f"sync:{repository.id}:{uuid.uuid4().hex[:12]}", user_id=principal.user_id,
                            workspace_id=repository.workspace_id, shared_with=Role.MEMBER,
                            options=SYNC_JOB)
        return RepositorySyncOut(job_id=job.key, repository_id=repository.id,
                                 full_name=f"{repository.owner}/{repository.name}")

    async def status(self, principal: Principal, repository_id: uuid.UUID) -> RepositoryStatus:
        """Webhook deliveries (last one, last 24 h, failures) and the last reconcile (viewers)."""
        repository = await self.db.scalar(select(Repository).where(Repository.id == repository_id))
        if repository is None:
            raise NotFound("repository not found")
        await require_role(self.db, repository.workspace_id, principal.user_id, what="repository")
        counts = (await self.db.execute(DELIVERY_COUNTS, {"id": repository.id})).one()
        failure = (await self.db.execute(LAST_FAILURE, {"id": repository.id})).first()
        budget = await repository_budget(self.db, repository.workspace_id)
        return RepositoryStatus(
            github_budget=GitHubBudget(remaining=budget.remaining, limit=budget.limit,
                                       reset_at=datetime.fromtimestamp(budget.reset_at, UTC))
            if budget is not None else None,
            repository=repository_out(repository, self.settings), last_delivery_at=counts.last_at,
            deliveries_24h=counts.total, failed_24h=counts.failed, reconciled_at=repository.reconciled_at,
            last_failure=DeliveryFailure(delivery_id=failure.delivery_id, event=failure.event,
                                         received_at=failure.received_at, error=failure.error)
            if failure is not None else None)

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
