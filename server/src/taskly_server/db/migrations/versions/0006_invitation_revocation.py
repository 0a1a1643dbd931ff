"""invitations: revoked_at, an index by workspace and creator; revoke what creators can no longer grant

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 12:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# An open invitation stays valid only while its creator may still grant its role: an admin up to
# admin, an owner anything (the rule of domain/workspaces/services.py `can_invite`).
REVOKE_ORPHANED = """
UPDATE invitations i SET revoked_at = now(), version = i.version + 1, updated_at = now()
WHERE i.accepted_at IS NULL AND i.revoked_at IS NULL AND NOT EXISTS (
    SELECT 1 FROM members m
    WHERE m.workspace_id = i.workspace_id AND m.user_id = i.created_by
      AND (m.role = 'owner' OR (m.role = 'admin' AND i.role <> 'owner'))
)
"""


def upgrade() -> None:
    op.add_column('invitations', sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_invitations_workspace_id_created_by', 'invitations',
                    ['workspace_id', 'created_by'], unique=False)
    op.execute(REVOKE_ORPHANED)


def downgrade() -> None:
    op.drop_index('ix_invitations_workspace_id_created_by', table_name='invitations')
    op.drop_column('invitations', 'revoked_at')
