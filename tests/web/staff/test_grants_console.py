"""Console 微公益: staff open a round, seat the committee, move applications, decide, publish, pay and accept;
committee members score (others' scores only after their own), declare conflicts, and see support counts."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.glossary import Role
from core.grants import rounds
from core.grants.terms import GrantStatus
from core.models import GrantApplication, GrantRound
from tests.support import factories
from tests.support import grants as gh
from tests.support.console import console_login, csrf_token, table_rows


@pytest.fixture
def db(app):
    return app.extensions["gongzhi"].database


def _post(client, path: str, **data):
    token = csrf_token(client, "/console/grants")
    return client.post(path, data={"csrf_token": token, **data})


def _flash(client, path: str) -> str:
    return client.get(path).get_data(as_text=True)


def test_the_whole_round_in_the_console(client, db, make_app, settings):
    with db.session() as s:
        gh.district(s)
        factories.staff(s, "fx-center", Role.DISTRICT_CENTER)
        for name in ("m1", "m2"):
            factories.staff(s, name, Role.COMMITTEE, display_name=f"委员{name}")
        s.commit()
    console_login(client, "fx-center")
    answer = _post(
        client,
        "/console/grants",
        name="乐治方兴 2027 第一期",
        budget="100000",
        cap="30000.00",
        opens_on="2020-01-01",
        closes_on="2099-12-31",
        sources="方兴社区:50\n基金会:50",
        categories="小区维护\n志愿服务",
        category_caps="志愿服务:20000",
    )
    assert answer.status_code == 303
    with db.session() as s:
        grant_round = s.scalar(select(GrantRound))
        assert (grant_round.budget_fen, grant_round.category_caps) == (10_000_000, {"志愿服务": 2_000_000})
        round_id = grant_round.id
    bad = _post(
        client, "/console/grants", name="坏", budget="1.234", cap="1", opens_on="2020-01-01", closes_on="2099-01-01"
    )
    assert "最多两位小数" in _flash(client, bad.headers["Location"])
    for name in ("m1", "m2"):
        _post(client, f"/console/grants/{round_id}/members", username=name, kind="expert")
    with db.session() as s:
        grant_round = s.get(GrantRound, round_id)
        app_id = gh.at_status(s, gh.application(s, grant_round), GrantStatus.SUBMITTED).id
        s.commit()
    base = f"/console/grants/applications/{app_id}"
    _post(client, f"{base}/review")
    page = client.get(f"/console/grants/{round_id}").get_data(as_text=True)
    assert table_rows(page, "applications")[1][3] == "评审中"
    assert len(table_rows(page, "members")) == 3

    member = make_app(settings).test_client()
    console_login(member, "m1")
    token = csrf_token(member, base)
    marks = {"score_need": "5", "score_feasibility": "4", "score_budget": "na", "score_participation": "3"}
    page = member.get(base).get_data(as_text=True)
    assert "提交后才能看到其他委员的评分" in page
    member.post(f"{base}/score", data={"csrf_token": token, **marks, "comment": "不错"})
    # Too early for a decision: one of two has scored, not more than half.
    answer = _post(client, f"{base}/approve", amount="400")
    assert "已评分 1 人" in _flash(client, answer.headers["Location"])
    other = make_app(settings).test_client()
    console_login(other, "m2")
    page = other.get(base).get_data(as_text=True)
    assert "不错" not in page  # m2 has not scored yet
    other.post(f"{base}/score", data={"csrf_token": csrf_token(other, base), **marks, "comment": "同意"})
    page = other.get(base).get_data(as_text=True)
    assert "不错" in page and table_rows(page, "others")[1][2] == "4.0"  # (5·3 + 4·2 + 3·3) / 8, n/a left out
    assert "/console/grants/" in page
    # Over the budget and within it.
    answer = _post(client, f"{base}/approve", amount="300000")
    assert "不超过申请金额" in _flash(client, answer.headers["Location"])
    _post(client, f"{base}/approve", amount="500.01", note="压缩宣传费")
    _post(client, f"/console/grants/{round_id}/publish")
    with db.session() as s:
        application = s.get(GrantApplication, app_id)
        assert (application.status, application.approved_fen) == (GrantStatus.APPROVED, 50_001)
        sources = [src.id for src in application.round.sources]
    _post(client, f"{base}/disburse", source_id=str(sources[0]), amount="250.01")
    _post(client, f"{base}/disburse", source_id=str(sources[1]), amount="100")
    _post(client, f"{base}/disburse", source_id=str(sources[1]), amount="150")
    page = client.get(base).get_data(as_text=True)
    assert [row[3] for row in table_rows(page, "balances")[1:]] == ["0.00 元", "0.00 元"]
    answer = _post(client, f"{base}/complete")
    assert "结项报告" in _flash(client, answer.headers["Location"])
    assert re.search(r"实施中", page)
    # A committee member may not move applications.
    assert member.post(f"{base}/complete", data={"csrf_token": token}).status_code == 403


def test_a_committee_member_sees_only_their_rounds_and_may_declare_a_conflict(client, db):
    with db.session() as s:
        staff = factories.staff(s, "m1", Role.COMMITTEE)
        mine, theirs = gh.open_round(s, name="甲"), gh.open_round(s, name="乙")
        seat = gh.member(s, mine, "m-other")
        rounds.seat_member(s, mine, staff, seat.kind)
        app_id = gh.at_status(s, gh.application(s, mine), GrantStatus.IN_REVIEW).id
        other_id = gh.at_status(s, gh.application(s, theirs), GrantStatus.IN_REVIEW).id
        mine_id, theirs_id = mine.id, theirs.id
        s.commit()
    console_login(client, "m1")
    listing = client.get("/console/grants").get_data(as_text=True)
    assert "甲" in listing and "乙" not in listing and "开启新一期" not in listing
    assert client.get(f"/console/grants/{theirs_id}").status_code == 404
    assert client.get(f"/console/grants/applications/{other_id}").status_code == 404
    assert client.get(f"/console/grants/{mine_id}").status_code == 200
    base = f"/console/grants/applications/{app_id}"
    client.post(f"{base}/conflict", data={"csrf_token": csrf_token(client, base), "reason": "亲属在团队中"})
    assert "您已回避此申请：本人申报利益冲突：亲属在团队中" in client.get(base).get_data(as_text=True)
    assert client.post(f"{base}/score", data={"csrf_token": "forged"}).status_code == 400


def test_staff_type_in_an_application_brought_on_paper(client, db):
    with db.session() as s:
        factories.staff(s, "fx-center", Role.DISTRICT_CENTER)
        round_id = gh.open_round(s).id
        s.commit()
    console_login(client, "fx-center")
    path = f"/console/grants/{round_id}/applications"
    answer = _post(
        client,
        path,
        title="长者助餐",
        category="志愿服务",
        group_name="银龄队",
        team="王阿姨:队长:13900000000\n李叔:厨师",
        budget_lines="食材:100:12.5\n餐具:10:30",
        submit="1",
    )
    assert answer.status_code == 303
    with db.session() as s:
        application = s.scalar(select(GrantApplication))
        assert (application.status, application.requested_fen, application.applicant_id) == (
            GrantStatus.SUBMITTED,
            155_000,
            None,
        )
        assert application.team[0] == {"name": "王阿姨", "role": "队长", "phone": "13900000000"}
        app_id = application.id
    # The team's phones are shown masked, as every contact phone in the console.
    page = client.get(f"/console/grants/applications/{app_id}").get_data(as_text=True)
    assert "139****0000" in page and "13900000000" not in page
    bad = _post(client, path, title="坏", category="志愿服务", budget_lines="食材:很多:1")
    assert "预算第 1 行" in _flash(client, bad.headers["Location"])


def test_the_top_bar_links_微公益_for_managers_and_the_committee_only(client, app, db, make_app, settings):
    with db.session() as s:
        factories.staff(s, "fx-center", Role.DISTRICT_CENTER)
        factories.staff(s, "m1", Role.COMMITTEE)
        factories.staff(s, "cg", Role.DEPARTMENT, unit_code="CG")
        s.commit()
    for username, shown in (("fx-center", True), ("m1", True), ("cg", False)):
        browser = make_app(settings).test_client()
        console_login(browser, username)
        page = browser.get("/console/").get_data(as_text=True)
        assert ('href="/console/grants"' in page) is shown, username


def test_a_street_center_opens_and_runs_rounds_of_its_own_street(client, db):
    with db.session() as s:
        grids = factories.grid_tree(s)
        factories.staff(s, "s-center", Role.STREET_CENTER, "S")
        theirs = gh.open_round(s, grid=grids["X"], name="别的街道")
        s.commit()
        theirs_id = theirs.id
    console_login(client, "s-center")
    answer = _post(
        client,
        "/console/grants",
        name="本街道一期",
        budget="1000",
        cap="100",
        opens_on="2020-01-01",
        closes_on="2099-12-31",
        sources="街道:100",
    )
    assert answer.status_code == 303
    with db.session() as s:
        mine = s.scalar(select(GrantRound).where(GrantRound.name == "本街道一期"))
        assert mine.grid.code == "S"
        mine_id = mine.id
    listing = client.get("/console/grants").get_data(as_text=True)
    assert "本街道一期" in listing and "别的街道" not in listing
    assert client.get(f"/console/grants/{mine_id}").status_code == 200
    assert client.get(f"/console/grants/{theirs_id}").status_code == 404
