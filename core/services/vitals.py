"""Counts the database keeps for operators: cases by source, notifications by channel, deadlines, the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.glossary import CaseSource, CaseStatus, NotificationStatus
from core.models import Case, Notification, OutboxMessage


@dataclass(frozen=True)
class Vitals:
    """Totals since the database began (they only grow) and the present state of the backlog."""

    cases_by_source: dict[str, int]
    # (channel, "sent" | "failed") -> notifications that ended so
    notifications: dict[tuple[str, str], int]
    deadline_warnings: int  # cases ever warned at 80% of their time limit (overdue ones included)
    marked_overdue: int  # cases ever marked overdue
    overdue_open: int  # cases still being handled past their deadline
    outbox_pending: int
    outbox_oldest_age_seconds: float  # 0 when nothing is pending


@dataclass(frozen=True)
class Backlog:
    """Outbox messages written but not yet handed to the queues."""

    pending: int
    oldest_age_seconds: float  # 0 when nothing is pending


def outbox_backlog(session: Session, now: datetime) -> Backlog:
    """How many outbox messages wait for the relay, and how long the oldest has waited."""
    pending, oldest = session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(OutboxMessage.relayed_at.is_(None))
    ).one()
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return Backlog(pending=int(pending), oldest_age_seconds=age)


def read_vitals(session: Session, now: datetime) -> Vitals:
    """One read of every count; counting rows makes the totals exact whichever process did the work."""
    by_source = {source.value: 0 for source in CaseSource}
    for source, count in session.execute(select(Case.source, func.count()).group_by(Case.source)):
        by_source[str(source)] = int(count)
    ended = (NotificationStatus.SENT, NotificationStatus.FAILED)
    notifications = {
        (str(channel), str(status)): int(count)
        for channel, status, count in session.execute(
            select(Notification.channel, Notification.status, func.count())
            .where(Notification.status.in_(ended))
            .group_by(Notification.channel, Notification.status)
        )
    }
    warned, marked = session.execute(select(func.count(Case.warned_at), func.count(Case.overdue_at))).one()
    overdue_open = session.scalar(
        select(func.count()).where(Case.status == CaseStatus.DISPATCHED, Case.deadline_at < now)
    )
    backlog = outbox_backlog(session, now)
    return Vitals(
        cases_by_source=by_source,
        notifications=notifications,
        deadline_warnings=int(warned),
        marked_overdue=int(marked),
        overdue_open=int(overdue_open or 0),
        outbox_pending=backlog.pending,
        outbox_oldest_age_seconds=backlog.oldest_age_seconds,
    )
