"""Staff moves on a case: each action checks who may do it and what it needs, then calls the loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import case_loop
from core.errors import Forbidden, InvalidInput, NotFound
from core.glossary import CaseStatus, Role, Tier
from core.models import Case, CaseEvent, StaffUser
from core.models.base import utcnow
from core.services.staff import can_see

S = CaseStatus
CENTERS = frozenset({Role.DISTRICT_CENTER, Role.STREET_CENTER, Role.COMMUNITY_STATION})
COORDINATORS = CENTERS | {Role.GRID_LEADER}


@dataclass(frozen=True)
class Move:
    """One staff action: who may take it, and the function that performs it."""

    roles: frozenset[Role] | None  # None: only the case's assignee
    perform: Callable[[Session, Case, StaffUser, dict[str, Any]], CaseEvent]


def find_case(session: Session, staff: StaffUser, number: str) -> Case:
    """The case with this number, if `staff` may see it; otherwise NotFound, never a hint it exists."""
    case = session.scalar(select(Case).where(Case.number == number))
    if case is None or not can_see(staff, case):
        raise NotFound(f"案件 {number} 不存在")
    return case


def _text(params: dict[str, Any], name: str, *, required: bool = False, label: str = "") -> str:
    value = params.get(name) or ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} 必须是文字")
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"请填写{label or name}")
    if len(value) > 2000:
        raise InvalidInput(f"{label or name}最多 2000 字")
    return value


def _assignee(session: Session, params: dict[str, Any]) -> StaffUser:
    key = _text(params, "assignee", required=True, label="处置人（用户名或部门代码）")
    person = session.scalar(select(StaffUser).where((StaffUser.username == key) | (StaffUser.unit_code == key)))
    if person is None or not person.is_active:
        raise InvalidInput(f"处置人 {key} 不存在")
    return person


def _tier(params: dict[str, Any], default: Tier | None) -> Tier:
    raw = params.get("tier") or (default.value if default else None)
    try:
        return Tier(raw)
    except ValueError:
        raise InvalidInput("tier 必须是 community、street 或 district") from None


def _accept(session: Session, case: Case, staff: StaffUser, params: dict[str, Any]) -> CaseEvent:
    return case_loop.transition(session, case, S.ACCEPTED, action="accept", staff=staff, note=_text(params, "note"))


def _reject(session: Session, case: Case, staff: StaffUser, params: dict[str, Any]) -> CaseEvent:
    reason = _text(params, "reason", required=True, label="不予受理的理由")
    return case_loop.transition(session, case, S.REJECTED, action="reject", staff=staff, note=reason)


def _duplicate(session: Session, case: Case, staff: StaffUser, params: dict[str, Any]) -> CaseEvent:
    number = _text(params, "original", required=True, label="原案件编号")
    original = session.scalar(select(Case).where(Case.number == number))
    if original is None or original.id == case.id or not can_see(staff, original):
        raise InvalidInput(f"原案件 {number} 不存在")
    if original.status in (S.REJECTED, S.DUPLICATE):
        raise InvalidInput(f"原案件 {number} 已结束，不能合并到它")
    case.duplicate_of_id = original.id
    for resident in case.followers:
        if resident not in original.followers:
            original.followers.append(resident)
    note = _text(params, "reason") or f"与 {original.number} 为同一问题"
    return case_loop.transition(
        session, case, S.DUPLICATE, action="duplicate", staff=staff, note=note, data={"original": number}
    )


def _dispatch(session: Session, case: Case, staff: StaffUser, params: dict[str, Any]) -> CaseEvent:
    assignee = _assignee(session, params)
    tier = _tier(params, case.category.default_tier if case.category else Tier.COMMUNITY)
    case.assignee = assignee
    case.tier = tier
    if case.category and case.category.time_limit_hours:
        case.deadline_at = utcnow() + timedelta(hours=case.category.time_limit_hours)
        case.warned_at = case.overdue_at = None  # a new time limit is warned about afresh
    return case_loop.transition(
        session,
        case,
        S.DISPATCHED,
        action="dispatch",
        staff=staff,
        note=_text(params, "note"),
        data={"assignee": assignee.username, "tier": tier.value},
    )


def _escalate(session: Session, case: Case, staff: StaffUser, params: dict[str, Any]) -> CaseEvent:
    current = case.tier or Tier.COMMUNITY
    raised = current.raised()
    if raised is None:
        raise InvalidInput("案件已在区级（大循环），不能再上报")
    assignee = _assignee(session, params)
    assisting = params.get("assisting") or []
    if not isinstance(assisting, list) or not all(isinstance(a, str) for a in assisting):
        raise InvalidInput("assisting 必须是部门代码的列表")
    case.tier = raised
    case.assignee = assignee
    return case_loop.transition(
        session,
        case,
        S.DISPATCHED,
        action="escalate",
        staff=staff,
        note=_text(params, "note"),
        data={"assignee": assignee.username, "tier": raised.value, "assisting": assisting},
    )


def _reassign(session: Session, case: Case, staff: StaffUser, params: dict[str, Any]) -> CaseEvent:
    assignee = _assignee(session, params)
    case.assignee = assignee
    return case_loop.transition(
        session,
        case,
        S.DISPATCHED,
        action="reassign",
        staff=staff,
        note=_text(params, "note"),
        data={"assignee": assignee.username},
    )


def _handle(session: Session, case: Case, staff: StaffUser, params: dict[str, Any]) -> CaseEvent:
    note = _text(params, "note", required=True, label="处置说明")
    case.handler = staff
    return case_loop.transition(session, case, S.HANDLED, action="handle", staff=staff, note=note)


def _verify(session: Session, case: Case, staff: StaffUser, params: dict[str, Any]) -> CaseEvent:
    if case.handler_id == staff.id:
        raise Forbidden("核查须由处置人以外的人员进行")
    passed = params.get("passed")
    if not isinstance(passed, bool):
        raise InvalidInput("passed 必须是 true 或 false")
    note = _text(params, "note", required=not passed, label="核查未通过的原因")
    if passed:
        return case_loop.transition(session, case, S.VERIFIED, action="verify", staff=staff, note=note)
    return case_loop.transition(session, case, S.DISPATCHED, action="rework", staff=staff, note=note)


def _close(session: Session, case: Case, staff: StaffUser, params: dict[str, Any]) -> CaseEvent:
    return case_loop.transition(session, case, S.CLOSED, action="close", staff=staff, note=_text(params, "note"))


MOVES: dict[str, Move] = {
    "accept": Move(CENTERS, _accept),
    "reject": Move(CENTERS, _reject),
    "duplicate": Move(CENTERS, _duplicate),
    "dispatch": Move(COORDINATORS, _dispatch),
    "escalate": Move(COORDINATORS, _escalate),
    "reassign": Move(COORDINATORS, _reassign),
    "handle": Move(None, _handle),
    "verify": Move(COORDINATORS, _verify),
    "close": Move(CENTERS, _close),
}


def perform(session: Session, staff: StaffUser, number: str, action: str, params: dict[str, Any]) -> CaseEvent:
    """Carry out `action` on case `number` for `staff`, in the caller's transaction."""
    move = MOVES.get(action)
    if move is None:
        raise InvalidInput(f"未知操作：{action}（可选：{', '.join(MOVES)}）")
    case = find_case(session, staff, number)
    if move.roles is None:
        if case.assignee_id != staff.id:
            raise Forbidden("只有该案件的处置人可以执行此操作")
    elif staff.role not in move.roles:
        raise Forbidden(f"「{staff.role.label}」不能执行此操作")
    return move.perform(session, case, staff, params)
