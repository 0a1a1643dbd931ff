"""`create-branch`: name the card's branch and queue the job that creates it on GitHub."""

from __future__ import annotations

from sqlalchemy import select
from taskly_shared.errors import ErrorCode
from taskly_shared.keys import branch_from_template, format_card_key
from taskly_shared.models import CreateBranch, CreateBranchOut, Role

from ...db.models import Board, Repository
from ...errors import Conflict
from ...lib.jobs import HEARTBEAT, JobQueue
from ...lib.mutation import Mutation
from ...lib.principal import Principal
from ..cards.queries import load_card
from ..jobs.services import STATUSES, enqueue
from ..repositories.queries import require_github_token

BRANCH_JOB = {"heartbeat": HEARTBEAT, "timeout": 120}
"""A lost worker's branch job is retried after HEARTBEAT seconds, not after its timeout."""


class BranchService:
    def __init__(self, mutation: Mutation, queue: JobQueue) -> None:
        self.db = mutation.db
        self.queue = queue

    async def request(self, principal: Principal, card_ref: str, data: CreateBranch) -> CreateBranchOut:
        """202 with the job; 409 `no_repository` when the board has no connected repository
        (the client then creates the branch locally), 409 `github_not_linked` without GitHub."""
        card = await load_card(self.db, principal.user_id, card_ref, Role.MEMBER)
        board = await self.db.scalar(select(Board).where(Board.id == card.board_id))
        key = format_card_key(board.key, card.number)
        if card.deleted_at is not None:
            raise Conflict(f"{key} is deleted; restore it first")
        repository = None
        if board.default_repository_id is not None:
            repository = await self.db.get(Repository, board.default_repository_id)
        if repository is None or not repository.active:
            raise Conflict(f"board {board.key} has no connected repository: create the branch "
                           "locally, or connect one (`taskly repo connect`)",
                           code=ErrorCode.NO_REPOSITORY, board_id=str(board.id))
        await require_github_token(self.db, principal.user_id)
        branch = card.branch or branch_from_template(board.branch_template, board.key, card.number,
                                                     card.title)
        job = await enqueue(
            self.queue, "create_branch",
            {"card_id": str(card.id), "user_id": str(principal.user_id),
             "repository_id": str(repository.id), "branch": branch, "base": data.base},
            key=f"branch:{card.id}", user_id=principal.user_id, workspace_id=card.workspace_id,
            shared_with=Role.MEMBER, options=BRANCH_JOB)
        kwargs = job.kwargs or {}
        return CreateBranchOut(job_id=job.key, status=STATUSES[job.status], card_id=card.id, key=key,
                               branch=kwargs.get("branch", branch),
                               repository=f"{repository.owner}/{repository.name}",
                               base=kwargs.get("base") or repository.default_branch)
