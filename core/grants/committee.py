"""The committee at work: recusal, score sheets (0–5 or n/a per criterion), the quorum, residents' support.

Recusal. A member is recused from an application when they declared a conflict with it, or when
they belong to the applying group: the applicant or a team member is the member's resident identity
(`GrantMember.resident_id`, a Resident id — the robust link, set when the member is seated), or a
team member's phone is the member's phone (for teams typed by hand: the last 11 digits, compared
through the member's keyed phone hash, so the member's number itself is never opened).

Quorum. Scores count towards a decision only from members not recused; more than half of those
must have scored the application before it can be decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import Forbidden, InvalidInput
from core.grants import loop
from core.models import GrantApplication, GrantMember, GrantScore, GrantSupport, Resident, StaffUser
from core.privacy.contact import phone_matches
from core.text import clean

MAX_SCORE = 5


def recusal_reason(member: GrantMember, application: GrantApplication) -> str | None:
    """Why `member` may not judge `application`, or None."""
    declared = member.conflicts.get(str(application.id))
    if declared:
        return f"本人申报利益冲突：{declared}"
    if member.resident_id is not None:
        if application.applicant_id == member.resident_id:
            return "本人为申请人"
        if any(person.get("resident_id") == member.resident_id for person in application.team):
            return "本人为申请团队成员"
    if member.phone_hash and any(phone_matches(person.get("phone"), member.phone_hash) for person in application.team):
        return "本人为申请团队成员（电话相同）"
    return None


def weighted_average(rubric: list[dict[str, Any]], scores: dict[str, Any]) -> float | None:
    """The weighted mean of the scored criteria; n/a (None) is left out, not counted as 0. None if all n/a."""
    total = weight = 0
    for criterion in rubric:
        score = scores.get(criterion["key"])
        if score is None:
            continue
        total += int(criterion["weight"]) * int(score)
        weight += int(criterion["weight"])
    return round(total / weight, 2) if weight else None


def submit_scores(
    session: Session, member: GrantMember, application: GrantApplication, scores: dict[str, Any], comment: str
) -> GrantScore:
    """Record the member's score sheet: every criterion 0–5 or None (n/a); once, no second thoughts."""
    if application.round_id != member.round_id:
        raise Forbidden("您不是本期评审委员会成员")
    if (reason := recusal_reason(member, application)) is not None:
        raise Forbidden(f"您已回避此申请（{reason}），不能评分")
    if application.status not in loop.UNDER_REVIEW:
        raise InvalidInput(f"申请当前「{application.status.label}」，不在评审中")
    keys = [criterion["key"] for criterion in application.round.rubric]
    if set(scores) != set(keys):
        raise InvalidInput("请为每一项评分标准打分（0–5 分，或不适用）")
    for score in scores.values():
        if score is not None and (not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= MAX_SCORE):
            raise InvalidInput("每项评分须为 0–5 的整数，或不适用")
    sheet = GrantScore(
        application_id=application.id, member_id=member.id, scores=dict(scores), comment=clean(comment, 2000)
    )
    try:
        with session.begin_nested():
            session.add(sheet)
    except IntegrityError:
        raise InvalidInput("您已对此申请评过分") from None
    return sheet


@dataclass(frozen=True)
class SheetView:
    member_id: int
    member_name: str
    kind_label: str
    scores: dict[str, Any]
    comment: str
    average: float | None


@dataclass(frozen=True)
class ScoreBoard:
    """What one member sees of an application's scores."""

    recused: str | None  # the member's own recusal reason
    mine: GrantScore | None
    others: list[SheetView] | None  # None until the member submitted their own sheet
    eligible: int  # members not recused
    scored: int  # of those, how many submitted
    quorum_met: bool
    average: float | None  # mean of the sheets' weighted averages (revealed with `others`)
    supports: int


def _members(session: Session, application: GrantApplication) -> list[GrantMember]:
    return list(session.scalars(select(GrantMember).where(GrantMember.round_id == application.round_id)))


def tally(session: Session, application: GrantApplication) -> tuple[int, int, float | None]:
    """(eligible members, of them scored, mean weighted score of their sheets)."""
    eligible = {m.id for m in _members(session, application) if recusal_reason(m, application) is None}
    sheets = [
        s
        for s in session.scalars(select(GrantScore).where(GrantScore.application_id == application.id))
        if s.member_id in eligible
    ]
    averages = [a for s in sheets if (a := weighted_average(application.round.rubric, s.scores)) is not None]
    return len(eligible), len(sheets), (round(sum(averages) / len(averages), 2) if averages else None)


def quorum_met(eligible: int, scored: int) -> bool:
    return eligible > 0 and scored * 2 > eligible


def supports(session: Session, application_id: int) -> int:
    return session.scalar(select(func.count()).where(GrantSupport.application_id == application_id)) or 0


def board(session: Session, member: GrantMember, application: GrantApplication) -> ScoreBoard:
    """The member's view: their own sheet, and the others' only once they have submitted theirs."""
    sheets = list(session.scalars(select(GrantScore).where(GrantScore.application_id == application.id)))
    mine = next((s for s in sheets if s.member_id == member.id), None)
    eligible, scored, average = tally(session, application)
    others: list[SheetView] | None = None
    if mine is not None:
        seats = {m.id: m for m in _members(session, application)}
        others = []
        for sheet in sheets:
            if sheet.member_id == member.id:
                continue
            seat = seats[sheet.member_id]
            staff = session.get(StaffUser, seat.staff_id)
            others.append(
                SheetView(
                    sheet.member_id,
                    staff.display_name if staff else "",
                    seat.kind.label,
                    sheet.scores,
                    sheet.comment,
                    weighted_average(application.round.rubric, sheet.scores),
                )
            )
    return ScoreBoard(
        recused=recusal_reason(member, application),
        mine=mine,
        others=others,
        eligible=eligible,
        scored=scored,
        quorum_met=quorum_met(eligible, scored),
        average=average if mine is not None else None,
        supports=supports(session, application.id),
    )


def support(session: Session, resident: Resident, application: GrantApplication) -> bool:
    """The resident supports the application, once; True the first time, False after. Only under review."""
    if application.status not in loop.UNDER_REVIEW:
        raise InvalidInput("该申请不在公示评审期，不能支持")
    try:
        with session.begin_nested():
            session.add(GrantSupport(application_id=application.id, resident_id=resident.id))
    except IntegrityError:
        return False
    return True
