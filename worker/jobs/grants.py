"""Micro-grant messages: the applicant is told of each move (and reminder) of their application; staff of late reports.

The applicant is told exactly as a case's followers are (worker/delivery.py, worker/channels.py):
one Notification per (grant event, resident), on the channel `choose_channel` picks — the
mini-program subscribe message while they allowed one, else the official account's template message
to a follower, else a customer-service message within 48 hours, else a failed record saying why.
Template ids come from the same settings, keyed by the grant status (`approved`, …) or `default`.
"""

from __future__ import annotations

from typing import Any

from core.grants import progress
from core.models import GrantApplication, GrantEvent, GrantReport, Resident, StaffUser
from core.models.base import utcnow
from core.notices import late_report_notice
from worker import runtime
from worker.channels import message_about
from worker.delivery import notify_resident, notify_staff

LATE_KEY = "gz:grant-late:{report_id}"
LATE_TTL = 365 * 24 * 3600


def notify_grant_event(grant_event_id: int, **_ignored: Any) -> bool:
    """Tell the applicant about one event of their application; whether a message was sent now.

    Retried jobs skip what was sent or failed for good; a send left in `sending` by a killed worker
    is not repeated (it may have arrived) and is marked failed.
    """
    rt = runtime.current()
    with rt.database.session() as session:
        event = session.get(GrantEvent, grant_event_id)
        if event is None:
            return False
        application = event.application
        resident = session.get(Resident, application.applicant_id) if application.applicant_id else None
        if resident is None:
            return False  # entered by staff for someone off WeChat: nobody to tell
        return notify_resident(session, rt, message_about(event, rt.settings), resident)


def notify_report_late(report_id: int, application_id: int, **_ignored: Any) -> bool:
    """「进度报告逾期」to the staff member who opened the round, once, when their WeChat is bound."""
    rt = runtime.current()
    with rt.database.session() as session:
        report = session.get(GrantReport, report_id)
        application = session.get(GrantApplication, application_id)
        if report is None or application is None or report.submitted_at is not None:
            return False
        staff = session.get(StaffUser, application.round.created_by_id) if application.round.created_by_id else None
        text = late_report_notice(application, report)
        key = LATE_KEY.format(report_id=report_id)
        return notify_staff(rt, staff, text, key=key, ttl=LATE_TTL, what=f"late report {report_id}")


def sweep_reports() -> dict[str, list[int]]:
    """The reminder sweep (core/grants/progress.py) for today, in the district's time zone."""
    rt = runtime.current()
    with rt.database.session() as session:
        result = progress.sweep(session, utcnow().astimezone(rt.settings.tz).date())
        session.commit()
    return {"reminded": result.reminded, "late": result.late}


# rq keeps each job's dotted path in Redis: jobs queued, waiting for a retry or kept failed (a month,
# retried from the console) before the rename still name the old function.
tell_report_late = notify_report_late
