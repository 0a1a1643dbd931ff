"""Reading the change feed and the workspace snapshot."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskly_shared.models import ChangesPage, Role, Snapshot

from ...db.models import Board, BoardColumn, Card, Change, Member, User, Workspace
from ...errors import Gone, NotFound
from ...lib.access import require_role
from ...lib.clock import Clock
from ..boards.services import board_out
from ..cards.views import CardRenderer, change_out
from ..labels.queries import workspace_labels
from ..labels.views import label_out
from ..sprints.queries import board_sprints
from ..sprints.services import SprintService
from ..workspaces.services import member_out, workspace_out

DEFAULT_PAGE = 500
MAX_PAGE = 5000


@asynccontextmanager
async def repeatable_read(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A read-only REPEATABLE READ transaction: all its queries see one committed state."""
    async with sessionmaker() as db:
        await db.connection(execution_options={"isolation_level": "REPEATABLE READ",
                                               "postgresql_readonly": True})
        yield db


@dataclass(frozen=True, slots=True)
class FeedHead:
    seq: int
    feed_floor: int


async def feed_head(db: AsyncSession, workspace_id: uuid.UUID) -> FeedHead | None:
    """The workspace's newest seq and its pruned floor; None when it does not exist (or is deleted)."""
    row = (await db.execute(
        select(Workspace.seq, Workspace.feed_floor)
        .where(Workspace.id == workspace_id, Workspace.deleted_at.is_(None))
    )).first()
    return FeedHead(row[0], row[1]) if row is not None else None


async def read_changes(db: AsyncSession, workspace_id: uuid.UUID, since: int,
                       limit: int, until: int | None = None) -> Sequence[Any]:
    """Change rows with since < seq (≤ until), oldest first, at most `limit` (rows of the table's
    columns, not ORM objects: a catch-up reads thousands)."""
    query = select(*Change.__table__.c).where(Change.workspace_id == workspace_id, Change.seq > since)
    if until is not None:
        query = query.where(Change.seq <= until)
    return (await db.execute(query.order_by(Change.seq).limit(limit))).all()


class FeedService:
    """The change feed and the snapshot of one workspace, as seen by one member."""

    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def changes(self, user_id: uuid.UUID, workspace_id: uuid.UUID, since: int,
                      limit: int = DEFAULT_PAGE) -> ChangesPage:
        """Changes after `since`; 410 when `since` is below the pruned floor (reload a snapshot)."""
        await require_role(self.db, workspace_id, user_id, Role.VIEWER)
        head = await feed_head(self.db, workspace_id)
        if head is None:
            raise NotFound("workspace not found")
        if since < head.feed_floor:
            raise Gone(f"the feed before seq {head.feed_floor} was pruned: reload the snapshot",
                       feed_floor=head.feed_floor, seq=head.seq)
        rows = await read_changes(self.db, workspace_id, since, limit + 1, until=head.seq)
        has_more = len(rows) > limit
        rows = rows[:limit]
        return ChangesPage(changes=[change_out(r) for r in rows],
                           next_since=rows[-1].seq if rows else max(since, 0),
                           has_more=has_more, seq=head.seq)

    async def snapshot(self, user_id: uuid.UUID, workspace_id: uuid.UUID,
                       clock: Clock | None = None) -> Snapshot:
        """Everything in the workspace at one seq; the caller runs this in a REPEATABLE READ txn.
        Sprint statuses are as of `clock`'s day (the database's when none)."""
        role = await require_role(self.db, workspace_id, user_id, Role.VIEWER)
        workspace = await self.db.get_one(Workspace, workspace_id)
        members = (await self.db.execute(
            select(Member, User).join(User, User.id == Member.user_id)
            .where(Member.workspace_id == workspace_id)
            .order_by(Member.created_at, func.lower(User.username))
        )).all()
        boards = (await self.db.scalars(
            select(Board).where(Board.workspace_id == workspace_id, Board.deleted_at.is_(None))
            .order_by(Board.created_at, Board.key)
        )).all()
        board_ids = [b.id for b in boards]
        columns = (await self.db.scalars(
            select(BoardColumn).where(BoardColumn.board_id.in_(board_ids)).order_by(BoardColumn.rank)
        )).all() if board_ids else []
        cards = (await self.db.scalars(
            select(Card).where(Card.workspace_id == workspace_id, Card.board_id.in_(board_ids))
            .order_by(Card.board_id, Card.number)
        )).all() if board_ids else []
        sprints = await SprintService(self.db, clock).render_all(
            workspace_id, await board_sprints(self.db, board_ids))
        renderer = CardRenderer(self.db)
        renderer.boards.update({b.id: b for b in boards})
        renderer.columns.update({c.id: c for c in columns})
        return Snapshot(
            seq=workspace.seq,
            workspace=workspace_out(workspace, role),
            members=[member_out(member, user) for member, user in members],
            boards=[board_out(board, [c for c in columns if c.board_id == board.id]) for board in boards],
            cards=await renderer.many(cards),
            sprints=sprints,
            labels=[label_out(label) for label in await workspace_labels(self.db, workspace_id)],
        )


async def current_members(db: AsyncSession, workspace_id: uuid.UUID,
                          user_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Those of `user_ids` who are still members of the (not deleted) workspace."""
    if not user_ids:
        return set()
    return set((await db.scalars(
        select(Member.user_id).join(Workspace, Workspace.id == Member.workspace_id)
        .where(Member.workspace_id == workspace_id, Member.user_id.in_(user_ids),
               Workspace.deleted_at.is_(None))
    )).all())
