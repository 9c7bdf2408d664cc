"""grant round area: each round belongs to a grid (existing rounds: the district's, the root grid); grant photos processed by the worker (status, upload_path, error; path empty until ready — existing files are ready)

Revision ID: 0011
Revises: 0008
Create Date: 2026-11-23 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('grant_rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grid_id', sa.Integer(), nullable=True))
    bind = op.get_bind()
    if bind.execute(sa.text('SELECT count(*) FROM grant_rounds')).scalar():
        root = bind.execute(sa.text('SELECT id FROM grids WHERE parent_id IS NULL ORDER BY id LIMIT 1')).scalar()
        if root is None:
            raise RuntimeError('grant rounds exist but no grid does: import the district grid first')
        bind.execute(sa.text('UPDATE grant_rounds SET grid_id = :root'), {'root': root})
    with op.batch_alter_table('grant_rounds', schema=None) as batch_op:
        batch_op.alter_column('grid_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f('ix_grant_rounds_grid_id'), ['grid_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_grant_rounds_grid_id_grids'), 'grids', ['grid_id'], ['id'])

    status = sa.Enum('pending', 'ready', 'failed', native_enum=False, create_constraint=True, length=16)
    with op.batch_alter_table('grant_files', schema=None) as batch_op:
        # Files stored before were cleaned on upload: they are ready.
        batch_op.add_column(sa.Column('status', status, nullable=False, server_default='ready'))
        batch_op.add_column(sa.Column('upload_path', sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column('error', sa.Text(), nullable=True))
        batch_op.alter_column('path', existing_type=sa.String(length=256), nullable=True)
    if op.get_bind().dialect.name != 'sqlite':  # SQLite would rebuild the table and lose its CHECKs
        op.alter_column('grant_files', 'status', server_default=None)


def downgrade() -> None:
    op.execute("DELETE FROM grant_files WHERE path IS NULL")  # photos never processed have no clean copy
    with op.batch_alter_table('grant_files', schema=None) as batch_op:
        batch_op.alter_column('path', existing_type=sa.String(length=256), nullable=False)
        batch_op.drop_column('error')
        batch_op.drop_column('upload_path')
        batch_op.drop_column('status')
    with op.batch_alter_table('grant_rounds', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_grant_rounds_grid_id_grids'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_grant_rounds_grid_id'))
        batch_op.drop_column('grid_id')
