"""The demo's micro-grants: a finished round with a grant under way, and an open round with applications in review."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.glossary import Role
from core.grants import applications, committee, decisions, money, progress, rounds
from core.grants.applications import ApplicationInput
from core.grants.terms import Decision, MemberKind
from core.models import GrantRound, Resident, StaffUser
from core.models.base import utcnow
from core.services.staff import create_staff

PAST_ROUND = "乐治方兴 2026 第二期"
OPEN_ROUND = "乐治方兴 2027 第一期"
SOURCES = [("方兴社区", 5000), ("合肥市慈善基金会", 5000)]


def _staff(session: Session, username: str, name: str, role: Role, password: str) -> StaffUser:
    found = session.scalar(select(StaffUser).where(StaffUser.username == username))
    return found or create_staff(session, username=username, password=password, role=role, display_name=name)


def _resident(session: Session, openid: str, nickname: str) -> Resident:
    found = session.scalar(select(Resident).where(Resident.openid == openid))
    if found is None:
        found = Resident(openid=openid, nickname=nickname, is_follower=True)
        session.add(found)
        session.flush()
    return found


def _project(title: str, category: str, group: str, lines: list[tuple[str, int, int]], **kw: str) -> ApplicationInput:
    return ApplicationInput(
        title=title,
        category=category,
        group_name=group,
        summary=kw.get("summary", f"{group}发起的{category}项目"),
        beneficiaries=kw.get("beneficiaries", "方兴社区居民"),
        schedule=kw.get("schedule", "为期六个月"),
        team=[{"name": f"{group}负责人", "role": "负责人"}],
        budget_lines=[{"item": item, "quantity": q, "unit_price_fen": p} for item, q, p in lines],
    )


def load_grant_demo(session: Session, password: str) -> bool:
    """Add the demo rounds unless they are there; whether this call added them. Flushes only."""
    if session.scalar(select(GrantRound.id).where(GrantRound.name == PAST_ROUND)) is not None:
        return False
    now = utcnow()
    # The demo's own accounts (core/services/demo.py): the district center runs the fund, and the one
    # committee account sits on both rounds as the residents' representative.
    center = _staff(session, "demo-district", "区网格中心值班员", Role.DISTRICT_CENTER, password)
    seats = [(_staff(session, "demo-committee", "评审委员（示范）", Role.COMMITTEE, password), MemberKind.RESIDENT_REP)]
    people = [_resident(session, f"oDemoApplicant{n}", name) for n, name in enumerate(("张阿姨", "李师傅", "王老师"))]
    fans = [_resident(session, f"oDemoFan{n}", f"居民{n}") for n in range(5)]

    # A past round: decided and published; one grant under way, one declined.
    past = rounds.open_round(
        session,
        rounds.RoundInput(
            name=PAST_ROUND,
            budget_fen=10_000_000,
            cap_per_application_fen=3_000_000,
            opens_at=now - timedelta(days=90),
            closes_at=now - timedelta(days=1),
            sources=SOURCES,
            description="社区与慈善基金会 1:1 配资，钱怎么花，居民说了算。",
        ),
        staff=center,
    )
    members = [rounds.seat_member(session, past, staff, kind) for staff, kind in seats]
    lines = [("清洁工具", 20, 4_500), ("志愿者保险", 30, 3_000), ("宣传物料", 1, 50_001)]
    tidy = applications.draft(
        session, past, _project("桂花园楼道清洁行动", "小区维护", "桂花园志愿队", lines), resident=people[0]
    )
    mural = applications.draft(
        session, past, _project("小区文化墙", "小区文化营造", "方兴书画社", [("颜料", 40, 12_000)]), resident=people[1]
    )
    past.opens_at, past.closes_at = now - timedelta(days=90), now + timedelta(days=1)  # submitted while open
    for application in (tidy, mural):
        applications.submit(session, application, resident=application_resident(people, application.applicant_id))
        applications.start_review(session, application, staff=center)
        for member in members:
            keys = [c["key"] for c in past.rubric]
            committee.submit_scores(session, member, application, dict.fromkeys(keys, 4), "方案清楚")
    decisions.record(session, tidy, Decision.APPROVE, staff=center, amount_fen=tidy.requested_fen - 10_000)
    decisions.record(session, mural, Decision.DECLINE, staff=center, note="与往期项目重复")
    decisions.publish(session, past, staff=center)
    past.closes_at = now - timedelta(days=1)
    first_source = past.sources[0]
    money.disburse(session, tidy, first_source.id, tidy.split[str(first_source.id)], staff=center, note="第一批")
    progress.file_report(session, tidy, "已完成 3 次楼道清洁，参与志愿者 26 人次。", resident=people[0])

    # An open round: applications in several states.
    current = rounds.open_round(
        session,
        rounds.RoundInput(
            name=OPEN_ROUND,
            budget_fen=12_000_000,
            cap_per_application_fen=3_000_000,
            opens_at=now - timedelta(days=10),
            closes_at=now + timedelta(days=20),
            sources=SOURCES,
            category_caps={"组织孵化": 2_000_000},
        ),
        staff=center,
    )
    for staff, kind in seats:
        rounds.seat_member(session, current, staff, kind)
    council = applications.draft(
        session,
        current,
        _project("楼栋议事会孵化", "组织孵化", "7 栋居民", [("议事培训", 4, 80_000)]),
        resident=people[2],
    )
    books = applications.draft(
        session, current, _project("邻里书屋", "小区文化营造", "方兴书画社", [("图书", 200, 3_500)]), resident=people[1]
    )
    applications.draft(
        session,
        current,
        _project("银龄志愿服务队", "志愿服务", "桂花园志愿队", [("服装", 30, 8_000)]),
        resident=people[0],
    )
    applications.submit(session, council, resident=people[2])
    applications.submit(session, books, resident=people[1])
    applications.start_review(session, books, staff=center)
    applications.ask_for_information(session, books, staff=center, note="请补充书屋的场地与开放时间")
    for fan in fans[:4]:
        committee.support(session, fan, council)
    session.flush()
    return True


def application_resident(people: list[Resident], resident_id: int | None) -> Resident | None:
    return next((p for p in people if p.id == resident_id), None)
