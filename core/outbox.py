"""The transactional outbox: work for later is written with the change that causes it, then relayed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import OutboxMessage
from core.models.base import utcnow

# Topics, the one place their names are spelled.
PHOTO_FETCH = "photo.fetch"
ATTACHMENT_FETCH = "attachment.fetch"
CASE_STATUS_CHANGED = "case.status_changed"
# Written by the deadline sweep (core/services/deadlines.py), once per case and deadline each.
CASE_DEADLINE_WARNING = "case.deadline_warning"
CASE_OVERDUE = "case.overdue"
# Written by case_loop.transition whenever a case enters `dispatched` (dispatch, escalation,
# reassignment, rework, reopen): its assignee is told.
CASE_ASSIGNED = "case.assigned"
# Written when a case is accepted (core/services/platform.py): the worker pushes it to the district's
# own platform when PLATFORM_URL is set, and does nothing otherwise.
CASE_PLATFORM_PUSH = "case.platform_push"
# Micro-grants (core/grants): the applicant is told of every move of their application; the
# reminder sweep writes a reminder before a progress report is due and tells staff when it is late.
GRANT_STATUS_CHANGED = "grant.status_changed"
GRANT_REPORT_DUE = "grant.report_due"
GRANT_REPORT_LATE = "grant.report_late"
# A grant photo kept as uploaded (core/grants/files.py): the worker makes its clean copy, as for a case photo.
GRANT_PHOTO_PROCESS = "grant.photo_process"
# Media files that personal-data erasure or retention took out of their rows (core/privacy): the worker
# deletes them once the rows no longer name them.
MEDIA_DELETE = "media.delete"


class Dispatcher(Protocol):
    """Something that moves committed outbox rows on to whatever runs them."""

    def kick(self) -> None:
        """Relay pending rows soon; must not block on, or fail because of, the queue."""


def add(session: Session, topic: str, payload: dict[str, Any]) -> OutboxMessage:
    """Queue work for after the commit of `session`'s transaction."""
    message = OutboxMessage(topic=topic, payload=payload)
    session.add(message)
    session.info["outbox_added"] = True
    return message


def claim_pending(session: Session, limit: int = 100) -> Sequence[OutboxMessage]:
    """Rows not yet relayed, oldest first, locked so that two relays never take the same row."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.relayed_at.is_(None))
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return session.scalars(query).all()


def mark_relayed(message: OutboxMessage, when: datetime | None = None) -> None:
    message.relayed_at = when or utcnow()
    message.relay_attempts += 1
