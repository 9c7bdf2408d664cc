"""Appending to the hash-chained access log, and checking that nothing was edited or taken out."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from core.models import AccessLogEntry
from core.models.base import utcnow

# The first entry's predecessor, and the key every writer serialises on (PostgreSQL advisory lock).
GENESIS = "0" * 64
CHAIN_LOCK = 0x6A7A_0A7D  # any constant; only this module takes it
RESULTS = ("ok", "denied", "failed")


@dataclass(frozen=True)
class Actor:
    """Who did it: a staff member, a resident (their own data), or the system (cron, CLI)."""

    staff_id: int | None = None
    name: str | None = None
    resident_id: int | None = None
    address: str | None = None

    @classmethod
    def of_staff(cls, staff: Any, address: str | None = None) -> Actor:
        return cls(staff_id=staff.id, name=staff.username, address=address)


def _digest(prev_hash: str, fields: Mapping[str, Any]) -> str:
    body = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def _fields(entry: AccessLogEntry) -> dict[str, Any]:
    at: datetime = entry.at
    return {
        "at": at.isoformat(timespec="microseconds"),
        "actor_staff_id": entry.actor_staff_id,
        "actor_name": entry.actor_name,
        "actor_resident_id": entry.actor_resident_id,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "result": entry.result,
        "address": entry.address,
        "detail": entry.detail,
    }


def record(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str | None = None,
    target_id: object = None,
    *,
    result: str = "ok",
    detail: Mapping[str, Any] | None = None,
) -> AccessLogEntry:
    """Append one entry in the caller's transaction; it is kept only if the caller commits.

    `detail` must hold kinds and ids, never the personal data that was read (no phone, no text).
    Writers take turns (an advisory lock on PostgreSQL, the database lock on SQLite) so the chain
    stays a single line; callers commit promptly after recording.
    """
    if result not in RESULTS:
        raise ValueError(f"unknown audit result {result!r}")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})
    last = session.scalar(select(AccessLogEntry.hash).order_by(AccessLogEntry.id.desc()).limit(1))
    entry = AccessLogEntry(
        at=utcnow(),
        actor_staff_id=actor.staff_id,
        actor_name=actor.name,
        actor_resident_id=actor.resident_id,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id)[:64],
        result=result,
        address=(actor.address or None) and actor.address[:64],
        detail=dict(detail) if detail else None,
        prev_hash=last or GENESIS,
        hash="",
    )
    entry.hash = _digest(entry.prev_hash, _fields(entry))
    session.add(entry)
    session.flush()
    return entry


def _entries(session: Session, batch: int = 1000) -> Iterator[AccessLogEntry]:
    after = 0
    while True:
        rows = list(
            session.scalars(
                select(AccessLogEntry)
                .where(AccessLogEntry.id > after)
                .order_by(AccessLogEntry.id)
                .limit(batch)
                # What the database holds now, not what this session remembers having written.
                .execution_options(populate_existing=True)
            )
        )
        if not rows:
            return
        yield from rows
        after = rows[-1].id


def verify_chain(session: Session) -> int | None:
    """The id of the first entry that does not follow from the one before it, or None if all do.

    The oldest entry kept may follow one already expired by retention: its `prev_hash` is taken
    as given, and every later link is checked.
    """
    previous: str | None = None
    for entry in _entries(session):
        if previous is not None and entry.prev_hash != previous:
            return entry.id
        if entry.hash != _digest(entry.prev_hash, _fields(entry)):
            return entry.id
        previous = entry.hash
    return None


def expire(session: Session, before: datetime) -> int:
    """Delete the entries older than `before` (retention); the only way entries ever leave.

    Only the oldest run goes, so what stays is still one unbroken chain from its first entry.
    """
    result = session.execute(delete(AccessLogEntry).where(AccessLogEntry.at < before))
    return int(getattr(result, "rowcount", 0) or 0)
