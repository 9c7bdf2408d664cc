"""Draft reports: one per resident, changed under a row lock, forgotten after a spell of silence."""

from __future__ import annotations

import copy
from dataclasses import asdict
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import insert_or_ignore
from core.glossary import CoordSystem
from core.models import ReportDraft, Resident
from core.models.base import utcnow
from core.services.intake import ReportInput

KEEP_REPLIES = 30  # enough for one conversation's worth of retried messages


def lock_draft(session: Session, resident: Resident, ttl_seconds: int) -> ReportDraft:
    """The resident's draft, locked until the transaction ends, so their messages apply one at a time.

    A draft silent for longer than `ttl_seconds` starts over empty.
    """
    locked = (
        select(ReportDraft)
        .where(ReportDraft.resident_id == resident.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    draft = session.scalars(locked).one_or_none()
    if draft is None:  # the resident's first message: one more round trip, once
        insert_or_ignore(
            session, ReportDraft, {"resident_id": resident.id, "report": {}, "replies": {}}, ["resident_id"]
        )
        draft = session.scalars(locked).one()
    if draft.updated_at < utcnow() - timedelta(seconds=ttl_seconds):
        clear(draft)
    return draft


# Keys drafts saved before a ReportInput field was renamed → the field's name now.
RENAMED_KEYS = {"checkpoint_code": "checkpoint_label"}


def report_of(draft: ReportDraft) -> ReportInput:
    # A deep copy: changing the stored JSON in place would hide the change from the ORM.
    data = copy.deepcopy(draft.report)
    for old, new in RENAMED_KEYS.items():
        if old in data:
            data.setdefault(new, data.pop(old))
    if data.get("coord_system"):
        data["coord_system"] = CoordSystem(data["coord_system"])
    return ReportInput(**data)


def save(draft: ReportDraft, report: ReportInput, key: str, reply: str) -> None:
    """Store the changed report and remember the reply given to message `key`."""
    draft.report = asdict(report)
    remember(draft, key, reply)


def remember(draft: ReportDraft, key: str, reply: str) -> None:
    replies = dict(draft.replies)
    replies[key] = reply
    draft.replies = dict(list(replies.items())[-KEEP_REPLIES:])
    draft.updated_at = utcnow()


def clear(draft: ReportDraft) -> None:
    draft.report = {}
    draft.replies = {}
    draft.updated_at = utcnow()
