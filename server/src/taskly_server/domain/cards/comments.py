"""Comments on cards, and a card's activity read back from the change feed."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.errors import ErrorCode
from taskly_shared.models import ChangeOut, CommentCreate, CommentOut, CommentPatch, Role

from ...db.base import utcnow
from ...db.models import Board, Card, Change, Comment, User
from ...errors import Conflict, Forbidden, NotFound
from ...lib.access import ROLE_RANK, refuse_archived, require_role
from ...lib.mutation import Mutation
from ...lib.principal import Principal
from .edits import checked_text
from .queries import load_card
from .views import change_out, comment_out


class CommentService:
    """Reads take a session; writes take the Mutation of `execute` and record their changes."""

    def __init__(self, target: AsyncSession | Mutation) -> None:
        self.mutation = target if isinstance(target, Mutation) else None
        self.db = target.db if isinstance(target, Mutation) else target

    async def list(self, principal: Principal, card_ref: str) -> list[CommentOut]:
        """A card's comments, oldest first; deleted ones are left out."""
        card = await load_card(self.db, principal.user_id, card_ref)
        rows = await self.db.execute(
            select(Comment, User.username).outerjoin(User, User.id == Comment.author_id)
            .where(Comment.card_id == card.id, Comment.deleted.is_(False))
            .order_by(Comment.created_at, Comment.id)
        )
        return [comment_out(comment, author) for comment, author in rows.all()]

    async def create(self, principal: Principal, card_ref: str, data: CommentCreate) -> CommentOut:
        card = await load_card(self.db, principal.user_id, card_ref, Role.MEMBER)
        if data.id is not None and await self.db.get(Comment, data.id) is not None:
            raise Conflict(f"a comment with id {data.id} exists", code=ErrorCode.DUPLICATE)
        now = utcnow()
        comment = Comment(id=data.id or uuid.uuid4(), card_id=card.id,
                          workspace_id=card.workspace_id, author_id=principal.user_id,
                          body=checked_text(data.body, "body"), edited=False, deleted=False,
                          version=1, created_at=now, updated_at=now)
        self.db.add(comment)
        try:
            await self.db.flush()
        except IntegrityError:
            raise Conflict(f"a comment with id {comment.id} exists",
                           code=ErrorCode.DUPLICATE) from None
        out = comment_out(comment, principal.username)
        self.mutation.record(card.workspace_id, "comment", comment.id, "create",
                             changes={"card_id": (None, card.id), "body": (None, comment.body)},
                             data=out, version=comment.version)
        return out

    async def update(self, principal: Principal, comment_id: uuid.UUID,
                     data: CommentPatch) -> CommentOut:
        """Only its author edits a comment."""
        comment, _ = await self._load(principal, comment_id)
        if comment.author_id != principal.user_id:
            raise Forbidden("only the author can edit a comment")
        body = checked_text(data.body, "body")
        if body != comment.body:
            old = comment.body
            comment.body = body
            comment.edited = True
            comment.version += 1
            comment.updated_at = utcnow()
            await self.db.flush()
            self.mutation.record(comment.workspace_id, "comment", comment.id, "update",
                                 changes={"body": (old, body)},
                                 data=comment_out(comment, principal.username),
                                 version=comment.version)
        return comment_out(comment, principal.username)

    async def delete(self, principal: Principal, comment_id: uuid.UUID) -> CommentOut:
        """Its author, or an admin of the workspace, deletes a comment (softly; twice is fine)."""
        comment, role = await self._load(principal, comment_id, allow_deleted=True)
        if comment.author_id != principal.user_id and ROLE_RANK[role] < ROLE_RANK[Role.ADMIN]:
            raise Forbidden("only the author or a workspace admin can delete a comment")
        author = await self.db.scalar(select(User.username).where(User.id == comment.author_id))
        if not comment.deleted:
            comment.deleted = True
            comment.version += 1
            comment.updated_at = utcnow()
            await self.db.flush()
            self.mutation.record(comment.workspace_id, "comment", comment.id, "delete",
                                 changes={"deleted": (False, True)},
                                 data=comment_out(comment, author), version=comment.version)
        return comment_out(comment, author)

    async def _load(self, principal: Principal, comment_id: uuid.UUID,
                    allow_deleted: bool = False) -> tuple[Comment, Role]:
        """The comment, row-locked, once the caller is a member+ of its workspace."""
        board = await self.db.scalar(
            select(Board).join(Card, Card.board_id == Board.id).join(Comment, Comment.card_id == Card.id)
            .where(Comment.id == comment_id, Board.deleted_at.is_(None))
        )
        if board is None:
            raise NotFound("comment not found")
        role = await require_role(self.db, board.workspace_id, principal.user_id, Role.MEMBER,
                                  what="comment")
        refuse_archived(board)
        comment = await self.db.scalar(
            select(Comment).where(Comment.id == comment_id).with_for_update()
            .execution_options(populate_existing=True)
        )
        if comment is None or (comment.deleted and not allow_deleted):
            raise NotFound("comment not found")
        return comment, role


async def card_activity(db: AsyncSession, principal: Principal, card_ref: str,
                        limit: int = 100) -> list[ChangeOut]:
    """The changes of a card and of its comments, newest first."""
    card = await load_card(db, principal.user_id, card_ref)
    comment_ids = select(Comment.id).where(Comment.card_id == card.id).scalar_subquery()
    rows = await db.scalars(
        select(Change)
        .where(Change.workspace_id == card.workspace_id,
               or_(Change.entity_id == card.id,
                   (Change.entity_type == "comment") & Change.entity_id.in_(comment_ids)))
        .order_by(Change.seq.desc()).limit(limit)
    )
    return [change_out(change) for change in rows.all()]
