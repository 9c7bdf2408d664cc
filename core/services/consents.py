"""Subscribe-message consent: how many one-time messages of each template a resident allowed, and using them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import insert_or_ignore
from core.errors import InvalidInput
from core.models import Case, CaseEvent, Notification, Resident, SubscribeConsent

# wx.requestSubscribeMessage answers accept, reject, ban or filter per template; only accept counts.
ACCEPT = "accept"
MAX_REMAINING = 100  # WeChat keeps no more than this; we need not either
MAX_TEMPLATE_ID = 64


def record_consents(session: Session, resident: Resident, results: Mapping[str, str]) -> list[SubscribeConsent]:
    """Add one allowed send per template the resident accepted; returns the resident's consents."""
    for template_id, answer in results.items():
        if not template_id or len(template_id) > MAX_TEMPLATE_ID or not isinstance(answer, str):
            raise InvalidInput("订阅结果格式不正确")
        if answer != ACCEPT:
            continue
        insert_or_ignore(
            session,
            SubscribeConsent,
            {"resident_id": resident.id, "template_id": template_id, "remaining": 0},
            ["resident_id", "template_id"],
        )
        consent = _locked(session, resident, template_id)
        assert consent is not None
        consent.remaining = min(consent.remaining + 1, MAX_REMAINING)
    session.flush()
    return consents_of(session, resident)


def consents_of(session: Session, resident: Resident) -> list[SubscribeConsent]:
    query = select(SubscribeConsent).where(SubscribeConsent.resident_id == resident.id)
    return list(session.scalars(query.order_by(SubscribeConsent.template_id)))


def _locked(session: Session, resident: Resident, template_id: str) -> SubscribeConsent | None:
    return session.scalar(
        select(SubscribeConsent)
        .where(SubscribeConsent.resident_id == resident.id, SubscribeConsent.template_id == template_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def take_one(session: Session, resident: Resident, template_id: str) -> bool:
    """Use one allowed send of `template_id`; False when the resident has none left."""
    consent = _locked(session, resident, template_id)
    if consent is None or consent.remaining <= 0:
        return False
    consent.remaining -= 1
    return True


def notifications_of(
    session: Session, resident: Resident, *, page: int = 1, per_page: int = 20
) -> tuple[Sequence[tuple[Notification, str]], int]:
    """Everything the resident was told (or why they could not be), newest first, with each case number."""
    base = select(Notification).where(Notification.resident_id == resident.id)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(
        select(Notification, Case.number)
        .join(CaseEvent, CaseEvent.id == Notification.event_id)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(Notification.resident_id == resident.id)
        .order_by(Notification.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return [(row[0], row[1]) for row in rows], total
