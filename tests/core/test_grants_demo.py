"""The demo's micro-grants: two rounds, applications in several states, a grant with a tranche and a report."""

from __future__ import annotations

from sqlalchemy import select

from core.glossary import Role
from core.grants import money, progress
from core.grants.terms import GrantStatus
from core.models import GrantApplication, GrantRound
from core.services.demo import DEMO_PASSWORD
from core.services.demo_grants import load_grant_demo
from tests.support import factories


def test_the_demo_rounds_hold_applications_in_several_states_once(session):
    factories.grid_tree(session)
    factories.staff(session, "demo-district", Role.DISTRICT_CENTER)
    factories.staff(session, "demo-committee", Role.COMMITTEE)
    assert load_grant_demo(session, DEMO_PASSWORD) is True
    assert load_grant_demo(session, DEMO_PASSWORD) is False
    assert len(session.scalars(select(GrantRound)).all()) == 2
    states = {a.title: a.status for a in session.scalars(select(GrantApplication))}
    assert states["桂花园楼道清洁行动"] == GrantStatus.IN_PROGRESS
    assert states["小区文化墙"] == GrantStatus.DECLINED
    assert {states["楼栋议事会孵化"], states["邻里书屋"], states["银龄志愿服务队"]} == {
        GrantStatus.SUBMITTED,
        GrantStatus.INFO_REQUESTED,
        GrantStatus.DRAFT,
    }
    tidy = session.scalar(select(GrantApplication).where(GrantApplication.title == "桂花园楼道清洁行动"))
    paid = [b.paid_fen for b in money.balances(session, tidy)]
    assert paid[0] > 0 and paid[1] == 0
    assert progress.reports(session, tidy.id)[0].submitted_at is not None
