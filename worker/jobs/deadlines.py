"""The deadline sweep, run every DEADLINE_SWEEP_SECONDS, and the messages that tell staff about their cases.

Scheduling: every `python -m worker` runs rq's CronScheduler in a process of its own
(worker/cron.py), which enqueues `sweep_deadlines` on the `default` queue each interval. With
several workers, several copies are enqueued per interval; the first to run takes the interval's
slot in Redis (`SET … NX EX`) and the others return at once. Should two sweeps overlap anyway (a
slow one, a clock jump), the sweep itself stamps each case once (core/services/deadlines.py).

Staff messages: a customer-service message to the assignee's bound openid (StaffUser.openid),
once per (kind, case, deadline or event), keyed in Redis (worker/delivery.py `notify_staff`).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from sqlalchemy import select

from core.glossary import CaseStatus
from core.models import Case, CaseEvent
from core.models.base import utcnow
from core.notices import DEADLINE_WARNING, OVERDUE, assigned_notice, deadline_notice
from core.privacy.anonymise import REDACTED
from core.services.deadlines import sweep
from worker import runtime
from worker.delivery import notify_staff

log = logging.getLogger(__name__)

SWEEP_SLOT_KEY = "gz:deadline-sweep:{slot}"
NOTICE_KEY = "gz:staff-notice:{kind}:{case_id}:{ref}"
NOTICE_TTL = 180 * 24 * 3600  # longer than any case stays open and any job is retried


def sweep_deadlines(force: bool = False) -> dict[str, list[int]] | None:
    """One sweep per DEADLINE_SWEEP_SECONDS across all workers; returns what it stamped (None: skipped)."""
    rt = runtime.current()
    interval = max(1, rt.settings.deadline_sweep_seconds)
    slot = int(time.time()) // interval
    if not force and not rt.redis.set(SWEEP_SLOT_KEY.format(slot=slot), "1", nx=True, ex=interval * 2):
        return None  # another worker's copy of this interval's job ran it
    with rt.database.session() as session:
        result = sweep(session, utcnow())
        session.commit()
    if result.warned or result.overdue:
        log.info("deadline sweep: warned %s, overdue %s", result.warned, result.overdue)
    return {"warned": result.warned, "overdue": result.overdue}


def _notify_assignee(kind: str, case: Case, ref: str, text: str) -> bool:
    """Send `text` to the case's assignee once for (kind, case, ref); whether it was sent now."""
    staff = case.assignee if case.assignee is not None and case.assignee.is_active else None
    key = NOTICE_KEY.format(kind=kind, case_id=case.id, ref=ref)
    return notify_staff(runtime.current(), staff, text, key=key, ttl=NOTICE_TTL, what=f"{kind} for case {case.number}")


def notify_assigned(event_id: int, case_id: int | None = None) -> bool:
    """「新派遣」to whoever the case was dispatched, escalated, reassigned or sent back to."""
    rt = runtime.current()
    with rt.database.session() as session:
        event = session.get(CaseEvent, event_id)
        if event is None:
            return False
        case = event.case
        later = session.scalar(
            # A redaction (core/privacy) is no move of the case.
            select(CaseEvent.id).where(
                CaseEvent.case_id == case.id, CaseEvent.id > event.id, CaseEvent.action != REDACTED
            )
        )
        if later is not None or case.status != CaseStatus.DISPATCHED:
            return False  # moved on since: a later event tells whom it concerns
        return _notify_assignee("assigned", case, str(event.id), assigned_notice(case, rt.settings.tz))


def _notify_deadline(kind: str, case_id: int, deadline: str, wording: str) -> bool:
    rt = runtime.current()
    with rt.database.session() as session:
        case = session.get(Case, case_id)
        if case is None or case.status != CaseStatus.DISPATCHED or case.deadline_at is None:
            return False  # handled meanwhile
        if case.deadline_at != datetime.fromisoformat(deadline):
            return False  # a new deadline since; the sweep announces that one in its turn
        return _notify_assignee(kind, case, deadline, deadline_notice(wording, case, rt.settings.tz))


def notify_deadline_warning(case_id: int, deadline: str) -> bool:
    """「即将超时」to the assignee, once per deadline, when the sweep finds 80% of the time used."""
    return _notify_deadline("warning", case_id, deadline, DEADLINE_WARNING)


def notify_overdue(case_id: int, deadline: str) -> bool:
    """「已超时」to the assignee, once per deadline, when the sweep finds the time used up."""
    return _notify_deadline("overdue", case_id, deadline, OVERDUE)


# rq keeps each job's dotted path in Redis: jobs queued, waiting for a retry or kept failed (a month,
# retried from the console) before the rename still name the old functions.
tell_assigned = notify_assigned
tell_deadline_warning = notify_deadline_warning
tell_overdue = notify_overdue
