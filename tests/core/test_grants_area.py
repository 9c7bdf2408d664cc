"""A round belongs to a grid (the district's by default): the district center runs every round, a street
center or community station only those of its area, a committee member only sees the rounds they sit on."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import Forbidden, NotFound
from core.glossary import Role
from core.grants import rounds
from core.grants.terms import MemberKind
from core.models import GrantRound
from tests.support import factories
from tests.support import grants as gh


@pytest.fixture
def grids(session):
    return factories.grid_tree(session)


def test_a_round_belongs_to_the_district_unless_staff_of_an_area_open_it(session, grids):
    assert rounds.open_round(session, gh.round_input()).grid is grids["D"]
    center = factories.staff(session, "d", Role.DISTRICT_CENTER)
    assert rounds.open_round(session, gh.round_input(), staff=center).grid is grids["D"]
    street = factories.staff(session, "s", Role.STREET_CENTER, "S")
    assert rounds.open_round(session, gh.round_input(), staff=street).grid is grids["S"]
    assert rounds.open_round(session, gh.round_input(), staff=street, grid=grids["G1"]).grid is grids["G1"]
    with pytest.raises(Forbidden, match="不在您的辖区内"):
        rounds.open_round(session, gh.round_input(), staff=street, grid=grids["X"])
    with pytest.raises(Forbidden):
        rounds.open_round(session, gh.round_input(), staff=street, grid=grids["D"])


def test_who_runs_which_round_in_python_and_in_sql(session, grids):
    made = {code: gh.open_round(session, grid=grids[code], name=code) for code in ("D", "S", "C", "G1", "X")}
    people = {
        "district": factories.staff(session, "district", Role.DISTRICT_CENTER),
        "street": factories.staff(session, "street", Role.STREET_CENTER, "S"),
        "station": factories.staff(session, "station", Role.COMMUNITY_STATION, "C"),
        "other street": factories.staff(session, "other", Role.STREET_CENTER, "S2"),
        "grid worker": factories.staff(session, "worker", Role.GRID_WORKER, "S"),
        "member": factories.staff(session, "member", Role.COMMITTEE),
    }
    rounds.seat_member(session, made["X"], people["member"], MemberKind.EXPERT)
    expected = {
        "district": {"D", "S", "C", "G1", "X"},
        "street": {"S", "C", "G1"},
        "station": {"C", "G1"},
        "other street": {"X"},
        "grid worker": set(),
        "member": set(),
    }
    for who, staff in people.items():
        in_python = {code for code, r in made.items() if rounds.runs(staff, r)}
        in_sql = set(session.scalars(select(GrantRound.name).where(rounds.run_by(staff))))
        assert in_python == in_sql == expected[who], who
    seen = set(session.scalars(select(GrantRound.name).where(rounds.visible_to(people["member"]))))
    assert seen == {"X"}
    assert rounds.visible_round(session, people["member"], made["X"].id) is made["X"]
    with pytest.raises(NotFound):
        rounds.visible_round(session, people["member"], made["S"].id)
    with pytest.raises(NotFound):
        rounds.managed_round(session, people["other street"], made["S"].id)
    application = gh.application(session, made["S"])
    assert rounds.managed_application(session, people["street"], application.id) is application
    with pytest.raises(NotFound):
        rounds.managed_application(session, people["station"], application.id)
