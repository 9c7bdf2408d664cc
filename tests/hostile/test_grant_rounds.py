"""Hostile staff on micro-grant rounds: a round belongs to a grid, and staff outside it — a center of another
street, a station below the round's area, a committee member of another round — get 404 on its pages and on
every action, and nothing moves."""

from __future__ import annotations

import pytest

from core.glossary import Role
from core.grants import money
from core.grants.terms import GrantStatus
from core.models import Grid
from tests.support import factories
from tests.support import grants as gh
from tests.support.console import console_login, csrf_token


@pytest.fixture
def grant_world(app, world):
    """A round of street S: one application submitted, one decided (quorum scored), one funded."""
    database = app.extensions["gongzhi"].database
    with database.session() as s:
        street = s.query(Grid).filter_by(code="S").one()
        factories.staff(s, "s2-center", Role.STREET_CENTER, "S2")
        factories.staff(s, "c-station", Role.COMMUNITY_STATION, "C")
        factories.staff(s, "m-free", Role.COMMITTEE)
        center = s.query(Grid).filter_by(code="D").one()
        grant_round = gh.open_round(s, grid=street, name="方兴街道第一期")
        other = gh.open_round(s, grid=center, name="全区第一期")
        gh.member(s, other, "m-other")
        seats = [gh.member(s, grant_round, "m1"), gh.member(s, grant_round, "m2")]
        submitted = gh.at_status(s, gh.application(s, grant_round), GrantStatus.SUBMITTED)
        decided = gh.at_status(s, gh.application(s, grant_round, title="长者助餐"), GrantStatus.IN_REVIEW)
        gh.decided(s, decided, seats, gh.staff_user(s, "s-center-tmp"))
        funded = gh.at_status(s, gh.application(s, grant_round, title="楼道清洁"), GrantStatus.APPROVED)
        funded.approved_fen = funded.requested_fen
        funded.split = money.split_for(funded, funded.requested_fen)
        s.commit()
        return {
            "round": grant_round.id,
            "submitted": submitted.id,
            "decided": decided.id,
            "funded": funded.id,
            "source": grant_round.sources[0].id,
        }


REQUESTS = {
    "round page": ("get", "/console/grants/{round}", {}),
    "application page": ("get", "/console/grants/applications/{submitted}", {}),
    "seat a member": ("post", "/console/grants/{round}/members", {"username": "m-free", "kind": "expert"}),
    "enter an application": (
        "post",
        "/console/grants/{round}/applications",
        {"title": "外来申请", "category": "小区维护", "budget_lines": "工具:1:10", "submit": "1"},
    ),
    "publish": ("post", "/console/grants/{round}/publish", {}),
    "review": ("post", "/console/grants/applications/{submitted}/review", {}),
    "ask for information": ("post", "/console/grants/applications/{submitted}/ask_info", {"note": "补充"}),
    "withdraw": ("post", "/console/grants/applications/{submitted}/withdraw", {"note": "撤"}),
    "approve": ("post", "/console/grants/applications/{decided}/approve", {"amount": "10"}),
    "decline": ("post", "/console/grants/applications/{decided}/decline", {"note": "不"}),
    "pay": ("post", "/console/grants/applications/{funded}/disburse", {"source_id": "{source}", "amount": "1"}),
    "accept completion": ("post", "/console/grants/applications/{funded}/complete", {}),
}
OUTSIDERS = ("s2-center", "c-station")


def _fill(text: str, ids: dict[str, int]) -> str:
    for name, value in ids.items():
        text = text.replace("{" + name + "}", str(value))
    return text


@pytest.mark.parametrize("who", OUTSIDERS)
@pytest.mark.parametrize("name", REQUESTS)
def test_staff_outside_a_rounds_area_get_404_and_nothing_moves(client, grant_world, unchanged, who, name):
    method, path, data = REQUESTS[name]
    console_login(client, who)
    token = csrf_token(client, "/console/grants")
    path = _fill(path, grant_world)
    form = {"csrf_token": token, **{k: _fill(v, grant_world) for k, v in data.items()}}
    answer = unchanged(lambda: client.get(path) if method == "get" else client.post(path, data=form))
    assert answer.status_code == 404


@pytest.mark.parametrize("who", OUTSIDERS)
def test_a_round_outside_ones_area_is_not_listed(client, grant_world, who):
    console_login(client, who)
    assert "方兴街道第一期" not in client.get("/console/grants").get_data(as_text=True)


@pytest.mark.parametrize("action", ["score", "conflict"])
def test_a_committee_member_of_another_round_gets_404(client, grant_world, unchanged, action):
    console_login(client, "m-other")
    token = csrf_token(client, "/console/grants")
    path = f"/console/grants/applications/{grant_world['decided']}/{action}"
    answer = unchanged(lambda: client.post(path, data={"csrf_token": token, "reason": "x", "score_need": "5"}))
    assert answer.status_code == 404
    assert unchanged(lambda: client.get(f"/console/grants/{grant_world['round']}")).status_code == 404


def test_a_street_center_cannot_open_a_round_in_another_street(client, grant_world, unchanged):
    console_login(client, "s2-center")
    token = csrf_token(client, "/console/grants")
    form = {
        "csrf_token": token,
        "grid": "S",
        "name": "越界一期",
        "budget": "1000",
        "cap": "100",
        "opens_on": "2020-01-01",
        "closes_on": "2099-01-01",
        "sources": "社区:100",
    }
    answer = unchanged(lambda: client.post("/console/grants", data=form))
    assert answer.status_code == 303
    assert "不在您的辖区内" in client.get(answer.headers["Location"]).get_data(as_text=True)
