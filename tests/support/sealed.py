"""Contact details at rest in tests: a cipher of one's choosing, and the raw stored values."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from core.privacy import crypto
from core.settings import Settings

PHONE = "13812345678"
# What a database dump must never hold: a run of 11 digits.
PHONE_RUN = re.compile(r"\d{11}")
KEY_A = "a1" * 32
KEY_B = "b2" * 32


@contextmanager
def cipher(name: str = "aes", key: str = KEY_A, fallbacks: tuple[str, ...] = ()) -> Iterator[crypto.FieldCipher]:
    """This process's cipher set to `name` with `key` for the block; the one before it afterwards."""
    before = crypto._configured
    try:
        yield crypto.configure(
            Settings(personal_data_cipher=name, personal_data_key=key, personal_data_key_fallbacks=fallbacks)
        )
    finally:
        crypto._configured = before


def raw(connectable, table: str, column: str) -> list[str]:
    """Every non-null value of `table.column` as the database holds it (no column type in between)."""
    query = text(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY id")
    if hasattr(connectable, "connect"):
        with connectable.connect() as connection:
            return list(connection.execute(query).scalars())
    return list(connectable.execute(query).scalars())
