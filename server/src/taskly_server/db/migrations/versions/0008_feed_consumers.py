"""feed consumers and their cursors, card occurrences (recurring cards), notifications in full,
users' time zone and notification preferences

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 06:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('users', sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False))
    op.add_column('users', sa.Column('notify', postgresql.JSONB(astext_type=sa.Text()),
                                     server_default='{}', nullable=False))
    op.add_column('users', sa.Column('notification_seq', sa.BigInteger(), server_default='0', nullable=False))

    op.add_column('notifications', sa.Column('seq', sa.BigInteger(), server_default='0', nullable=False))
    op.add_column('notifications', sa.Column('card_key', sa.String(length=32), nullable=True))
    op.add_column('notifications', sa.Column('card_title', sa.String(length=255), nullable=True))
    op.add_column('notifications', sa.Column('actor', sa.String(length=255), nullable=True))
    op.add_column('notifications', sa.Column('read_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('notifications', sa.Column('dedupe_key', sa.String(length=200), nullable=True))
    op.execute("UPDATE notifications SET dedupe_key = 'legacy:' || id::text WHERE dedupe_key IS NULL")
    op.alter_column('notifications', 'dedupe_key', nullable=False)
    op.create_unique_constraint(op.f('uq_notifications_user_id'), 'notifications', ['user_id', 'dedupe_key'])
    op.create_index('ix_notifications_user_seq', 'notifications', ['user_id', 'seq'])

    op.create_table(
        'feed_consumers',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_feed_consumers')),
    )
    op.create_table(
        'consumer_cursors',
        sa.Column('consumer', sa.String(length=64), nullable=False),
        sa.Column('workspace_id', sa.Uuid(), nullable=False),
        sa.Column('seq', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['consumer'], ['feed_consumers.name'], ondelete='CASCADE',
                                name=op.f('fk_consumer_cursors_consumer_feed_consumers')),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ondelete='CASCADE',
                                name=op.f('fk_consumer_cursors_workspace_id_workspaces')),
        sa.PrimaryKeyConstraint('consumer', 'workspace_id', name=op.f('pk_consumer_cursors')),
    )
    op.create_table(
        'card_occurrences',
        sa.Column('card_id', sa.Uuid(), nullable=False),
        sa.Column('next_card_id', sa.Uuid(), nullable=False),
        sa.Column('anchor_day', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['card_id'], ['cards.id'], ondelete='CASCADE',
                                name=op.f('fk_card_occurrences_card_id_cards')),
        sa.ForeignKeyConstraint(['next_card_id'], ['cards.id'], ondelete='CASCADE',
                                name=op.f('fk_card_occurrences_next_card_id_cards')),
        sa.PrimaryKeyConstraint('card_id', name=op.f('pk_card_occurrences')),
        sa.UniqueConstraint('next_card_id', name=op.f('uq_card_occurrences_next_card_id')),
    )
    # the reminders cron: cards whose reminder is due and not yet sent; cards by due date
    op.create_index('ix_cards_remind_at_pending', 'cards', ['remind_at'],
                    postgresql_where=sa.text('reminded_at IS NULL AND remind_at IS NOT NULL'))
    op.create_index('ix_cards_due', 'cards', ['due'], postgresql_where=sa.text('due IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_cards_due', table_name='cards')
    op.drop_index('ix_cards_remind_at_pending', table_name='cards')
    op.drop_table('card_occurrences')
    op.drop_table('consumer_cursors')
    op.drop_table('feed_consumers')
    op.drop_index('ix_notifications_user_seq', table_name='notifications')
    op.drop_constraint(op.f('uq_notifications_user_id'), 'notifications', type_='unique')
    for column in ('dedupe_key', 'read_at', 'actor', 'card_title', 'card_key', 'seq'):
        op.drop_column('notifications', column)
    for column in ('notification_seq', 'notify', 'timezone'):
        op.drop_column('users', column)
