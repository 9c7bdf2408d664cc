"""Applying for a grant: drafting, budget lines checked against the caps, submitting, asking for more, withdrawing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.errors import Forbidden, InvalidInput, NotFound
from core.grants import loop
from core.grants.terms import GrantStatus, yuan
from core.models import GrantApplication, GrantEvent, GrantRound, Resident, StaffUser
from core.models.base import utcnow
from core.text import clean

MAX_LINES = 50
MAX_TEAM = 30


@dataclass
class ApplicationInput:
    title: str
    category: str
    summary: str = ""
    beneficiaries: str = ""
    schedule: str = ""
    group_name: str = ""
    # [{"name", "role", "resident_id"?, "phone"?}]
    team: list[dict[str, Any]] = field(default_factory=list)
    # [{"item", "quantity", "unit_price_fen"}]
    budget_lines: list[dict[str, Any]] = field(default_factory=list)


def budget(lines: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The budget lines with their totals computed, and the sum; refused for a line that makes no sense."""
    if len(lines) > MAX_LINES:
        raise InvalidInput(f"预算最多 {MAX_LINES} 项")
    computed: list[dict[str, Any]] = []
    total = 0
    for number, line in enumerate(lines, start=1):
        item = clean(str(line.get("item", "")), 64)
        quantity, price = line.get("quantity"), line.get("unit_price_fen")
        if not item:
            raise InvalidInput(f"预算第 {number} 项：请填写名目")
        if not isinstance(quantity, int) or not isinstance(price, int) or quantity <= 0 or price < 0:
            raise InvalidInput(f"预算第 {number} 项：数量须为正整数，单价须为不小于 0 的整数（分）")
        computed.append({"item": item, "quantity": quantity, "unit_price_fen": price, "total_fen": quantity * price})
        total += quantity * price
    return computed, total


def _team(members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(members) > MAX_TEAM:
        raise InvalidInput(f"团队最多 {MAX_TEAM} 人")
    team = []
    for number, person in enumerate(members, start=1):
        name = clean(str(person.get("name", "")), 32)
        if not name:
            raise InvalidInput(f"团队第 {number} 人：请填写姓名")
        entry: dict[str, Any] = {"name": name, "role": clean(str(person.get("role", "")), 32)}
        if isinstance(person.get("resident_id"), int):
            entry["resident_id"] = person["resident_id"]
        if person.get("phone"):
            entry["phone"] = clean(str(person["phone"]), 32)
        team.append(entry)
    return team


def check_caps(grant_round: GrantRound, category: str, amount_fen: int) -> None:
    """Refuse an amount above the round's cap per application or its category's cap, naming both numbers."""
    if amount_fen > grant_round.cap_per_application_fen:
        raise InvalidInput(f"申请金额 {yuan(amount_fen)} 超过单项上限 {yuan(grant_round.cap_per_application_fen)}")
    cap = grant_round.category_caps.get(category)
    if cap is not None and amount_fen > int(cap):
        raise InvalidInput(f"申请金额 {yuan(amount_fen)} 超过「{category}」类上限 {yuan(int(cap))}")


def _fill(application: GrantApplication, grant_round: GrantRound, data: ApplicationInput) -> None:
    title = clean(data.title, 64)
    if not title:
        raise InvalidInput("请填写项目名称")
    if data.category not in grant_round.categories:
        raise InvalidInput(f"项目类别须为：{'、'.join(grant_round.categories)}")
    lines, total = budget(data.budget_lines)
    check_caps(grant_round, data.category, total)
    application.title = title
    application.category = data.category
    application.summary = clean(data.summary, 4000)
    application.beneficiaries = clean(data.beneficiaries, 2000)
    application.schedule = clean(data.schedule, 2000)
    application.group_name = clean(data.group_name, 64)
    application.team = _team(data.team)
    application.budget_lines = lines
    application.requested_fen = total


def window_open(grant_round: GrantRound, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return grant_round.opens_at <= now < grant_round.closes_at


def draft(
    session: Session,
    grant_round: GrantRound,
    data: ApplicationInput,
    *,
    resident: Resident | None = None,
    staff: StaffUser | None = None,
) -> GrantApplication:
    """A new draft application by a resident (mini-program) or entered by staff (console)."""
    if grant_round.decisions_published_at is not None:
        raise InvalidInput("本期评审结果已公布，不再接受申请")
    application = GrantApplication(
        round=grant_round,
        applicant_id=resident.id if resident else None,
        created_by_id=staff.id if staff else None,
        status=GrantStatus.DRAFT,
    )
    _fill(application, grant_round, data)
    session.add(application)
    session.flush()
    return application


def own_application(session: Session, resident: Resident, application_id: int) -> GrantApplication:
    """The resident's own application; anyone else's is NotFound."""
    application = session.get(GrantApplication, application_id)
    if application is None or application.applicant_id != resident.id:
        raise NotFound("申请不存在")
    return application


def edit(session: Session, application: GrantApplication, data: ApplicationInput) -> None:
    """Change the content: only while a draft, or while the committee has asked for more information."""
    if application.status not in loop.EDITABLE:
        raise Forbidden(f"当前状态「{application.status.applicant_label}」下不能修改申请")
    _fill(application, application.round, data)
    session.flush()


def submit(
    session: Session, application: GrantApplication, *, resident: Resident | None = None, staff: StaffUser | None = None
) -> GrantEvent:
    """Submit a draft inside the window, or resubmit after the committee asked for more information."""
    if application.status == GrantStatus.INFO_REQUESTED:
        return loop.transition(
            session, application, GrantStatus.RESUBMITTED, action="resubmit", resident=resident, staff=staff
        )
    if application.status == GrantStatus.DRAFT and not window_open(application.round):
        raise InvalidInput("不在申报时间内，不能提交")
    if application.requested_fen <= 0:
        raise InvalidInput("请填写预算")
    return loop.transition(session, application, GrantStatus.SUBMITTED, action="submit", resident=resident, staff=staff)


def withdraw(
    session: Session,
    application: GrantApplication,
    *,
    resident: Resident | None = None,
    staff: StaffUser | None = None,
    note: str = "",
) -> GrantEvent:
    """Withdraw, at any point before approval (the loop refuses after it)."""
    return loop.transition(
        session, application, GrantStatus.WITHDRAWN, action="withdraw", resident=resident, staff=staff, note=note
    )


def start_review(session: Session, application: GrantApplication, *, staff: StaffUser) -> GrantEvent:
    """Staff put a submitted or resubmitted application before the committee."""
    return loop.transition(session, application, GrantStatus.IN_REVIEW, action="review", staff=staff)


def ask_for_information(session: Session, application: GrantApplication, *, staff: StaffUser, note: str) -> GrantEvent:
    """The committee (through staff) asks the applicant for more; the note says what."""
    if not note.strip():
        raise InvalidInput("请写明需要补充的材料")
    return loop.transition(
        session, application, GrantStatus.INFO_REQUESTED, action="ask_info", staff=staff, note=clean(note, 1000)
    )
