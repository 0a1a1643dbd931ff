"""GitHub reconcile: when each repository was last reconciled, and users whose GitHub token was
refused (401) and who must sign in again

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 07:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('repositories', sa.Column('reconciled_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('users', sa.Column('github_token_refused_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_webhook_deliveries_repository_received', 'webhook_deliveries',
                    ['repository_id', 'received_at'])


def downgrade() -> None:
    op.drop_index('ix_webhook_deliveries_repository_received', table_name='webhook_deliveries')
    op.drop_column('users', 'github_token_refused_at')
    op.drop_column('repositories', 'reconciled_at')
