"""privacy consents: each resident's agreement to a version of the privacy notice and the separate consents given

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 22:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'privacy_consents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('resident_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.String(length=32), nullable=False),
        sa.Column('scopes', sa.JSON(), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('agreed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['resident_id'],
            ['residents.id'],
            name=op.f('fk_privacy_consents_resident_id_residents'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_consents')),
    )
    op.create_index('ix_privacy_consents_resident_latest', 'privacy_consents', ['resident_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_privacy_consents_resident_latest', table_name='privacy_consents')
    op.drop_table('privacy_consents')
