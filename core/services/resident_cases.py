"""What a resident may do with their own cases: list, look one up, follow one, read its timeline, rate, reopen.

A follower (someone following a case they did not report) sees status and timeline only; the
reporter alone sees what they wrote, the photos and the exact position, and alone rates or reopens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from core import case_loop
from core.db import insert_or_ignore
from core.errors import Forbidden, InvalidInput, NotFound
from core.glossary import CaseStatus, Tier
from core.models import Case, CaseEvent, Resident, case_followers
from core.models.base import utcnow
from core.privacy.anonymise import REDACTED, redacted_ids, shown_note

S = CaseStatus
REOPEN_WINDOW = timedelta(days=7)
COMMENT_MAX = 500
# What a case number may look like once tidied (GZ20261121-000042); anything else is no case of ours.
_NUMBER = re.compile(r"[A-Z0-9-]{1,24}")
# Cases still being worked on: a resident who sees the same problem follows one of these.
OPEN_STATUSES = (S.REPORTED, S.ACCEPTED, S.DISPATCHED, S.HANDLED)

# Fixed, resident-safe words for moves whose staff note stays inside; without them a resident would
# see "处理中" twice with no idea why.
_FIXED_TEXT = {
    "reassign": "已转交其他处置人",
    "rework": "核查未通过，重新处置",
    "reopen": "群众反映问题未解决，已重新派遣",
}


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the timeline as a resident sees it."""

    at: datetime
    status_label: str
    text: str


def _is_own(case: Case, resident: Resident) -> bool:
    return case.reporter_id == resident.id or resident in case.followers


def _own_case(session: Session, resident: Resident, number: str, *, lock: bool = False) -> Case:
    if not isinstance(number, str) or not number.strip():
        raise InvalidInput("请输入案件编号，例如 GZ20261121-000001")
    wanted = number.strip().upper()
    if not _NUMBER.fullmatch(wanted):
        raise NotFound("未找到该案件，请核对编号")
    query = select(Case).where(Case.number == wanted)
    if lock:
        # A double tap sends two ratings or two reopens at once; the row lock makes the second wait
        # and then see the first one's status (populate_existing re-reads what the session held).
        query = query.with_for_update().execution_options(populate_existing=True)
    case = session.scalar(query)
    # One message for "no such case" and "someone else's case": a resident must not learn it exists.
    if case is None or not _is_own(case, resident):
        raise NotFound(f"未找到案件 {wanted}，请核对编号")
    return case


def _mine(resident: Resident) -> ColumnElement[bool]:
    """The condition "reported or followed by `resident`"."""
    followed = select(case_followers.c.case_id).where(case_followers.c.resident_id == resident.id)
    return or_(Case.reporter_id == resident.id, Case.id.in_(followed))


def my_cases(session: Session, resident: Resident, limit: int = 5) -> list[Case]:
    """The resident's cases — reported or followed by them — newest first, at most `limit`."""
    query = (
        select(Case)
        .where(_mine(resident))
        # id breaks ties between cases made within the same instant.
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(max(limit, 0))
    )
    return list(session.scalars(query))


def my_cases_page(
    session: Session, resident: Resident, *, status: CaseStatus | None = None, page: int = 1, per_page: int = 20
) -> tuple[list[Case], int]:
    """One page (from 1) of the resident's cases, newest first, optionally of one status; and how many in all."""
    mine = _mine(resident)
    if status is not None:
        mine = mine & (Case.status == status)
    total = session.scalar(select(func.count()).select_from(Case).where(mine)) or 0
    query = (
        select(Case)
        .where(mine)
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(max(per_page, 0))
        .offset(max(page - 1, 0) * max(per_page, 0))
    )
    return list(session.scalars(query)), total


def follow(session: Session, resident: Resident, number: str) -> tuple[Case, bool]:
    """Follow an open case instead of reporting the same problem again; returns (case, newly followed).

    Following twice changes nothing. Someone else's case that is no longer open is answered like a
    missing one (NotFound): only open cases are shown to others (core.services.nearby), and a problem
    that is back after closing is a new report.
    """
    wanted = number.strip().upper() if isinstance(number, str) else ""
    case = session.scalar(select(Case).where(Case.number == wanted)) if _NUMBER.fullmatch(wanted) else None
    if case is not None and _is_own(case, resident):
        return case, False
    if case is None or case.status not in OPEN_STATUSES:
        shown = f" {wanted}" if _NUMBER.fullmatch(wanted) else ""
        raise NotFound(f"未找到可关注的案件{shown}：只能关注尚未办结的案件，请核对编号")
    # Two taps at once: the second insert finds the row and does nothing.
    insert_or_ignore(
        session, case_followers, {"case_id": case.id, "resident_id": resident.id}, ["case_id", "resident_id"]
    )
    session.expire(case, ["followers"])
    return case, True


def find_own_case(session: Session, resident: Resident, number: str) -> Case:
    """The case `number` (any letter case, spaces ignored) if the resident reported or follows it.

    Raises NotFound with the same message whether the case is missing or belongs to someone else.
    """
    return _own_case(session, resident, number)


def _resident_text(event: CaseEvent, redacted: set[int]) -> str:
    data = event.data or {}
    if event.action == "reject":
        # The reason is written for the resident: DESIGN.md has rejections carry one.
        note = shown_note(event, redacted)
        return f"理由：{note}" if note else ""
    if event.action == "duplicate":
        original = data.get("original")
        return f"与案件 {original} 为同一问题，请关注该案件进展" if original else ""
    if event.action == "escalate":
        try:
            return f"已上报至{Tier(str(data.get('tier'))).label}"
        except ValueError:
            return ""
    # Every other note may name staff or hold internal remarks, so it never reaches a resident.
    return _FIXED_TEXT.get(event.action, "")


def resident_timeline(case: Case) -> list[TimelineEntry]:
    """The case's timeline, oldest first, with only what a resident may read (a redaction is no step)."""
    redacted = redacted_ids(case.events)
    return [
        TimelineEntry(event.created_at, event.to_status.label, _resident_text(event, redacted))
        for event in case.events
        if event.action != REDACTED
    ]


def _comment(value: str | None, label: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{label}必须是文字")
    value = value.strip()
    if len(value) > COMMENT_MAX:
        raise InvalidInput(f"{label}最多 {COMMENT_MAX} 字")
    return value


def evaluate(session: Session, resident: Resident, number: str, rating: int, comment: str = "") -> CaseEvent:
    """Rate a closed case 1–5 with an optional comment: once, and only by the person who reported it."""
    case = _own_case(session, resident, number, lock=True)
    # Only the reporter: 群众满意率 counts one rating per report, from the person who raised it.
    # Followers joined later (or through a merged duplicate) and may only say "not fixed".
    if case.reporter_id != resident.id:
        raise Forbidden("只有反映人本人可以评价此案件")
    if case.status == S.EVALUATED or case.rating is not None:
        raise InvalidInput(f"案件 {case.number} 已评价过，感谢您的反馈")
    if case.status != S.CLOSED:
        raise InvalidInput(f"案件 {case.number} 当前为「{case.status.label}」，办结后才能评价")
    # bool is an int in Python; True must not pass as a rating of 1.
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise InvalidInput("评分请选择 1 到 5 之间的整数，5 为最满意")
    text = _comment(comment, "评价内容")
    case.rating = rating
    case.rating_comment = text or None
    return case_loop.transition(
        session, case, S.EVALUATED, action="evaluate", resident=resident, note=text, data={"rating": rating}
    )


def reopen(
    session: Session, resident: Resident, number: str, reason: str = "", now: datetime | None = None
) -> CaseEvent:
    """没修好 (not fixed): send a closed case back to its assignee within 7 days of closing; only the reporter.

    A follower sees status and timeline only (docs/privacy.md, Minimum exposure): whether the problem
    is fixed is the reporter's call, as is the rating; a follower who still sees it reports anew.
    """
    case = _own_case(session, resident, number, lock=True)
    if case.reporter_id != resident.id:
        raise Forbidden("只有反映人本人可以反映没修好；如问题仍在，请重新上报")
    if case.status != S.CLOSED:
        raise InvalidInput(f"案件 {case.number} 当前为「{case.status.label}」，只有已办结的案件可以反映没修好")
    text = _comment(reason, "原因")
    now = now or utcnow()
    # closed_at is stamped at every close, so the window runs from the latest one.
    if case.closed_at is None or now - case.closed_at > REOPEN_WINDOW:
        raise InvalidInput(f"案件 {case.number} 办结已超过 7 天，不能再反映没修好；如问题仍在，请重新上报")
    # Assignee and tier stay: the same people fix what they left unfixed, with a fresh time limit.
    if case.category is not None and case.category.time_limit_hours:
        case.deadline_at = now + timedelta(hours=case.category.time_limit_hours)
        case.warned_at = case.overdue_at = None  # a new time limit is warned about afresh
    return case_loop.transition(session, case, S.DISPATCHED, action="reopen", resident=resident, note=text)
