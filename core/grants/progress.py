"""After approval: progress reports on a schedule, the reminder sweep, and accepting completion."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import outbox
from core.errors import InvalidInput
from core.grants import loop
from core.grants.terms import GrantStatus
from core.models import GrantApplication, GrantEvent, GrantReport, Resident, StaffUser
from core.models.base import utcnow
from core.text import clean

# The grantee is reminded this many days before a report is due.
REMIND_DAYS = 3
ACTIVE = (GrantStatus.APPROVED, GrantStatus.IN_PROGRESS)


def reports(session: Session, application_id: int) -> list[GrantReport]:
    query = select(GrantReport).where(GrantReport.application_id == application_id).order_by(GrantReport.sequence)
    return list(session.scalars(query))


def next_due(session: Session, application: GrantApplication) -> GrantReport | None:
    """The earliest report not yet filed."""
    return next((r for r in reports(session, application.id) if r.submitted_at is None), None)


def file_report(
    session: Session, application: GrantApplication, text: str, *, resident: Resident | None = None
) -> GrantReport:
    """File the next report the grant owes (text; photos are attached by the caller to the returned row)."""
    if application.status not in ACTIVE:
        raise InvalidInput(f"项目当前「{application.status.applicant_label}」，不需要提交进度报告")
    body = clean(text, 4000)
    if not body:
        raise InvalidInput("请填写进度情况")
    report = next_due(session, application)
    if report is None:
        raise InvalidInput("所有报告均已提交")
    report.text = body
    report.submitted_at = utcnow()
    session.flush()
    return report


def accept_completion(
    session: Session, application: GrantApplication, *, staff: StaffUser, note: str = ""
) -> GrantEvent:
    """Staff accept the project as completed, once its final report is in."""
    final = next((r for r in reports(session, application.id) if r.final), None)
    if final is None or final.submitted_at is None:
        raise InvalidInput("结项须先提交结项报告")
    final.accepted_at = utcnow()
    return loop.transition(session, application, GrantStatus.COMPLETED, action="complete", staff=staff, note=note)


@dataclass
class SweepResult:
    reminded: list[int] = field(default_factory=list)  # report ids
    late: list[int] = field(default_factory=list)


def _stamp(session: Session, report_id: int, column: str, now: datetime) -> bool:
    """Set `column` if still unset; whether this call did (two sweeps never both do)."""
    target = getattr(GrantReport, column)
    result = session.execute(
        update(GrantReport)
        .where(GrantReport.id == report_id, target.is_(None), GrantReport.submitted_at.is_(None))
        .values({column: now})
        .returning(GrantReport.id)
    )
    return result.first() is not None


def sweep(session: Session, today: date, now: datetime | None = None) -> SweepResult:
    """Remind grantees of reports due within REMIND_DAYS, and tell staff of reports past due; once each.

    Writes a `grant.report_due` / `grant.report_late` outbox row per stamp, in the caller's transaction.
    """
    now = now or utcnow()
    result = SweepResult()
    open_reports = session.execute(
        select(
            GrantReport.id,
            GrantReport.sequence,
            GrantReport.due_on,
            GrantReport.reminded_at,
            GrantReport.late_at,
            GrantReport.application_id,
        )
        .join(GrantApplication, GrantApplication.id == GrantReport.application_id)
        .where(GrantReport.submitted_at.is_(None), GrantApplication.status.in_(ACTIVE))
        .where((GrantReport.reminded_at.is_(None)) | (GrantReport.late_at.is_(None)))
    ).all()
    for row in open_reports:
        payload = {"report_id": row.id, "application_id": row.application_id}
        if row.due_on < today and row.late_at is None and _stamp(session, row.id, "late_at", now):
            outbox.add(session, outbox.GRANT_REPORT_LATE, payload)
            result.late.append(row.id)
        elif (
            row.due_on - timedelta(days=REMIND_DAYS) <= today
            and row.reminded_at is None
            and _stamp(session, row.id, "reminded_at", now)
        ):
            # The reminder is an entry on the application's timeline, told to the applicant through
            # the same path as its moves (worker/jobs/grants.py), so it is recorded as a Notification.
            application = session.get(GrantApplication, row.application_id)
            assert application is not None
            event = GrantEvent(
                application_id=application.id,
                action="remind",
                from_status=application.status,
                to_status=application.status,
                note=f"请于 {row.due_on:%Y-%m-%d} 前提交第 {row.sequence} 次进度报告",
                created_at=now,
            )
            session.add(event)
            session.flush()
            outbox.add(session, outbox.GRANT_REPORT_DUE, {**payload, "grant_event_id": event.id})
            result.reminded.append(row.id)
    return result
