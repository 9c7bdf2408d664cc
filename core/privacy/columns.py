"""Column types whose rows hold ciphertext while the models read and write plain values."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from core.privacy import crypto

# A phone of 32 characters sealed: 16 (header) + base64 of 12 + 32 + 16 bytes = 96; room for more.
SEALED_LENGTH = 255


class EncryptedString(TypeDecorator[str]):
    """A text value stored sealed (core.privacy.crypto); the column can never be searched by value."""

    impl = String(SEALED_LENGTH)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else crypto.current().encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else crypto.current().decrypt(value)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value stored sealed as one text; reassign it to change it (in-place edits are not tracked)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return crypto.current().encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(crypto.current().decrypt(value))
