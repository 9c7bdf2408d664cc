"""The deadline sweep, run every DEADLINE_SWEEP_SECONDS, and the messages that tell staff about their cases.

Scheduling: every `python -m worker` runs rq's CronScheduler in a process of its own
(worker/cron.py), which enqueues `sweep_deadlines` on the `default` queue each interval. With
several workers, several copies are enqueued per interval; the first to run takes the interval's
slot in Redis (`SET … NX EX`) and the others return at once. Should two sweeps overlap anyway (a
slow one, a clock jump), the sweep itself stamps each case once (core/services/deadlines.py).

Staff messages: a customer-service message to the assignee's bound openid (StaffUser.openid),
once per (kind, case, deadline or event). The once is a Redis key with a long TTL, set with NX
*before* the send: a retry after a clean failure (the key is deleted) sends again; a retry after a
send that may have reached WeChat (timeout after the request, killed worker) finds the key and
does not, like the resident notifications in worker/jobs/notify.py.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from sqlalchemy import select
from wechatpy.exceptions import WeChatClientException

from core.glossary import CaseStatus
from core.models import Case, CaseEvent
from core.models.base import utcnow
from core.services.deadlines import sweep
from worker import runtime
from worker.jobs.notify import UNDELIVERABLE
from wxclient.official import WeChatTransportError

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


def _local(rt: runtime.Runtime, moment: datetime | None) -> str:
    return moment.astimezone(rt.settings.tz).strftime("%m月%d日 %H:%M") if moment else "未设定"


def _what(case: Case) -> str:
    parts = [case.category.name if case.category else "", case.location_label or ""]
    detail = "，".join(p for p in parts if p)
    return f"（{detail}）" if detail else ""


def _tell(kind: str, case: Case, ref: str, text: str) -> bool:
    """Send `text` to the case's assignee once for (kind, case, ref); whether it was sent now."""
    rt = runtime.current()
    staff = case.assignee
    if staff is None or not staff.openid or not staff.is_active:
        log.info("%s for case %s: assignee has no bound WeChat account, not sent", kind, case.number)
        return False
    key = NOTICE_KEY.format(kind=kind, case_id=case.id, ref=ref)
    if not rt.redis.set(key, f"sending:{staff.id}", nx=True, ex=NOTICE_TTL):
        return False  # sent, failed for good, or in doubt: never twice
    try:
        rt.wechat.message.send_text(staff.openid, text)
    except WeChatTransportError as exc:
        if not exc.may_have_reached_server:
            rt.redis.delete(key)
            raise  # rq retries it
        rt.redis.set(key, f"unknown:{staff.id}:{str(exc)[:200]}", ex=NOTICE_TTL)
        log.warning("%s for case %s: result unknown, not resent: %s", kind, case.number, exc)
        return False
    except WeChatClientException as exc:
        if exc.errcode not in UNDELIVERABLE:
            rt.redis.delete(key)
            raise
        rt.redis.set(key, f"failed:{staff.id}:{exc.errcode}", ex=NOTICE_TTL)
        log.warning("%s for case %s: %s (%s)", kind, case.number, UNDELIVERABLE[exc.errcode], exc)
        return False
    rt.redis.set(key, f"sent:{staff.id}", ex=NOTICE_TTL)
    return True


def tell_assigned(event_id: int, case_id: int | None = None) -> bool:
    """「新派遣」to whoever the case was dispatched, escalated, reassigned or sent back to."""
    rt = runtime.current()
    with rt.database.session() as session:
        event = session.get(CaseEvent, event_id)
        if event is None:
            return False
        case = event.case
        later = session.scalar(select(CaseEvent.id).where(CaseEvent.case_id == case.id, CaseEvent.id > event.id))
        if later is not None or case.status != CaseStatus.DISPATCHED:
            return False  # moved on since: a later event tells whom it concerns
        text = f"新派遣：案件 {case.number}{_what(case)}，时限 {_local(rt, case.deadline_at)}。请及时处置。"
        return _tell("assigned", case, str(event.id), text)


def _deadline_notice(kind: str, case_id: int, deadline: str, wording: str) -> bool:
    rt = runtime.current()
    with rt.database.session() as session:
        case = session.get(Case, case_id)
        if case is None or case.status != CaseStatus.DISPATCHED or case.deadline_at is None:
            return False  # handled meanwhile
        if case.deadline_at != datetime.fromisoformat(deadline):
            return False  # a new deadline since; the sweep announces that one in its turn
        text = wording.format(number=case.number, what=_what(case), deadline=_local(rt, case.deadline_at))
        return _tell(kind, case, deadline, text)


def tell_deadline_warning(case_id: int, deadline: str) -> bool:
    return _deadline_notice(
        "warning", case_id, deadline, "即将超时：案件 {number}{what}将于 {deadline} 到期，请尽快处置。"
    )


def tell_overdue(case_id: int, deadline: str) -> bool:
    return _deadline_notice("overdue", case_id, deadline, "已超时：案件 {number}{what}已于 {deadline} 超过处置时限。")
