"""Builders for micro-grant tests: a round open now, committee members, applications in a given status."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.glossary import GridLevel, Role
from core.grants import applications, rounds
from core.grants.applications import ApplicationInput
from core.grants.terms import Decision, GrantStatus, MemberKind
from core.models import GrantApplication, GrantMember, GrantRound, Grid, Resident, StaffUser
from core.models.base import utcnow
from tests.support import factories


def round_input(**changes: Any) -> rounds.RoundInput:
    now = utcnow()
    data = rounds.RoundInput(
        name="乐治方兴 2027 第一期",
        budget_fen=10_000_000,  # 10 万元
        cap_per_application_fen=3_000_000,
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=30),
        sources=[("方兴社区", 5000), ("合肥市慈善基金会", 5000)],
        category_caps={"组织孵化": 2_000_000},
    )
    for name, value in changes.items():
        setattr(data, name, value)
    return data


def district(session: Session) -> Grid:
    """The district's grid (the root), added when the test's world has no grid yet."""
    found = session.query(Grid).filter(Grid.parent_id.is_(None)).order_by(Grid.id).first()
    if found is None:
        found = Grid(code="D", name="共治示范区", level=GridLevel.DISTRICT, path="/D/")
        session.add(found)
        session.flush()
    return found


def open_round(session: Session, grid: Grid | None = None, **changes: Any) -> GrantRound:
    """A round open now, of `grid` (default: the district's, added if need be)."""
    return rounds.open_round(session, round_input(**changes), grid=grid or district(session))


def member(session: Session, grant_round: GrantRound, username: str, kind: MemberKind = MemberKind.EXPERT, **kw: Any):
    staff = factories.staff(session, username, Role.COMMITTEE, display_name=f"委员{username}")
    return rounds.seat_member(session, grant_round, staff, kind, **kw)


def application_input(**changes: Any) -> ApplicationInput:
    data = ApplicationInput(
        title="桂花园楼道清洁行动",
        category="小区维护",
        summary="每周六组织楼道清洁",
        beneficiaries="桂花园 3 栋 120 户居民",
        schedule="2027 年 3 月至 8 月",
        group_name="桂花园志愿队",
        team=[{"name": "张阿姨", "role": "队长"}],
        budget_lines=[
            {"item": "清洁工具", "quantity": 10, "unit_price_fen": 4_550},
            {"item": "志愿者保险", "quantity": 20, "unit_price_fen": 3_000},
        ],
    )
    for name, value in changes.items():
        setattr(data, name, value)
    return data


def applicant(session: Session, openid: str = "oApplicant_1") -> Resident:
    return factories.resident(session, openid=openid)


def application(
    session: Session, grant_round: GrantRound, resident: Resident | None = None, **changes: Any
) -> GrantApplication:
    resident = resident or applicant(session, f"oApplicant_{utcnow().timestamp()}")
    return applications.draft(session, grant_round, application_input(**changes), resident=resident)


def staff_user(session: Session, username: str = "fx-station") -> StaffUser:
    return factories.staff(session, username, Role.DISTRICT_CENTER)


def at_status(session: Session, app: GrantApplication, status: GrantStatus) -> GrantApplication:
    """Force an application into `status` (for table tests); the loop is tested separately."""
    app.status = status
    session.flush()
    return app


def score_all(session: Session, app: GrantApplication, members: list[GrantMember], score: int | None = 4) -> None:
    from core.grants import committee

    for seat in members:
        keys = [c["key"] for c in app.round.rubric]
        committee.submit_scores(session, seat, app, dict.fromkeys(keys, score), "好")


def decided(session: Session, app: GrantApplication, members: list[GrantMember], staff: StaffUser, **kw: Any) -> None:
    from core.grants import decisions

    score_all(session, app, members)
    decisions.record(session, app, kw.pop("decision", Decision.APPROVE), staff=staff, **kw)


def process_grant_photos(app: Any) -> list[str]:
    """Run the worker's job for every grant photo still pending (what `python -m worker` does)."""
    from sqlalchemy import select

    from core.glossary import PhotoStatus
    from core.models import GrantFile
    from worker import runtime
    from worker.jobs.photos import process_grant_photo

    context = app.extensions["gongzhi"]
    before = runtime._current
    runtime.install(runtime.Runtime(settings=context.settings, database=context.database, redis=context.redis))
    try:
        with context.database.session() as s:
            pending = list(s.scalars(select(GrantFile.id).where(GrantFile.status == PhotoStatus.PENDING)))
        return [process_grant_photo(file_id) for file_id in pending]
    finally:
        runtime.install(before)  # type: ignore[arg-type]
