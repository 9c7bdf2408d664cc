"""queue and figures indexes: a person's dispatched cases and the overdue ones by deadline, an area's period

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 02:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        # Each new index leads with the column of the one it replaces, so it serves everything that one did.
        batch_op.drop_index('ix_cases_assignee_id')
        batch_op.drop_index('ix_cases_grid_id')
        batch_op.create_index('ix_cases_assignee_status_deadline', ['assignee_id', 'status', 'deadline_at'], unique=False)
        batch_op.create_index('ix_cases_status_deadline', ['status', 'deadline_at'], unique=False)
        batch_op.create_index('ix_cases_grid_created', ['grid_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_grid_created')
        batch_op.drop_index('ix_cases_status_deadline')
        batch_op.drop_index('ix_cases_assignee_status_deadline')
        batch_op.create_index('ix_cases_grid_id', ['grid_id'], unique=False)
        batch_op.create_index('ix_cases_assignee_id', ['assignee_id'], unique=False)
