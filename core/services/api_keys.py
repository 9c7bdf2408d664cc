"""API keys of outside clients (Open311): shown once when made, kept only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Forbidden, InvalidInput, NotFound
from core.models import ApiKey
from core.models.base import utcnow
from core.text import clean

# A recognisable prefix (so a leaked key is easy to spot in logs or a repository) and 256 random bits.
PREFIX = "gz311_"
MAX_NAME = 128
# Longer than any key we make; a longer value is refused before it is hashed.
MAX_KEY = 128


def hash_key(key: str) -> str:
    """The hex SHA-256 of `key`, the only form in which a key is stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(session: Session, name: str) -> tuple[ApiKey, str]:
    """A new key for the client `name`; returns (row, the key itself), the key for showing once. Flushes."""
    label = clean(name)
    if not label:
        raise InvalidInput("请填写密钥的名称（使用方），例如「某某随手拍 App」")
    if len(label) > MAX_NAME:
        raise InvalidInput(f"名称最多 {MAX_NAME} 个字")
    key = PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=label, key_hash=hash_key(key))
    session.add(row)
    session.flush()
    return row, key


def authenticate(session: Session, key: object) -> ApiKey:
    """The live key row for `key`; Forbidden when it is missing, unknown or revoked."""
    if not isinstance(key, str) or not key.strip():
        raise Forbidden("缺少 api_key：提交诉求需要区网格中心发放的 API 密钥")
    key = key.strip()
    row = None
    if len(key) <= MAX_KEY:
        row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    if row is None:
        raise Forbidden("api_key 无效")
    if row.revoked_at is not None:
        raise Forbidden("api_key 已停用，请向区网格中心申请新的密钥")
    return row


def revoke_key(session: Session, key_id: int, now: datetime | None = None) -> ApiKey:
    """Revoke key `key_id` from now on (revoking twice keeps the first time). Flushes."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"没有编号为 {key_id} 的 API 密钥")
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        session.flush()
    return row


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, oldest first."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))
