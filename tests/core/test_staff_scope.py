"""Each role sees only its part of the grid hierarchy, and only the moves DESIGN.md allows in each status."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.errors import Forbidden, ForbiddenTransition, NotFound
from core.glossary import CaseStatus, Role, Tier
from core.models import Case, CaseEvent, StaffUser
from core.models.base import utcnow
from core.services import cases as case_service
from core.services.queues import QueueFilter, queue
from core.services.staff import can_see
from tests.support import factories

S = CaseStatus
PEOPLE = {
    "center": (Role.DISTRICT_CENTER, None),
    "street": (Role.STREET_CENTER, "S"),
    "street2": (Role.STREET_CENTER, "S2"),
    "station": (Role.COMMUNITY_STATION, "C"),
    "leader": (Role.GRID_LEADER, "C"),
    "worker": (Role.GRID_WORKER, "G1"),
    "worker2": (Role.GRID_WORKER, "G2"),
    "dept": (Role.DEPARTMENT, None),
    "judge": (Role.COMMITTEE, None),
}


@pytest.fixture
def area(session, settings):
    grids = factories.grid_tree(session)
    people = {
        name: factories.staff(session, name, role, grid, unit_code="CG" if name == "dept" else None)
        for name, (role, grid) in PEOPLE.items()
    }
    cases = {
        where: factories.case(session, settings, grid=grids[where] if where else None)
        for where in ("G1", "G2", "X", None)
    }
    session.commit()
    return people, cases


def _numbers(session, staff) -> set[str]:
    return {c.number for c in queue(session, staff, QueueFilter(view="all")).cases}


SEES = {
    "center": {"G1", "G2", "X", None},
    "street": {"G1", "G2"},
    "street2": {"X"},
    "station": {"G1", "G2"},
    "leader": {"G1", "G2"},
    "worker": {"G1"},
    "worker2": {"G2"},
    "dept": set(),
    "judge": set(),
}


@pytest.mark.parametrize("who", PEOPLE)
def test_each_role_sees_only_its_area_in_the_queue_and_one_by_one(session, area, who):
    people, cases = area
    expected = {cases[where].number for where in SEES[who]}
    assert _numbers(session, people[who]) == expected
    # The SQL of the queue and the check on one case must agree, or a list would show what a page refuses.
    assert {c.number for c in cases.values() if can_see(people[who], c)} == expected
    for where, case in cases.items():
        if where not in SEES[who]:
            with pytest.raises(NotFound):
                case_service.find_case(session, people[who], case.number)


def test_a_department_sees_what_it_leads_or_assists_and_nothing_else(session, area):
    people, cases = area
    case_service.perform(session, people["center"], cases["X"].number, "accept", {})
    case_service.perform(
        session, people["center"], cases["X"].number, "dispatch", {"assignee": "dept", "tier": "district"}
    )
    helper = factories.staff(session, "police", Role.DEPARTMENT, unit_code="PCS")
    case_service.perform(session, people["center"], cases[None].number, "accept", {})
    case_service.perform(
        session,
        people["center"],
        cases[None].number,
        "dispatch",
        {"assignee": "CG", "tier": "district", "assisting": ["PCS"]},
    )
    session.commit()
    assert _numbers(session, people["dept"]) == {cases["X"].number, cases[None].number}
    assert _numbers(session, helper) == {cases[None].number}
    # 协办 may see the case but the lead department (主办) handles it.
    assert case_service.available_moves(helper, cases[None]) == []
    assert case_service.available_moves(people["dept"], cases[None]) == ["handle"]  # already at the top tier


# The moves each person may take on a G1 case in each status (assignee and handler: worker).
MOVES = {
    S.REPORTED: {n: ["accept", "reject", "duplicate"] for n in ("center", "street", "station")},
    S.ACCEPTED: {n: ["dispatch"] for n in ("center", "street", "station", "leader")},
    S.DISPATCHED: {
        **{n: ["escalate", "reassign"] for n in ("center", "street", "station", "leader")},
        "worker": ["escalate", "handle"],
    },
    S.HANDLED: {n: ["verify"] for n in ("center", "street", "station", "leader")},
    S.VERIFIED: {n: ["close"] for n in ("center", "street", "station")},
    S.CLOSED: {},
    S.EVALUATED: {},
    S.REJECTED: {},
    S.DUPLICATE: {},
}


@pytest.mark.parametrize("status", list(MOVES))
def test_each_role_is_offered_exactly_the_moves_allowed_now(session, settings, area, status):
    people, _ = area
    grid = session.scalar(select(StaffUser).where(StaffUser.username == "worker")).grid
    case = factories.case(session, settings, grid=grid, status=status)
    case.assignee = case.handler = people["worker"]
    case.tier = Tier.COMMUNITY
    session.flush()
    for who, person in people.items():
        assert case_service.available_moves(person, case) == MOVES[status].get(who, []), who


@pytest.mark.parametrize("status", list(MOVES))
def test_every_move_not_offered_is_refused_and_changes_nothing(session, settings, area, status):
    people, _ = area
    case = factories.case(session, settings, grid=people["worker"].grid, status=status)
    case.assignee = case.handler = people["worker"]
    case.tier = Tier.COMMUNITY
    session.commit()
    for who, person in people.items():
        for action in case_service.MOVES:
            if action in MOVES[status].get(who, []):
                continue
            with pytest.raises((Forbidden, ForbiddenTransition, NotFound)):
                case_service.perform(session, person, case.number, action, {"passed": True, "note": "x"})
            session.rollback()
    assert session.get(Case, case.id).status == status
    assert session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action != "report")) is None


def test_the_handler_may_not_verify_their_own_work(session, settings, area):
    people, _ = area
    case = factories.case(session, settings, grid=people["leader"].grid, status=S.HANDLED)
    case.handler = people["leader"]
    session.commit()
    assert "verify" not in case_service.available_moves(people["leader"], case)
    with pytest.raises(Forbidden, match="处置人以外"):
        case_service.perform(session, people["leader"], case.number, "verify", {"passed": True})
    assert "verify" in case_service.available_moves(people["station"], case)


def test_escalation_goes_up_one_tier_at_a_time_to_the_center_above(session, settings, area):
    people, cases = area
    number = cases["G1"].number
    case_service.perform(session, people["station"], number, "accept", {})
    case_service.perform(session, people["station"], number, "dispatch", {"assignee": "worker", "tier": "community"})
    # The worker cannot solve it: without a name it goes to the street's center.
    event = case_service.perform(session, people["worker"], number, "escalate", {"note": "需要执法"})
    assert (event.case.tier, event.case.assignee.username) == (Tier.STREET, "street")
    event = case_service.perform(session, people["street"], number, "escalate", {"assisting": ["CG"]})
    assert (event.case.tier, event.case.assignee.username) == (Tier.DISTRICT, "center")
    assert event.case.assisting_units == ["CG"]
    assert "escalate" not in case_service.available_moves(people["center"], event.case)
    session.commit()
    # The worker it left is still told nothing more: it is no longer theirs, and not in their queue as mine.
    mine = queue(session, people["worker"], QueueFilter(view="mine")).cases
    assert mine == []


def test_queue_views_and_filters(session, settings, area):
    people, cases = area
    center = people["center"]
    case_service.perform(session, center, cases["G1"].number, "accept", {})
    case_service.perform(session, center, cases["G1"].number, "dispatch", {"assignee": "worker", "tier": "street"})
    case_service.perform(session, center, cases["G2"].number, "accept", {})
    session.commit()

    def view(staff, **kw):
        return [c.number for c in queue(session, staff, QueueFilter(**kw)).cases]

    assert set(view(center, view="new")) == {cases["X"].number, cases[None].number}
    assert view(center, view="accepted") == [cases["G2"].number]
    assert view(people["worker"], view="mine") == [cases["G1"].number]
    assert view(center, tier="street") == [cases["G1"].number]
    assert set(view(center, grid="C")) == {cases["G1"].number, cases["G2"].number}
    assert view(people["street2"], grid="C") == []  # another street's grid finds nothing of theirs
    assert view(center, status="dispatched") == [cases["G1"].number]
    first = queue(session, center, QueueFilter(page_size=3))
    second = queue(session, center, QueueFilter(page_size=3, page=2))
    assert first.has_more and not second.has_more
    assert len({c.number for c in first.cases} | {c.number for c in second.cases}) == 4


def test_mine_is_by_deadline_with_the_cases_without_one_last(session, settings, area):
    people, cases = area
    center, worker = people["center"], people["worker"]
    grid = cases["G1"].grid
    mine = [cases["G1"], *(factories.case(session, settings, grid=grid) for _ in range(3))]
    session.commit()
    for case in mine:
        case_service.perform(session, center, case.number, "accept", {})
        case_service.perform(session, center, case.number, "dispatch", {"assignee": "worker", "tier": "community"})
    soon = utcnow() + timedelta(hours=1)
    mine[0].deadline_at, mine[1].deadline_at = None, soon + timedelta(hours=2)
    mine[2].deadline_at, mine[3].deadline_at = soon, soon  # a tie: the older case first
    session.commit()

    found = [c.number for c in queue(session, worker, QueueFilter(view="mine")).cases]
    assert found == [mine[2].number, mine[3].number, mine[1].number, mine[0].number]
