"""What `CardService.start` reads before it writes, in one locked query.

Starting a card (create_branch's commit) needs the card locked, what the renderer shows of it
(board, columns, author's name, whether pull requests are linked), the starter's name and whether
the starter is a member of the workspace. Asked one by one that was six round trips inside the
transaction, and the writes in between were flushed as separate UPDATEs; one query here, and the
card's single UPDATE at the end, leave the transaction at its floor: this query, the column
lock, the rank read, the UPDATE, the Change row and the notice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from ...db.models import Board, BoardColumn, Card, CardPullRequest, Member, User


@dataclass(slots=True)
class StartContext:
    card: Card
    board: Board
    columns: list[BoardColumn] = field(default_factory=list)
    """The board's columns, in board order."""
    creator: str | None = None
    """The username of `card.created_by`, when it has one."""
    starter: str | None = None
    """The starter's username (None: the user is gone)."""
    member: bool = False
    """Whether the starter is a member of the card's workspace (only members are assigned)."""
    linked: bool = False
    """Whether pull requests are linked to the card (the renderer then loads them)."""


def _query():
    card_id, user_id = bindparam("card_id"), bindparam("user_id")
    creator = select(User.username).where(User.id == Card.created_by).scalar_subquery()
    starter = select(User.username).where(User.id == user_id).scalar_subquery()
    member = (select(Member.user_id)
              .where(Member.workspace_id == Card.workspace_id, Member.user_id == user_id).exists())
    linked = select(CardPullRequest.card_id).where(CardPullRequest.card_id == Card.id).exists()
    return (
        select(Card, Board, BoardColumn, creator.label("creator"), starter.label("starter"),
               member.label("member"), linked.label("linked"))
        .select_from(Card).join(Board, Board.id == Card.board_id)
        .outerjoin(BoardColumn, BoardColumn.board_id == Card.board_id)
        .where(Card.id == card_id).order_by(BoardColumn.rank, BoardColumn.id)
        .with_for_update(of=Card).execution_options(populate_existing=True)
    )


_START_QUERY = _query()
"""Built once: SQLAlchemy keys its compiled form without rebuilding the statement per job."""


async def load_start_context(db: AsyncSession, card_id: uuid.UUID,
                             user_id: uuid.UUID) -> StartContext | None:
    """The card (its row locked to commit) and what starting it needs; None when it is gone."""
    rows = (await db.execute(_START_QUERY, {"card_id": card_id, "user_id": user_id})).all()
    if not rows:
        return None
    first = rows[0]
    return StartContext(card=first[0], board=first[1],
                        columns=[row[2] for row in rows if row[2] is not None],
                        creator=first.creator, starter=first.starter, member=bool(first.member),
                        linked=bool(first.linked))
