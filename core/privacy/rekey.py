"""Sealing every stored contact detail again under the current key (after a rotation or a cipher change)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from core.privacy.contact import phone_digits
from core.privacy.crypto import CipherError, FieldCipher

# Every sealed column, and the keyed-hash column that follows it (None if it has none). Kept with
# migration 0014, which sealed them first.
SEALED_COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("residents", "phone", None),
    ("cases", "contact_phone", None),
    ("grant_members", "phone", "phone_hash"),
    ("grant_applications", "team", None),
)
BATCH = 500


@dataclass
class RekeyCount:
    """What rekey did to one column: values sealed again, values already current, values it could not open."""

    column: str
    resealed: int = 0
    current: int = 0
    unreadable: int = 0


def rekey_column(
    connection: Connection, cipher: FieldCipher, table: str, column: str, hashed: str | None
) -> RekeyCount:
    """Seal `table.column` again under `cipher`'s current key, batch by batch (each its own commit).

    Idempotent: a value already under the current key is left alone. A value no known key opens is
    counted and left as it is, never overwritten.
    """
    count = RekeyCount(f"{table}.{column}")
    after = 0
    while True:
        rows = connection.execute(
            text(f"SELECT id, {column} FROM {table} WHERE id > :after AND {column} IS NOT NULL ORDER BY id LIMIT :n"),
            {"after": after, "n": BATCH},
        ).all()
        if not rows:
            return count
        for row_id, stored in rows:
            if cipher.is_current(stored):
                count.current += 1
                continue
            try:
                plain = cipher.decrypt(stored)
            except CipherError:
                count.unreadable += 1
                continue
            values = {"id": row_id, "old": stored, "value": cipher.encrypt(plain)}
            assignments = f"{column} = :value"
            if hashed:
                digits = phone_digits(plain)
                values["hash"] = cipher.keyed_hash(digits) if digits else None
                assignments += f", {hashed} = :hash"
            # Only if nobody changed the row since it was read: a newer value is already current.
            changed = connection.execute(
                text(f"UPDATE {table} SET {assignments} WHERE id = :id AND {column} = :old"), values
            )
            count.resealed += changed.rowcount
            count.current += 1 - changed.rowcount
        connection.commit()
        after = rows[-1][0]


def rekey(connection: Connection, cipher: FieldCipher) -> list[RekeyCount]:
    """Every sealed column of the database rekeyed; see rekey_column."""
    return [rekey_column(connection, cipher, table, column, hashed) for table, column, hashed in SEALED_COLUMNS]
