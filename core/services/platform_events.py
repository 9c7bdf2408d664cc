"""The moves a district's platform reports back: checked, kept by event id, applied in sequence order.

Each event names the case by its number and carries the platform's `sequence` of moves on that
case, counting from 1. An event is stored first (`pending`) and then the case's pending events are
applied in sequence order for as long as they follow on from the last one taken: an event that
arrives early waits for the gap to fill. Each is applied through case_loop.transition with no
staff actor and `{"via": "platform", …}` in its data, so the resident is told exactly as when staff
move the case; a move the loop forbids marks the event `refused` with the reason and the next
one is taken. A repeated event id with the same body changes nothing; with another body it is a
conflict. See docs/platform-api.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import case_loop
from core.errors import ForbiddenTransition, GongzhiError, InvalidInput, NotFound
from core.glossary import CaseStatus, Tier
from core.models import Case, CaseEvent, PlatformEvent
from core.models.base import utcnow

S = CaseStatus
PENDING, APPLIED, REFUSED = "pending", "applied", "refused"
ACTIONS = ("dispatch", "escalate", "handle", "verify", "close", "reject")
EVENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
TEXT_MAX = 2000
NAME_MAX = 100
SEQUENCE_MAX = 2**31 - 1


class EventConflict(GongzhiError):
    """The event id or the sequence number is already taken by a different event (answered 409)."""

    code = "conflict"


@dataclass(frozen=True)
class Outcome:
    """What became of one posted event, and of any waiting events it let through."""

    event: PlatformEvent
    case: Case
    duplicate: bool = False
    processed: list[PlatformEvent] = field(default_factory=list)


def _text(body: dict[str, Any], name: str, label: str, *, required: bool = False, limit: int = TEXT_MAX) -> str:
    value = body.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name}（{label}）必须是文字")
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"请填写 {name}（{label}）")
    if len(value) > limit:
        raise InvalidInput(f"{name}（{label}）最多 {limit} 字")
    return value


def check_body(body: Any) -> dict[str, Any]:
    """The event as posted, if it is well formed (schema `event-request`); InvalidInput in Chinese otherwise."""
    if not isinstance(body, dict):
        raise InvalidInput("请求体必须是 JSON 对象")
    event_id = body.get("event_id")
    if not isinstance(event_id, str) or not EVENT_ID.fullmatch(event_id):
        raise InvalidInput("event_id 必须是 1–64 位的字母、数字或 . _ : -")
    _text(body, "case_number", "案件编号", required=True, limit=24)
    sequence = body.get("sequence")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or not 1 <= sequence <= SEQUENCE_MAX:
        raise InvalidInput("sequence 必须是从 1 开始的整数")
    action = body.get("action")
    if action not in ACTIONS:
        raise InvalidInput(f"未知操作：{action}（可选：{', '.join(ACTIONS)}）")
    occurred_at = body.get("occurred_at")
    if occurred_at is not None:
        try:
            moment = datetime.fromisoformat(occurred_at) if isinstance(occurred_at, str) else None
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise InvalidInput("occurred_at 必须是带时区的 ISO 8601 时间，例如 2026-11-21T14:03:00+08:00")
    _text(body, "note", "说明")
    if action in ("dispatch", "escalate"):
        _text(body, "assignee", "处置人或单位", required=action == "dispatch", limit=NAME_MAX)
        _text(body, "department", "部门", limit=NAME_MAX)
    if action == "dispatch" and body.get("tier") is not None and body.get("tier") not in {t.value for t in Tier}:
        raise InvalidInput("tier 必须是 community、street 或 district")
    if action == "escalate":
        assisting = body.get("assisting", [])
        if not isinstance(assisting, list) or not all(isinstance(a, str) and 0 < len(a) <= NAME_MAX for a in assisting):
            raise InvalidInput("assisting（协办单位）必须是文字的列表")
    if action == "handle":
        _text(body, "note", "处置说明", required=True)
    if action == "verify":
        if not isinstance(body.get("passed"), bool):
            raise InvalidInput("passed（核查是否通过）必须是 true 或 false")
        _text(body, "note", "核查未通过的原因", required=not body["passed"])
    if action == "reject":
        _text(body, "reason", "不予受理的理由", required=True)
    return body


# --- the moves -------------------------------------------------------------------------------


def _data(row: PlatformEvent, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"via": "platform", "platform_event_id": row.event_id, "sequence": row.sequence}
    data.update({key: value for key, value in extra.items() if value not in (None, "", [])})
    return data


def _only_from(case: Case, allowed: set[CaseStatus], what: str) -> None:
    # The loop allows more ways into `dispatched` (rework, reopen) than a platform's dispatch means.
    if case.status not in allowed:
        raise ForbiddenTransition(f"案件 {case.number} 当前状态为「{case.status.label}」，不能{what}")


def _dispatch(session: Session, case: Case, row: PlatformEvent, body: dict[str, Any]) -> CaseEvent:
    _only_from(case, {S.ACCEPTED, S.DISPATCHED}, "派遣")
    default = case.tier or (case.category.default_tier if case.category else None) or Tier.COMMUNITY
    tier = Tier(body["tier"]) if body.get("tier") else default
    first = case.status == S.ACCEPTED
    # The platform's people are not our staff accounts: the names are kept in the event, not as the assignee.
    case.assignee = None
    case.tier = tier
    if first and case.category and case.category.time_limit_hours:
        case.deadline_at = utcnow() + timedelta(hours=case.category.time_limit_hours)
        case.warned_at = case.overdue_at = None
    names = {"assignee_name": _text(body, "assignee", ""), "department": _text(body, "department", "")}
    data = _data(row, **names, tier=tier.value)
    action = "dispatch" if first else "reassign"
    return case_loop.transition(session, case, S.DISPATCHED, action=action, note=_text(body, "note", ""), data=data)


def _escalate(session: Session, case: Case, row: PlatformEvent, body: dict[str, Any]) -> CaseEvent:
    _only_from(case, {S.DISPATCHED}, "上报升级")
    raised = (case.tier or Tier.COMMUNITY).raised()
    if raised is None:
        raise ForbiddenTransition(f"案件 {case.number} 已在区级（大循环），不能再上报")
    case.tier = raised
    case.assignee = None
    assisting = list(body.get("assisting") or [])
    if raised == Tier.DISTRICT and assisting:
        case.assisting_units = assisting
    data = _data(
        row,
        assignee_name=_text(body, "assignee", ""),
        department=_text(body, "department", ""),
        tier=raised.value,
        assisting=assisting,
    )
    return case_loop.transition(session, case, S.DISPATCHED, action="escalate", note=_text(body, "note", ""), data=data)


def _handle(session: Session, case: Case, row: PlatformEvent, body: dict[str, Any]) -> CaseEvent:
    case.handler = None
    note = _text(body, "note", "")
    return case_loop.transition(session, case, S.HANDLED, action="handle", note=note, data=_data(row))


def _verify(session: Session, case: Case, row: PlatformEvent, body: dict[str, Any]) -> CaseEvent:
    note = _text(body, "note", "")
    if body["passed"]:
        return case_loop.transition(session, case, S.VERIFIED, action="verify", note=note, data=_data(row))
    _only_from(case, {S.HANDLED}, "退回重办")
    return case_loop.transition(session, case, S.DISPATCHED, action="rework", note=note, data=_data(row))


def _close(session: Session, case: Case, row: PlatformEvent, body: dict[str, Any]) -> CaseEvent:
    return case_loop.transition(session, case, S.CLOSED, action="close", note=_text(body, "note", ""), data=_data(row))


def _reject(session: Session, case: Case, row: PlatformEvent, body: dict[str, Any]) -> CaseEvent:
    reason = _text(body, "reason", "")
    return case_loop.transition(session, case, S.REJECTED, action="reject", note=reason, data=_data(row))


MOVES: dict[str, Callable[[Session, Case, PlatformEvent, dict[str, Any]], CaseEvent]] = {
    "dispatch": _dispatch,
    "escalate": _escalate,
    "handle": _handle,
    "verify": _verify,
    "close": _close,
    "reject": _reject,
}


# --- storing and ordering ----------------------------------------------------------------------


def _last_taken(session: Session, case: Case) -> int:
    """The highest sequence applied or refused on the case (0: none yet)."""
    query = select(func.max(PlatformEvent.sequence)).where(
        PlatformEvent.case_id == case.id, PlatformEvent.status.in_((APPLIED, REFUSED))
    )
    return session.scalar(query) or 0


def _apply_one(session: Session, case: Case, row: PlatformEvent) -> None:
    """Apply one event; a move the loop (or its domain rules) refuses marks it refused, changing nothing else."""
    try:
        with session.begin_nested():
            MOVES[row.action](session, case, row, row.payload)
    except (ForbiddenTransition, InvalidInput) as refused:
        session.refresh(case)
        row.status = REFUSED
        row.error = refused.message
    else:
        row.status = APPLIED
        row.error = None
    row.applied_at = utcnow()


def drain(session: Session, case: Case) -> list[PlatformEvent]:
    """Apply the case's waiting events that follow on from the last one taken, in order; returns them."""
    expected = _last_taken(session, case) + 1
    waiting = session.scalars(
        select(PlatformEvent)
        .where(PlatformEvent.case_id == case.id, PlatformEvent.status == PENDING, PlatformEvent.sequence >= expected)
        .order_by(PlatformEvent.sequence)
    ).all()
    processed: list[PlatformEvent] = []
    for row in waiting:
        if row.sequence != expected:
            break  # a gap: the missing event has not arrived yet
        _apply_one(session, case, row)
        processed.append(row)
        expected += 1
    return processed


def apply_event(session: Session, body: dict[str, Any]) -> Outcome:
    """Store the platform's event `body` (already checked by check_body) and apply what it lets through.

    In the caller's transaction. NotFound for an unknown case number, EventConflict for an event id
    or sequence already used by a different event; in both cases nothing is stored.
    """
    number = body["case_number"].strip().upper()
    # The case's row lock puts concurrent events of one case in a line, so each sees the others' sequence.
    case = session.scalar(select(Case).where(Case.number == number).with_for_update())
    if case is None:
        raise NotFound(f"案件 {number} 不存在")
    existing = session.scalar(select(PlatformEvent).where(PlatformEvent.event_id == body["event_id"]))
    if existing is not None:
        if existing.case_id != case.id or existing.payload != body:
            raise EventConflict(f"事件 {body['event_id']} 已收到过，内容与这次不同")
        return Outcome(existing, case, duplicate=True)
    taken = session.scalar(
        select(PlatformEvent).where(PlatformEvent.case_id == case.id, PlatformEvent.sequence == body["sequence"])
    )
    if taken is not None:
        raise EventConflict(f"案件 {number} 的序号 {body['sequence']} 已由事件 {taken.event_id} 使用")
    row = PlatformEvent(
        event_id=body["event_id"], case_id=case.id, sequence=body["sequence"], action=body["action"], payload=body
    )
    session.add(row)
    session.flush()
    return Outcome(row, case, processed=drain(session, case))


def waiting_events(session: Session, limit: int = 200) -> list[PlatformEvent]:
    """Events still waiting for an earlier one, and refused ones, newest first (for the console)."""
    query = (
        select(PlatformEvent)
        .where(PlatformEvent.status.in_((PENDING, REFUSED)))
        .order_by(PlatformEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query).all())
