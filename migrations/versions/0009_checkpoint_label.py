"""checkpoint label: checkpoints.code becomes checkpoints.label ("code" is the signed public code)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 02:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rename(old: str, new: str) -> None:
    # Batch mode: SQLite rebuilds the table, PostgreSQL alters it in place. Two steps, because a
    # SQLite rebuild still knows a renamed column by its old name and would quietly skip a
    # constraint on the new one. The unique constraint is named after its column
    # (uq_%(table_name)s_%(column_0_name)s), so it is made again under the new name.
    with op.batch_alter_table('checkpoints', schema=None) as batch_op:
        batch_op.alter_column(old, new_column_name=new)
    with op.batch_alter_table('checkpoints', schema=None) as batch_op:
        batch_op.drop_constraint(f'uq_checkpoints_{old}', type_='unique')
        batch_op.create_unique_constraint(f'uq_checkpoints_{new}', [new])


def upgrade() -> None:
    _rename('code', 'label')


def downgrade() -> None:
    _rename('label', 'code')
