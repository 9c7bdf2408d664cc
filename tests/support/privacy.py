"""The privacy tests' builders: a finished case with a resident's own notes, phones and voice; access-log reads."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import case_loop
from core.glossary import CaseStatus, PhotoStatus
from core.models import AccessLogEntry, Attachment, Case, CaseEvent, Notification, Resident
from core.models.base import utcnow
from core.services import resident_cases
from core.settings import Settings
from media.storage import store_for
from tests.support import factories

S = CaseStatus
PHONE = "13912345678"
COMMENT = f"修得很好，有事打我 {PHONE}"


def voice_file(settings: Settings, case: Case, session: Session) -> str:
    """A ready voice attachment of `case`, its file put in the store (STORAGE_URL); returns its key."""
    key = store_for(settings).put(f"attachments/test/{case.number}-voice.amr", b"#!AMR\n voice", "audio/amr")
    session.add(Attachment(case_id=case.id, kind="voice", status=PhotoStatus.READY, path=key, format="amr"))
    session.flush()
    return key


def stored(settings: Settings, key: str) -> bool:
    """Whether the store holds `key`."""
    return store_for(settings).exists(key)


def finished_case(
    session: Session, settings: Settings, reporter: Resident, *, grid=None, status: S = S.EVALUATED
) -> Case:
    """A case reported by `reporter` with a call-back phone, closed, and rated with a comment holding a phone
    (`status` EVALUATED), or merely closed (CLOSED), or rejected (REJECTED); a notification about it."""
    case = factories.case(session, settings, grid=grid, reporter=reporter)
    case.description = f"路灯不亮，联系电话 {PHONE}"
    case.contact_phone = PHONE
    case.location_label = "幸福小区 3 栋 2 单元门口"
    if status == S.REJECTED:
        case_loop.transition(session, case, S.REJECTED, action="reject", note="不属于受理范围")
    else:
        for to in (S.ACCEPTED, S.DISPATCHED, S.HANDLED, S.VERIFIED, S.CLOSED):
            case_loop.transition(session, case, to, action=to.value)
        if status == S.EVALUATED:
            resident_cases.evaluate(session, reporter, case.number, 5, COMMENT)
    last = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id.desc())).first()
    assert last is not None
    session.add(Notification(event_id=last.id, resident_id=reporter.id, channel="oa_custom", content="您的案件已办结"))
    session.flush()
    return case


def entries(session: Session, action: str) -> list[AccessLogEntry]:
    session.expire_all()
    return list(session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == action)))


def ago(**delta: float):
    return utcnow() - timedelta(**delta)


def run_file_deletions(database, settings: Settings, redis) -> int:
    """Run the queued `media.delete` jobs here, as the worker would; how many files went."""
    from core import outbox
    from core.models import OutboxMessage
    from worker import runtime
    from worker.jobs.privacy import delete_files
    from worker.runtime import Runtime

    with database.session() as s:
        payloads = [
            m.payload for m in s.scalars(select(OutboxMessage).where(OutboxMessage.topic == outbox.MEDIA_DELETE))
        ]
    runtime.install(Runtime(settings=settings, database=database, redis=redis))
    try:
        return sum(delete_files(**payload) for payload in payloads)
    finally:
        runtime.install(None)  # type: ignore[arg-type]
