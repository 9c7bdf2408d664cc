"""access log: a hash-chained, append-only record of who read or did what with personal data; the auditor role

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 22:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = [
    "district_center",
    "street_center",
    "community_station",
    "grid_leader",
    "grid_worker",
    "department",
    "committee",
]


def _role_check(roles: list[str]) -> str:
    return "role IN (" + ", ".join(f"'{r}'" for r in roles) + ")"


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_staff_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=64), nullable=True),
        sa.Column("actor_resident_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.create_index("ix_access_log_at", ["at"], unique=False)
        batch_op.create_index("ix_access_log_actor_at", ["actor_staff_id", "at"], unique=False)
        batch_op.create_index("ix_access_log_target", ["target_type", "target_id"], unique=False)
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_constraint("ck_staff_users_role", type_="check")
        batch_op.create_check_constraint("ck_staff_users_role", _role_check([*ROLES, "auditor"]))


def downgrade() -> None:
    op.execute("DELETE FROM staff_users WHERE role = 'auditor'")
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_constraint("ck_staff_users_role", type_="check")
        batch_op.create_check_constraint("ck_staff_users_role", _role_check(ROLES))
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_index("ix_access_log_target")
        batch_op.drop_index("ix_access_log_actor_at")
        batch_op.drop_index("ix_access_log_at")
    op.drop_table("access_log")
