"""grids.updated_at: every change to a grid moves it (a trigger on PostgreSQL catches edits by hand too), so every process's routing index notices a redrawn boundary

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 22:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOUCH = """
CREATE OR REPLACE FUNCTION grids_touch() RETURNS trigger AS $$
BEGIN
    NEW.updated_at := clock_timestamp();
    RETURN NEW;
END
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    with op.batch_alter_table('grids', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False, server_default=sa.func.current_timestamp())
        )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(TOUCH)
        op.execute('CREATE TRIGGER grids_touch BEFORE UPDATE ON grids FOR EACH ROW EXECUTE FUNCTION grids_touch()')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS grids_touch ON grids')
        op.execute('DROP FUNCTION IF EXISTS grids_touch()')
    with op.batch_alter_table('grids', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
