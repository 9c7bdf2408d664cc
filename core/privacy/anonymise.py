"""Taking the personal data out of a case: the one anonymisation erasure and retention share, and redacted notes.

The timeline is append-only (core/models/cases.py), so a resident's own notes (a rating comment, a
"not fixed" reason) are not edited away: a `redacted` event is appended naming them, and every view
of a note asks `shown_note`, which shows the redaction instead of the text.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core import outbox
from core.glossary import CaseStatus, PhotoStatus
from core.models import Attachment, Case, CaseEvent, Notification, case_followers
from core.privacy.masking import mask_text

REDACTED = "redacted"
REDACTED_NOTE = "（居民填写的内容已按个人信息保护规定删除）"
REDACTION_NOTE = "居民个人信息已按个人信息保护规定删除"
ATTACHMENT_GONE = "已按个人信息保护规定删除"
# Finished cases: nothing more happens to them, so retention may anonymise them in full.
FINISHED = (CaseStatus.CLOSED, CaseStatus.EVALUATED, CaseStatus.REJECTED, CaseStatus.DUPLICATE)
# Three decimals of a degree: about 100 m, the block rather than the door.
POSITION_DECIMALS = 3


def redacted_ids(events: Iterable[CaseEvent]) -> set[int]:
    """The ids of the timeline entries whose notes a later `redacted` entry took out."""
    ids: set[int] = set()
    for event in events:
        if event.action == REDACTED:
            ids.update(int(i) for i in (event.data or {}).get("events", []))
    return ids


def shown_note(event: CaseEvent, redacted: Collection[int] | None = None) -> str:
    """The note of `event` as anyone may read it now: a redacted resident's note shows the redaction.

    `redacted` is `redacted_ids(case.events)` when the caller shows a whole timeline; without it the
    case's timeline is read here.
    """
    if redacted is None:
        # An event not yet on a case (being composed) has no later redaction.
        redacted = redacted_ids(event.case.events) if event.case is not None else set()
    if event.id in redacted and event.note:
        return REDACTED_NOTE
    return event.note or ""


def _resident_notes(case: Case) -> list[int]:
    """Timeline entries written by a resident that carry text and are not yet redacted."""
    done = redacted_ids(case.events)
    return [e.id for e in case.events if e.actor_resident_id is not None and e.note and e.id not in done]


def redact_notes(session: Session, case: Case, now: datetime) -> CaseEvent | None:
    """Append one `redacted` entry naming the residents' notes not yet redacted; None when there are none."""
    ids = _resident_notes(case)
    if not ids:
        return None
    event = CaseEvent(
        case=case,
        action=REDACTED,
        from_status=case.status,
        to_status=case.status,
        note=REDACTION_NOTE,
        data={"events": ids},
        created_at=now,
    )
    session.add(event)
    session.flush()
    return event


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, POSITION_DECIMALS)


def anonymise_case(session: Session, case: Case, now: datetime, *, full: bool) -> list[str]:
    """Take the personal data out of `case` in the caller's transaction; returns the media files to delete.

    Always: the reporter link, contact phone and rating comment go, typed identifiers in the
    description are masked (`mask_text`, as every public text), residents' own notes are redacted,
    and voice and video files go (their deletion is queued through the outbox, after the commit).
    `full` (a finished case): also the followers and the texts of the notifications about it, the
    position rounded to about 100 m and the location label replaced by the grid's name; the case is
    stamped `anonymised_at`. An open case (its reporter erased their data) keeps its place until it
    is finished, so it can still be fixed. Running it again changes nothing more.
    """
    case.reporter_id = None
    case.anonymous = True
    case.contact_phone = None
    case.rating_comment = None
    masked = mask_text(case.description or "")
    if masked != (case.description or ""):
        case.description = masked
    redact_notes(session, case, now)
    files = _drop_recordings(session, case)
    if full:
        session.execute(delete(case_followers).where(case_followers.c.case_id == case.id))
        session.expire(case, ["followers"])
        events = select(CaseEvent.id).where(CaseEvent.case_id == case.id)
        session.execute(
            update(Notification)
            .where(Notification.event_id.in_(events), Notification.content != "")
            .values(content="")
            .execution_options(synchronize_session=False)
        )
        case.lat, case.lng = _round(case.lat), _round(case.lng)
        case.location_label = case.grid.name if case.grid else None
        case.anonymised_at = now
    return files


def _drop_recordings(session: Session, case: Case) -> list[str]:
    """Voice and video of the case: the rows say they are gone, the files are deleted after the commit."""
    files: list[str] = []
    for item in session.scalars(select(Attachment).where(Attachment.case_id == case.id)):
        if item.path:
            files.append(item.path)
        if item.path or item.status != PhotoStatus.FAILED:
            item.path = None
            item.wechat_media_id = None
            item.status = PhotoStatus.FAILED
            item.error = ATTACHMENT_GONE
    queue_file_deletion(session, files)
    return files


def queue_file_deletion(session: Session, files: list[str]) -> None:
    """Delete `files` (keys in the store) after the commit, through the worker (worker/jobs/privacy.py)."""
    if files:
        outbox.add(session, outbox.MEDIA_DELETE, {"paths": sorted(set(files))})
