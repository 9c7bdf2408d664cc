"""Opening a round and seating its committee; declared conflicts; who may act on which round.

A round belongs to a grid, the district's unless another is chosen. The district center runs every
round; a street center or community station runs the rounds whose grid lies in its own area
(`Grid.subtree_ids()`); a committee member sees and scores only the rounds they sit on. Anyone else
is told the round does not exist (NotFound), on its pages and for every action.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import false, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.errors import Forbidden, InvalidInput, NotFound
from core.glossary import Role
from core.grants.money import check_shares
from core.grants.terms import DEFAULT_CATEGORIES, MemberKind
from core.models import GrantApplication, GrantMember, GrantRound, GrantSource, Grid, StaffUser
from core.text import clean

# Who runs the fund: opens rounds, seats the committee, moves applications, decides, pays, publishes.
MANAGERS = frozenset({Role.DISTRICT_CENTER, Role.STREET_CENTER, Role.COMMUNITY_STATION})

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


def district_grid(session: Session) -> Grid:
    """The district's grid: the root of the hierarchy (the first one, should there be several)."""
    found = session.scalar(select(Grid).where(Grid.parent_id.is_(None)).order_by(Grid.id).limit(1))
    if found is None:
        raise InvalidInput("尚未导入网格，不能开启项目")
    return found


def runs_grid(staff: StaffUser, grid: Grid) -> bool:
    """Whether `staff` may run a round of `grid`: the district center anywhere, a center or station in its area."""
    if staff.role == Role.DISTRICT_CENTER:
        return True
    if staff.role not in MANAGERS or staff.grid is None:
        return False
    return staff.grid.contains(grid)


def runs(staff: StaffUser, grant_round: GrantRound) -> bool:
    """Whether `staff` runs `grant_round` (must agree with `run_by`)."""
    return runs_grid(staff, grant_round.grid)


def run_by(staff: StaffUser) -> ColumnElement[bool]:
    """The SQL condition selecting the rounds `staff` runs: `runs` for a whole table."""
    if staff.role == Role.DISTRICT_CENTER:
        return true()
    if staff.role not in MANAGERS or staff.grid is None:
        return false()
    return GrantRound.grid_id.in_(staff.grid.subtree_ids())


def visible_to(staff: StaffUser) -> ColumnElement[bool]:
    """The rounds `staff` may see in the console: those they run, and those whose committee they sit on."""
    seats = select(GrantMember.round_id).where(GrantMember.staff_id == staff.id)
    return or_(run_by(staff), GrantRound.id.in_(seats))


def visible_round(session: Session, staff: StaffUser, round_id: int) -> GrantRound:
    """The round, if `staff` runs it or sits on its committee; NotFound otherwise (as if it did not exist)."""
    found = session.scalar(select(GrantRound).where(GrantRound.id == round_id, visible_to(staff)))
    if found is None:
        raise NotFound("该期项目不存在")
    return found


def managed_round(session: Session, staff: StaffUser, round_id: int) -> GrantRound:
    """The round, if `staff` runs it; NotFound for a round outside their area (or none)."""
    found = session.get(GrantRound, round_id)
    if found is None or not runs(staff, found):
        raise NotFound("该期项目不存在")
    return found


def managed_application(session: Session, staff: StaffUser, application_id: int) -> GrantApplication:
    """An application of a round `staff` runs; NotFound otherwise."""
    found = session.get(GrantApplication, application_id)
    if found is None or not runs(staff, found.round):
        raise NotFound("申请不存在")
    return found


def open_round(
    session: Session, data: RoundInput, *, staff: StaffUser | None = None, grid: Grid | None = None
) -> GrantRound:
    """A new round with its funding sources; refused with the reason when anything does not add up.

    The round belongs to `grid`; without one, to the staff member's own area (a street center's
    street), else to the district. Staff may open rounds only within their area.
    """
    _check(data)
    if grid is None:
        own = staff.grid if staff is not None and staff.role != Role.DISTRICT_CENTER else None
        grid = own or district_grid(session)
    if staff is not None and not runs_grid(staff, grid):
        raise Forbidden(f"「{grid.name}」不在您的辖区内，不能在此开启项目")
    grant_round = GrantRound(
        grid_id=grid.id,
        grid=grid,
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
