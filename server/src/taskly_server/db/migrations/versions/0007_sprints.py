"""sprints: soft delete, required dates, capacity default 40, unique names per board; indexes for
a sprint's cards and for the card changes that put a card in a sprint (burndown)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 06:10:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Sprints existed only as a table until now: fill what the API requires of any row already there.
FILL_REQUIRED = """
UPDATE sprints SET
    starts_on = coalesce(starts_on, ends_on, created_at::date),
    ends_on = greatest(coalesce(ends_on, starts_on, created_at::date),
                       coalesce(starts_on, ends_on, created_at::date)),
    capacity_points = coalesce(capacity_points, 40)
WHERE starts_on IS NULL OR ends_on IS NULL OR capacity_points IS NULL OR ends_on < starts_on
"""

# Two live sprints of a board may not share a name (case-insensitive); a deleted one frees it.
# Older duplicates (none expected) get their id appended so the index can be built.
RENAME_DUPLICATES = """
UPDATE sprints s SET name = left(s.name, 63) || ' ' || s.id::text
WHERE EXISTS (SELECT 1 FROM sprints o WHERE o.board_id = s.board_id AND o.id < s.id
              AND lower(o.name) = lower(s.name))
"""


def upgrade() -> None:
    op.add_column('sprints', sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(FILL_REQUIRED)
    op.execute(RENAME_DUPLICATES)
    op.alter_column('sprints', 'starts_on', existing_type=sa.Date(), nullable=False)
    op.alter_column('sprints', 'ends_on', existing_type=sa.Date(), nullable=False)
    op.alter_column('sprints', 'capacity_points', existing_type=sa.Integer(), nullable=False,
                    server_default='40')
    op.create_check_constraint(op.f('ck_sprints_dates'), 'sprints', 'ends_on >= starts_on')
    op.create_check_constraint(op.f('ck_sprints_capacity'), 'sprints', 'capacity_points >= 0')
    op.create_index('uq_sprints_board_name', 'sprints', ['board_id', sa.literal_column('lower(name)')],
                    unique=True, postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_index('ix_cards_sprint_id', 'cards', ['sprint_id'],
                    postgresql_where=sa.text('sprint_id IS NOT NULL'))
    # The card changes that set a sprint (create and edits record sprint_id's old and new value):
    # how a burndown finds every card that was ever in its sprint.
    op.create_index('ix_changes_card_sprint', 'changes',
                    [sa.literal_column("(changes #>> '{sprint_id,new}')")],
                    postgresql_where=sa.text("entity_type = 'card' AND changes ? 'sprint_id'"))


def downgrade() -> None:
    op.drop_index('ix_changes_card_sprint', table_name='changes')
    op.drop_index('ix_cards_sprint_id', table_name='cards')
    op.drop_index('uq_sprints_board_name', table_name='sprints')
    op.drop_constraint(op.f('ck_sprints_capacity'), 'sprints', type_='check')
    op.drop_constraint(op.f('ck_sprints_dates'), 'sprints', type_='check')
    op.alter_column('sprints', 'capacity_points', existing_type=sa.Integer(), nullable=True,
                    server_default=None)
    op.alter_column('sprints', 'ends_on', existing_type=sa.Date(), nullable=True)
    op.alter_column('sprints', 'starts_on', existing_type=sa.Date(), nullable=True)
    op.drop_column('sprints', 'deleted_at')
