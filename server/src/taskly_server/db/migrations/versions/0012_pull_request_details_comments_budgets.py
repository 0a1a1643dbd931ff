"""Pull request details (mergeable, additions, deletions), the one PR comment linking its cards,
and each user's GitHub rate-limit budget

- taskly_pull_request_json: replaced (its text changed since 0003): the new details in the card's
  wire form; frozen in migrations/sql/0012/ (made by `taskly-server sql migration`, merged here)

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-07 14:20:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from taskly_server.db.functions import create_functions

revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('pull_requests', sa.Column('mergeable', sa.Boolean(), nullable=True))
    op.add_column('pull_requests', sa.Column('mergeable_state', sa.String(length=32), nullable=True))
    op.add_column('pull_requests', sa.Column('additions', sa.Integer(), nullable=True))
    op.add_column('pull_requests', sa.Column('deletions', sa.Integer(), nullable=True))
    create_functions('0012', 'taskly_pull_request_json')
    op.create_table(
        'pull_request_comments',
        sa.Column('pull_request_id', sa.Uuid(), nullable=False),
        sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
        sa.Column('comment_id', sa.BigInteger(), nullable=True),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('lease_key', sa.String(length=200), nullable=True),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['pull_request_id'], ['pull_requests.id'], ondelete='CASCADE',
                                name=op.f('fk_pull_request_comments_pull_request_id_pull_requests')),
        sa.PrimaryKeyConstraint('pull_request_id', name=op.f('pk_pull_request_comments')),
    )
    op.create_table(
        'github_budgets',
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('remaining', sa.Integer(), nullable=False),
        sa.Column('limit', sa.Integer(), nullable=False),
        sa.Column('reset_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_github_budgets_user_id_users')),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_github_budgets')),
    )


def downgrade() -> None:
    create_functions('0003', 'taskly_pull_request_json')
    op.drop_table('github_budgets')
    op.drop_table('pull_request_comments')
    for column in ('deletions', 'additions', 'mergeable_state', 'mergeable'):
        op.drop_column('pull_requests', column)
