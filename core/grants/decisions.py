"""Decisions: recorded per application once the quorum has scored, published together for the round.

Money limits. The round's budget bounds the sum of all approvals; a category's cap
(`GrantRound.category_caps`) bounds the sum of the approvals in that category, and so also any one
of them. An approval that would go over either is refused with the numbers.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.grants import loop
from core.grants.committee import quorum_met, tally
from core.grants.money import split_for
from core.grants.terms import Decision, GrantStatus, yuan
from core.models import GrantApplication, GrantReport, GrantRound, StaffUser
from core.models.base import utcnow
from core.text import clean

DECIDABLE = (GrantStatus.IN_REVIEW, GrantStatus.RESUBMITTED)


def _committed(session: Session, grant_round: GrantRound, *, category: str | None, besides: int) -> int:
    """Fen approved or recorded for approval in the round (or one category), other than application `besides`."""
    approved = loop.FUNDED
    query = select(func.coalesce(func.sum(GrantApplication.approved_fen), 0)).where(
        GrantApplication.round_id == grant_round.id,
        GrantApplication.status.in_(approved),
        GrantApplication.id != besides,
    )
    pending = select(func.coalesce(func.sum(GrantApplication.decision_fen), 0)).where(
        GrantApplication.round_id == grant_round.id,
        GrantApplication.status.in_(DECIDABLE),
        GrantApplication.decision == Decision.APPROVE,
        GrantApplication.id != besides,
    )
    if category is not None:
        query = query.where(GrantApplication.category == category)
        pending = pending.where(GrantApplication.category == category)
    return int(session.scalar(query) or 0) + int(session.scalar(pending) or 0)


def check_budget(session: Session, application: GrantApplication, amount_fen: int) -> None:
    """Refuse an approval of `amount_fen` that would exceed the round's budget or its category's cap."""
    grant_round = application.round
    others = _committed(session, grant_round, category=None, besides=application.id)
    if others + amount_fen > grant_round.budget_fen:
        raise InvalidInput(
            f"超出本期总预算：总预算 {yuan(grant_round.budget_fen)}，已批 {yuan(others)}，"
            f"本项 {yuan(amount_fen)}，合计 {yuan(others + amount_fen)}"
        )
    cap = grant_round.category_caps.get(application.category)
    if cap is not None:
        in_category = _committed(session, grant_round, category=application.category, besides=application.id)
        if in_category + amount_fen > int(cap):
            raise InvalidInput(
                f"超出「{application.category}」类上限：上限 {yuan(int(cap))}，该类已批 {yuan(in_category)}，"
                f"本项 {yuan(amount_fen)}，合计 {yuan(in_category + amount_fen)}"
            )


def record(
    session: Session,
    application: GrantApplication,
    decision: Decision,
    *,
    staff: StaffUser,
    amount_fen: int | None = None,
    note: str = "",
) -> None:
    """Record the committee's decision on one application (not yet published); may be changed until then."""
    if application.round.decisions_published_at is not None:
        raise InvalidInput("本期评审结果已公布")
    if application.status not in DECIDABLE:
        raise InvalidInput(f"申请当前「{application.status.label}」，不能作出决定")
    eligible, scored, _ = tally(session, application)
    if not quorum_met(eligible, scored):
        raise InvalidInput(f"评分人数未达法定人数：无需回避的委员 {eligible} 人，已评分 {scored} 人，须过半")
    if decision == Decision.APPROVE:
        amount = application.requested_fen if amount_fen is None else amount_fen
        if amount <= 0 or amount > application.requested_fen:
            raise InvalidInput(f"资助金额须大于 0 且不超过申请金额 {yuan(application.requested_fen)}")
        check_budget(session, application, amount)
        application.decision_fen = amount
    else:
        application.decision_fen = None
    application.decision = decision
    application.decision_note = clean(note, 1000)
    application.decided_at = utcnow()
    session.flush()


def schedule_reports(session: Session, application: GrantApplication) -> None:
    """The progress reports a new grant owes: every `report_every_days`, the last one final."""
    grant_round = application.round
    today = utcnow().date()
    count = grant_round.reports_due + 1
    for sequence in range(1, count + 1):
        session.add(
            GrantReport(
                application_id=application.id,
                sequence=sequence,
                final=sequence == count,
                due_on=today + timedelta(days=grant_round.report_every_days * sequence),
            )
        )


def publish(session: Session, grant_round: GrantRound, *, staff: StaffUser) -> list[GrantApplication]:
    """Publish every recorded decision of the round at once; refused while any reviewed one is undecided."""
    if grant_round.decisions_published_at is not None:
        raise InvalidInput("本期评审结果已公布")
    reviewed = list(
        session.scalars(
            select(GrantApplication)
            .where(GrantApplication.round_id == grant_round.id, GrantApplication.status.in_(loop.UNDER_REVIEW))
            .order_by(GrantApplication.id)
        )
    )
    undecided = [a.title for a in reviewed if a.decision is None or a.status not in DECIDABLE]
    if undecided:
        raise InvalidInput(f"尚有申请未作决定：{'、'.join(undecided)}")
    total = sum(a.decision_fen or 0 for a in reviewed if a.decision == Decision.APPROVE)
    already = _committed(session, grant_round, category=None, besides=0) - total
    if already + total > grant_round.budget_fen:  # recorded decisions were each checked; this is the last word
        raise InvalidInput(f"超出本期总预算：总预算 {yuan(grant_round.budget_fen)}，拟批合计 {yuan(already + total)}")
    for application in reviewed:
        if application.decision == Decision.APPROVE:
            assert application.decision_fen is not None
            application.approved_fen = application.decision_fen
            application.split = split_for(application, application.decision_fen)
            note = f"资助金额 {yuan(application.decision_fen)}"
            if application.decision_note:
                note += f"；{application.decision_note}"
            loop.transition(session, application, GrantStatus.APPROVED, action="approve", staff=staff, note=note)
            schedule_reports(session, application)
        else:
            loop.transition(
                session,
                application,
                GrantStatus.DECLINED,
                action="decline",
                staff=staff,
                note=application.decision_note,
            )
    grant_round.decisions_published_at = utcnow()
    session.flush()
    return reviewed
