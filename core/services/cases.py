"""Staff moves on a case: each action checks who may do it, in which status and with what, then calls the loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import case_loop, outbox
from core.errors import Forbidden, ForbiddenTransition, GongzhiError, InvalidInput, NotFound
from core.glossary import CaseStatus, Role, Tier
from core.models import Case, CaseEvent, Photo, StaffUser
from core.models.base import utcnow
from core.services.intake import MAX_PHOTOS
from core.services.staff import can_see

S = CaseStatus
CENTERS = frozenset({Role.DISTRICT_CENTER, Role.STREET_CENTER, Role.COMMUNITY_STATION})
COORDINATORS = CENTERS | {Role.GRID_LEADER}


@dataclass(frozen=True)
class Move:
    """One staff action: in which status, who may take it, and the function that performs it."""

    label: str
    when: CaseStatus
    roles: frozenset[Role]  # empty: only the case's assignee
    perform: Callable[[Session, Case, StaffUser, dict[str, Any]], CaseEvent]


def find_case(session: Session, staff: StaffUser, number: str, *, for_update: bool = False) -> Case:
    """The case with this number, if `staff` may see it; otherwise NotFound, never a hint it exists."""
    query = select(Case).where(Case.number == number)
    case = session.scalar(query.with_for_update() if for_update else query)
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


def _staff_by_key(session: Session, key: str) -> StaffUser | None:
    person = session.scalar(select(StaffUser).where((StaffUser.username == key) | (StaffUser.unit_code == key)))
    return person if person is not None and person.is_active and person.role != Role.COMMITTEE else None


def _assignee(session: Session, params: dict[str, Any]) -> StaffUser:
    key = _text(params, "assignee", required=True, label="处置人（用户名或部门代码）")
    person = _staff_by_key(session, key)
    if person is None:
        raise InvalidInput(f"处置人 {key} 不存在")
    return person


def _assisting(session: Session, params: dict[str, Any], lead: StaffUser) -> list[str]:
    """The assisting department units (协办) named in `params`, checked to exist."""
    raw = params.get("assisting") or []
    if isinstance(raw, str):
        raw = [part for part in raw.replace("，", ",").split(",")]
    if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
        raise InvalidInput("assisting 必须是部门代码的列表")
    codes: list[str] = []
    for code in (a.strip() for a in raw):
        if not code or code in codes or code == lead.unit_code:
            continue
        unit = session.scalar(select(StaffUser).where(StaffUser.unit_code == code))
        if unit is None or unit.role != Role.DEPARTMENT or not unit.is_active:
            raise InvalidInput(f"协办部门 {code} 不存在")
        codes.append(code)
    return codes


def _center_above(session: Session, case: Case, tier: Tier) -> StaffUser | None:
    """The center that takes a case escalated to `tier`: the street's, or the district's."""
    role = Role.STREET_CENTER if tier == Tier.STREET else Role.DISTRICT_CENTER
    query = select(StaffUser).where(StaffUser.role == role, StaffUser.is_active.is_(True)).order_by(StaffUser.id)
    if role == Role.STREET_CENTER:
        lineage = [grid.id for grid in case.grid.lineage()] if case.grid else []
        query = query.where(StaffUser.grid_id.in_(lineage))
    return session.scalars(query.limit(1)).first()


def _tier(params: dict[str, Any], default: Tier | None) -> Tier:
    raw = params.get("tier") or (default.value if default else None)
    try:
        return Tier(str(raw))
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
    tier = _tier(params, case.tier or (case.category.default_tier if case.category else None) or Tier.COMMUNITY)
    assisting = _assisting(session, params, assignee)
    if assisting and tier != Tier.DISTRICT:
        raise InvalidInput("只有区级（大循环）案件设协办部门")
    case.assignee = assignee
    case.tier = tier
    case.assisting_units = assisting or None
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
        data={"assignee": assignee.username, "tier": tier.value, "assisting": assisting},
    )


def _escalate(session: Session, case: Case, staff: StaffUser, params: dict[str, Any]) -> CaseEvent:
    current = case.tier or Tier.COMMUNITY
    raised = current.raised()
    if raised is None:
        raise InvalidInput("案件已在区级（大循环），不能再上报")
    if params.get("assignee"):
        assignee = _assignee(session, params)
    else:
        # Without a name the case goes to the center of the next level, whose queue it then joins.
        found = _center_above(session, case, raised)
        if found is None:
            raise InvalidInput(f"没有找到{raised.label}的受理人员，请指定 assignee")
        assignee = found
    assisting = _assisting(session, params, assignee)
    if assisting and raised != Tier.DISTRICT:
        raise InvalidInput("只有区级（大循环）案件设协办部门")
    case.tier = raised
    case.assignee = assignee
    case.assisting_units = assisting or None
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
    uploads = params.get("photos") or []
    if not isinstance(uploads, list) or not all(isinstance(p, str) for p in uploads) or len(uploads) > MAX_PHOTOS:
        raise InvalidInput(f"处置照片最多 {MAX_PHOTOS} 张")
    case.handler = staff
    event = case_loop.transition(
        session, case, S.HANDLED, action="handle", staff=staff, note=note, data={"photos": len(uploads)}
    )
    # After-photos belong to the handling: the event links them, and the worker processes them as any other.
    photos = [Photo(case_id=case.id, event_id=event.id, upload_path=path) for path in uploads]
    session.add_all(photos)
    session.flush()
    for photo in photos:
        outbox.add(session, outbox.PHOTO_FETCH, {"photo_id": photo.id})
    return event


def _verify(session: Session, case: Case, staff: StaffUser, params: dict[str, Any]) -> CaseEvent:
    passed = params.get("passed")
    if not isinstance(passed, bool):
        raise InvalidInput("passed 必须是 true 或 false")
    note = _text(params, "note", required=not passed, label="核查未通过的原因")
    if passed:
        return case_loop.transition(session, case, S.VERIFIED, action="verify", staff=staff, note=note)
    return case_loop.transition(session, case, S.DISPATCHED, action="rework", staff=staff, note=note)


def _close(session: Session, case: Case, staff: StaffUser, params: dict[str, Any]) -> CaseEvent:
    return case_loop.transition(session, case, S.CLOSED, action="close", staff=staff, note=_text(params, "note"))


NOBODY: frozenset[Role] = frozenset()
MOVES: dict[str, Move] = {
    "accept": Move("受理", S.REPORTED, CENTERS, _accept),
    "reject": Move("不予受理", S.REPORTED, CENTERS, _reject),
    "duplicate": Move("合并为重复", S.REPORTED, CENTERS, _duplicate),
    "dispatch": Move("派遣", S.ACCEPTED, COORDINATORS, _dispatch),
    # The assignee may pass a case up too: a grid worker who cannot solve it asks the next level.
    "escalate": Move("上报上级", S.DISPATCHED, COORDINATORS, _escalate),
    "reassign": Move("改派", S.DISPATCHED, COORDINATORS, _reassign),
    "handle": Move("处置完成", S.DISPATCHED, NOBODY, _handle),
    "verify": Move("核查", S.HANDLED, COORDINATORS, _verify),
    "close": Move("结案", S.VERIFIED, CENTERS, _close),
}
ASSIGNEE_MAY = frozenset({"escalate", "handle"})


def refusal(staff: StaffUser, case: Case, action: str) -> GongzhiError | None:
    """Why `staff` may not take `action` on `case` now, or None if they may."""
    move = MOVES[action]
    if case.status != move.when:
        return ForbiddenTransition(f"案件 {case.number} 当前状态为「{case.status.label}」，不能{move.label}")
    is_assignee = case.assignee_id == staff.id
    if staff.role not in move.roles and not (action in ASSIGNEE_MAY and is_assignee):
        if not move.roles:
            return Forbidden("只有该案件的处置人可以执行此操作")
        return Forbidden(f"「{staff.role.label}」不能{move.label}")
    if action == "verify" and case.handler_id == staff.id:
        return Forbidden("核查须由处置人以外的人员进行")
    if action == "escalate" and (case.tier or Tier.COMMUNITY).raised() is None:
        return InvalidInput("案件已在区级（大循环），不能再上报")
    return None


def available_moves(staff: StaffUser, case: Case) -> list[str]:
    """The actions `staff` may take on `case` right now, in the loop's order (for the console's buttons)."""
    if not can_see(staff, case):
        return []
    return [action for action in MOVES if refusal(staff, case, action) is None]


def perform(session: Session, staff: StaffUser, number: str, action: str, params: dict[str, Any]) -> CaseEvent:
    """Carry out `action` on case `number` for `staff`, in the caller's transaction.

    The case row is locked first, so two people pressing buttons at once move it one after the
    other, and the second sees the status the first left.
    """
    if action not in MOVES:
        raise InvalidInput(f"未知操作：{action}（可选：{', '.join(MOVES)}）")
    case = find_case(session, staff, number, for_update=True)
    refused = refusal(staff, case, action)
    if refused is not None:
        raise refused
    return MOVES[action].perform(session, case, staff, params)
