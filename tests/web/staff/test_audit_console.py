"""审计日志: the auditor signs in to it and nothing else; nobody else opens it; searches and a broken chain show."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text

from core.audit import Actor, record
from core.audit import actions as A
from core.glossary import Role
from core.models import Case, Checkpoint, StaffUser
from core.services import patrol
from core.services.staff import visible_cases
from tests.support import factories
from tests.support.audit import ADDRESS, entries, from_address, last
from tests.support.console import console_login, csrf_token, table_rows
from tests.support.staff import setup_area

AUDITOR_PASSWORD = "Ledger-keeper-2026"


@pytest.fixture
def number(app) -> str:
    made = setup_area(app)
    with app.extensions["gongzhi"].database.session() as s:
        factories.staff(s, "judge", Role.COMMITTEE)
        factories.staff(s, "unit", Role.DEPARTMENT, unit_code="CG")
        s.commit()
    return made


@pytest.fixture
def auditor(app, number):
    """An auditor made the way the operator makes one: `flask staff create --role auditor`, no grid."""
    done = app.test_cli_runner().invoke(
        args=["staff", "create", "--username", "audit", "--role", "auditor"],
        input=f"{AUDITOR_PASSWORD}\n{AUDITOR_PASSWORD}\n",
    )
    assert done.exit_code == 0, done.output
    assert "审计管理员" in done.output
    return "audit"


def _sign_in_auditor(client):
    from_address(client)
    return console_login(client, "audit", AUDITOR_PASSWORD)


def test_the_auditor_lands_on_the_log_and_sees_only_it_in_the_bar(app, client, auditor):
    answer = _sign_in_auditor(client)
    assert answer.headers["Location"].endswith("/console/audit")
    page = client.get("/console/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "校验通过" in html
    assert ">审计日志<" in html and ">案件<" not in html and ">巡查<" not in html and ">微公益<" not in html
    rows = table_rows(html, "access-log")
    assert rows[0][:4] == ["编号", "时间", "操作人", "地址"]
    signed = next(row for row in rows[1:] if row[4].startswith("登录"))
    assert signed[2] == "audit" and signed[3] == ADDRESS and signed[6] == "成功"


REFUSED_PAGES = [
    "/console/",
    "/console/cases/{n}",
    "/console/patrol",
    "/console/patrol?format=csv",
    "/console/figures",
    "/console/figures?format=csv",
    "/console/grants",
    "/console/grants/1",
    "/console/grants/applications/1",
    "/console/jobs",
    "/console/platform",
]


def test_every_other_console_page_refuses_the_auditor(app, client, auditor, number):
    _sign_in_auditor(client)
    for path in REFUSED_PAGES:
        answer = client.get(path.replace("{n}", number))
        assert answer.status_code == 403, path
        assert "审计管理员只能查看审计日志" in answer.get_data(as_text=True)
    refused = entries(app, A.ACCESS_REFUSED)
    assert len(refused) == len(REFUSED_PAGES)
    assert {(e.actor_name, e.result, e.address) for e in refused} == {("audit", "denied", ADDRESS)}
    assert not entries(app, A.CASE_VIEW) and not entries(app, A.EXPORT)
    assert client.get("/console/account").status_code == 200  # their own password and two factors


def test_the_staff_api_refuses_the_auditor_even_with_a_token(app, client, auditor, number):
    from_address(client)
    answer = client.post("/api/v1/staff/token", json={"username": "audit", "password": AUDITOR_PASSWORD})
    assert answer.status_code == 403
    assert (last(app, A.STAFF_SIGN_IN).result, last(app, A.STAFF_SIGN_IN).detail["reason"]) == ("denied", "role")
    from web.staff.auth import issue_token

    with app.app_context(), app.extensions["gongzhi"].database.session() as s:
        headers = {"Authorization": "Bearer " + issue_token(s.query(StaffUser).filter_by(username="audit").one())}
    for path in ("/api/v1/staff/cases", f"/api/v1/staff/cases/{number}", "/api/v1/staff/checkins"):
        assert client.get(path, headers=headers).status_code == 403, path
    assert client.post("/api/v1/staff/checkins", json={"code": "x"}, headers=headers).status_code == 403
    assert not entries(app, A.CASE_VIEW) and not entries(app, A.CHECKINS_VIEW)


@pytest.mark.parametrize("username", ["center", "street", "worker", "leader", "judge", "unit"])
def test_no_other_role_opens_the_log(app, client, number, username):
    console_login(client, username)
    assert client.get("/console/audit").status_code == 403
    assert ">审计日志<" not in client.get("/console/account").get_data(as_text=True)
    assert last(app, A.ACCESS_REFUSED).actor_name == username
    assert not entries(app, A.AUDIT_SEARCH)


def test_a_search_filters_and_is_itself_recorded(app, client, auditor, number):
    console_login(from_address(client, "10.0.0.7"), "worker")
    client.get(f"/console/cases/{number}")
    client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/account")})
    _sign_in_auditor(client)
    page = client.get(f"/console/audit?action=case.view&actor=worker&result=ok&address=10.0.0.&target_id={number}")
    rows = table_rows(page.get_data(as_text=True), "access-log")[1:]
    assert len(rows) == 1 and rows[0][2] == "worker" and rows[0][3] == "10.0.0.7" and number in rows[0][5]
    search = last(app, A.AUDIT_SEARCH)
    assert (search.actor_name, search.address, search.result) == ("audit", ADDRESS, "ok")
    assert search.detail == {
        "action": "case.view",
        "actor": "worker",
        "result": "ok",
        "address": "10.0.0.",
        "target_id": number,
        "page": 1,
    }
    nothing = client.get("/console/audit?action=case.view&actor=street")
    assert "没有符合条件的记录" in nothing.get_data(as_text=True)


def test_a_time_range_and_pages(app, client, auditor):
    with app.extensions["gongzhi"].database.session() as s:
        for n in range(60):
            record(s, Actor(staff_id=1, name="clerk", address="10.0.0.1"), A.CASE_VIEW, "case", f"C{n}")
        s.commit()
    _sign_in_auditor(client)
    first = table_rows(client.get("/console/audit?actor=clerk").get_data(as_text=True), "access-log")[1:]
    assert len(first) == 50 and first[0][5] == "case C59"
    second = client.get("/console/audit?actor=clerk&page=2").get_data(as_text=True)
    assert len(table_rows(second, "access-log")) - 1 == 10 and "上一页" in second
    tomorrow = (datetime.now(app.extensions["gongzhi"].settings.tz) + timedelta(days=1)).date().isoformat()
    later = client.get(f"/console/audit?actor=clerk&from={tomorrow}").get_data(as_text=True)
    assert "没有符合条件的记录" in later
    today_on = client.get(f"/console/audit?actor=clerk&to={tomorrow}").get_data(as_text=True)
    assert len(table_rows(today_on, "access-log")) - 1 == 50


def test_an_entry_edited_in_the_database_shows_where_the_chain_breaks(app, client, auditor, number):
    _sign_in_auditor(client)
    client.get("/console/audit")
    target = entries(app)[1]
    with app.extensions["gongzhi"].database.session() as s:
        s.execute(text("UPDATE access_log SET result = 'ok', address = '1.1.1.1' WHERE id = :id"), {"id": target.id})
        s.commit()
    html = client.get("/console/audit").get_data(as_text=True)
    assert "校验未通过" in html and f"从第 {target.id} 条" in html
    assert f'<tr class="broken">\n      <td>{target.id}</td>' in html


def test_an_auditor_given_a_grid_by_mistake_still_patrols_and_sees_nothing(app, number):
    with app.extensions["gongzhi"].database.session() as s:
        misplaced = factories.staff(s, "audit-g1", Role.AUDITOR, "G1")
        point = Checkpoint(label="CP7", name="东门", grid=misplaced.grid, lat=31.8, lng=117.3)
        s.add(point)
        s.flush()
        assert not patrol.may_check_in(misplaced, point)
        assert patrol.area_path(misplaced) is None
        assert s.scalars(select(Case).where(visible_cases(misplaced))).all() == []
