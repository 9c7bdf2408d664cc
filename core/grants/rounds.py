"""Opening a round and seating its committee; declared conflicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Forbidden, InvalidInput, NotFound
from core.glossary import Role
from core.grants.money import check_shares
from core.grants.terms import DEFAULT_CATEGORIES, MemberKind
from core.models import GrantApplication, GrantMember, GrantRound, GrantSource, StaffUser
from core.text import clean

DEFAULT_RUBRIC = (
    {"key": "need", "name": "居民需求与受益面", "weight": 3},
    {"key": "feasibility", "name": "方案可行性", "weight": 2},
    {"key": "budget", "name": "预算合理性", "weight": 2},
    {"key": "participation", "name": "居民参与与可持续", "weight": 3},
)


@dataclass
class RoundInput:
    name: str
    budget_fen: int
    cap_per_application_fen: int
    opens_at: datetime
    closes_at: datetime
    # [(name, share in basis points)], e.g. [("社区", 5000), ("基金会", 5000)]
    sources: list[tuple[str, int]]
    categories: list[str] = field(default_factory=lambda: list(DEFAULT_CATEGORIES))
    category_caps: dict[str, int] = field(default_factory=dict)
    rubric: list[dict[str, Any]] = field(default_factory=lambda: [dict(item) for item in DEFAULT_RUBRIC])
    description: str = ""
    report_every_days: int = 30
    reports_due: int = 2


def _check(data: RoundInput) -> None:
    if not data.name.strip():
        raise InvalidInput("请填写本期名称")
    if data.budget_fen <= 0 or data.cap_per_application_fen <= 0:
        raise InvalidInput("总预算和单项上限须大于 0")
    if data.cap_per_application_fen > data.budget_fen:
        raise InvalidInput("单项上限不能超过总预算")
    if data.closes_at <= data.opens_at:
        raise InvalidInput("申报截止时间须晚于开始时间")
    categories = [c.strip() for c in data.categories if c.strip()]
    if not categories or len(set(categories)) != len(categories):
        raise InvalidInput("请填写项目类别，且不能重复")
    for category, cap in data.category_caps.items():
        if category not in categories or cap <= 0:
            raise InvalidInput(f"类别上限有误：{category}")
    check_shares([share for _, share in data.sources])
    keys = [item.get("key") for item in data.rubric]
    if not data.rubric or len(set(keys)) != len(keys) or any(int(item.get("weight", 0)) <= 0 for item in data.rubric):
        raise InvalidInput("评分标准须有名称不重复、权重为正整数的各项")
    if data.report_every_days <= 0 or data.reports_due < 0:
        raise InvalidInput("进度报告周期有误")


def open_round(session: Session, data: RoundInput, *, staff: StaffUser | None = None) -> GrantRound:
    """A new round with its funding sources; refused with the reason when anything does not add up."""
    _check(data)
    grant_round = GrantRound(
        name=clean(data.name, 128),
        description=data.description,
        categories=[c.strip() for c in data.categories if c.strip()],
        budget_fen=data.budget_fen,
        cap_per_application_fen=data.cap_per_application_fen,
        category_caps=dict(data.category_caps),
        rubric=[{"key": str(i["key"]), "name": str(i["name"]), "weight": int(i["weight"])} for i in data.rubric],
        opens_at=data.opens_at,
        closes_at=data.closes_at,
        report_every_days=data.report_every_days,
        reports_due=data.reports_due,
        created_by_id=staff.id if staff else None,
    )
    session.add(grant_round)
    for position, (name, share) in enumerate(data.sources):
        grant_round.sources.append(GrantSource(name=name, share_bp=share, position=position))
    session.flush()
    return grant_round


def seat_member(
    session: Session,
    grant_round: GrantRound,
    staff: StaffUser,
    kind: MemberKind,
    *,
    resident_id: int | None = None,
    phone: str | None = None,
) -> GrantMember:
    """Seat a committee member (a staff account of role committee) for the round; idempotent."""
    if staff.role != Role.COMMITTEE:
        raise InvalidInput(f"{staff.display_name} 不是评审委员账号")
    found = session.scalar(
        select(GrantMember).where(GrantMember.round_id == grant_round.id, GrantMember.staff_id == staff.id)
    )
    if found is not None:
        return found
    member = GrantMember(round_id=grant_round.id, staff_id=staff.id, kind=kind, resident_id=resident_id, phone=phone)
    session.add(member)
    session.flush()
    return member


def member_for(session: Session, round_id: int, staff: StaffUser) -> GrantMember:
    """The staff user's seat on the round's committee; Forbidden for anyone else."""
    member = session.scalar(
        select(GrantMember).where(GrantMember.round_id == round_id, GrantMember.staff_id == staff.id)
    )
    if member is None:
        raise Forbidden("您不是本期评审委员会成员")
    return member


def declare_conflict(session: Session, member: GrantMember, application: GrantApplication, reason: str) -> None:
    """The member declares a conflict of interest with an application, and is recused from it."""
    if application.round_id != member.round_id:
        raise NotFound("申请不存在")
    member.conflicts = {**member.conflicts, str(application.id): reason.strip() or "本人申报利益冲突"}
    session.flush()


def round_or_404(session: Session, round_id: int) -> GrantRound:
    found = session.get(GrantRound, round_id)
    if found is None:
        raise NotFound("该期项目不存在")
    return found
