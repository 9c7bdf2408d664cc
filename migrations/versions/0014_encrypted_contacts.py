"""encrypted contacts: phones and grant teams sealed at rest (AES-256-GCM or SM4-GCM), a keyed hash for recusal

Needs PERSONAL_DATA_KEY (and PERSONAL_DATA_CIPHER) set as the service will run with: existing rows
are sealed under that key on the way up and opened with it on the way down.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 23:00:00.000000
"""

import json
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from core.privacy import crypto
from core.privacy.contact import phone_digits

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PHONES = [("residents", "phone"), ("cases", "contact_phone"), ("grant_members", "phone")]
SEALED = 255


def _rewrite(table: str, column: str, change: Callable[[str], str]) -> None:
    """Pass every non-null value of `table.column` through `change`, row by row, by primary key."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL")).all()
    for row_id, value in rows:
        bind.execute(sa.text(f"UPDATE {table} SET {column} = :value WHERE id = :id"), {"value": change(value), "id": row_id})


def upgrade() -> None:
    cipher = crypto.current_or_from_env()
    for table, column in PHONES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.String(SEALED), existing_type=sa.String(32), existing_nullable=True)
    with op.batch_alter_table("grant_members") as batch:
        batch.add_column(sa.Column("phone_hash", sa.String(64), nullable=True))
    with op.batch_alter_table("grant_applications") as batch:
        batch.alter_column(
            "team", type_=sa.Text(), existing_type=sa.JSON(), existing_nullable=False, postgresql_using="team::text"
        )

    def seal(value: str) -> str:
        return value if value.startswith(f"{crypto.VERSION}:") else cipher.encrypt(value)

    for table, column in PHONES:
        _rewrite(table, column, seal)
    _rewrite("grant_applications", "team", lambda value: seal(json.dumps(json.loads(value), ensure_ascii=False)))
    bind = op.get_bind()
    for row_id, sealed in bind.execute(sa.text("SELECT id, phone FROM grant_members WHERE phone IS NOT NULL")).all():
        digits = phone_digits(cipher.decrypt(sealed))
        bind.execute(
            sa.text("UPDATE grant_members SET phone_hash = :hash WHERE id = :id"),
            {"hash": cipher.keyed_hash(digits) if digits else None, "id": row_id},
        )


def downgrade() -> None:
    cipher = crypto.current_or_from_env()

    def open_(value: str) -> str:
        return cipher.decrypt(value) if value.startswith(f"{crypto.VERSION}:") else value

    for table, column in PHONES:
        _rewrite(table, column, open_)
    _rewrite("grant_applications", "team", open_)
    with op.batch_alter_table("grant_applications") as batch:
        batch.alter_column(
            "team", type_=sa.JSON(), existing_type=sa.Text(), existing_nullable=False, postgresql_using="team::json"
        )
    with op.batch_alter_table("grant_members") as batch:
        batch.drop_column("phone_hash")
    for table, column in PHONES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.String(32), existing_type=sa.String(SEALED), existing_nullable=True)
