"""cards: start cards in one statement (create_branch's card side)

When create_branch has made a card's branch on GitHub, the card records the branch, its starter
is assigned (a member of the workspace) and it moves to the bottom of the board's first
in-progress column unless it is in one already; one Change per card, attributed to its starter.
Through the ORM that took ~3 ms of worker CPU per card even with many cards in one transaction
(loading the card, board and columns as objects, rendering the card twice with pydantic, the
UPDATE and the Change rows); `taskly_start_cards` does a batch of them in one statement, with the
wire form and the ranks of migration 0003 (`taskly_card_json`, `taskly_rank_between`).

The function's text is frozen in migrations/sql/0004/; its current text is in db/sql/.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 08:00:00

"""
from typing import Sequence, Union

from alembic import op

from taskly_server.db.functions import create_functions

revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    create_functions(revision, "taskly_start_cards")


def downgrade() -> None:
    op.execute("DROP FUNCTION taskly_start_cards(uuid[], uuid[], text[], text[])")
