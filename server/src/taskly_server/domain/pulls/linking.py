"""Which cards a pull request links to: keys in its head branch and title, closing words in its body."""

from __future__ import annotations

import uuid

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.keys import closing_keys, mentioned_keys

from ...db.models import Board, Card
from .payloads import PullSnapshot

MAX_KEYS = 50
"""Keys looked up per pull request: a body listing hundreds of keys links the first ones only."""


def linked_keys(pull: PullSnapshot) -> list[tuple[str, int]]:
    """Card keys of the head branch (`web-7-fix-login`), the title (`WEB-7: …`) and the body after a
    closing word (`Fixes WEB-7`); a bare key elsewhere in the body does not link."""
    found: dict[tuple[str, int], None] = {}
    for key in (*mentioned_keys(pull.head_branch), *mentioned_keys(pull.title), *closing_keys(pull.body)):
        found[key] = None
    return list(found)[:MAX_KEYS]


async def cards_for_keys(db: AsyncSession, workspace_id: uuid.UUID,
                         keys: list[tuple[str, int]]) -> dict[uuid.UUID, bool]:
    """The workspace's cards these keys name (boards not deleted): card id → the card is deleted."""
    if not keys:
        return {}
    wanted = [and_(Board.key == board, Card.number == number) for board, number in keys]
    rows = await db.execute(
        select(Card.id, Card.deleted_at).join(Board, Board.id == Card.board_id)
        .where(Board.workspace_id == workspace_id, Board.deleted_at.is_(None), or_(*wanted))
    )
    return {card_id: deleted_at is not None for card_id, deleted_at in rows.all()}
