"""Hostile use of the audit: an auditor posting anything, SQL and junk in the log's search, absurd page numbers.

Each is a clear 4xx or a page that says why; nothing else stored changes; the log's chain still holds.
"""

from __future__ import annotations

import re

import pytest

from core.audit import actions as A
from core.audit import verify_chain
from core.glossary import Role
from core.models import StaffUser
from tests.support import factories
from tests.support.audit import entries
from tests.support.console import console_login, csrf_token, table_rows
from web.staff.auth import issue_token

AUDITOR = "audit"
# Their own account, and signing in and out (the API's sign-in refuses an auditor: test_audit_console.py).
OWN = ("/console/account", "/console/login", "/console/logout", "/api/v1/staff/token")


@pytest.fixture
def auditor(app, world, client):
    with app.extensions["gongzhi"].database.session() as s:
        factories.staff(s, AUDITOR, Role.AUDITOR)
        s.commit()
    console_login(client, AUDITOR)
    return client


def _posts(app, world) -> list[str]:
    """Every console and staff API path that takes a POST (their own account's aside), arguments filled in."""
    paths = []
    values = {"number": world.case_number, "action": "accept", "round_id": "1", "application_id": "1"}
    for rule in app.url_map.iter_rules():
        path = rule.rule
        if not ({"POST", "PUT", "PATCH", "DELETE"} & (rule.methods or set())) or path.startswith(OWN):
            continue
        if not path.startswith(("/console", "/api/v1/staff")):
            continue
        paths.append(re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values.get(m[1], "1"), path))
    return sorted(set(paths))


def test_an_auditor_can_post_nothing_in_the_console_or_the_staff_api(app, world, auditor, unchanged):
    token = csrf_token(auditor, "/console/audit")
    paths = _posts(app, world)
    assert any(p.startswith("/console/cases/") for p in paths) and any(p.startswith("/api/v1/staff/") for p in paths)
    with app.app_context(), app.extensions["gongzhi"].database.session() as s:
        bearer = {"Authorization": "Bearer " + issue_token(_auditor(s))}
    for path in paths:
        form = {"csrf_token": token, "action": "accept", "all": "1", "username": "worker", "code": world.code}
        answer = unchanged(lambda: auditor.post(path, data=form, headers=bearer))  # noqa: B023
        assert answer.status_code in (403, 405), (path, answer.status_code)
    assert verify_chain(app.extensions["gongzhi"].database.session()) is None


def _auditor(session):
    return session.query(StaffUser).filter_by(username=AUDITOR).one()


def test_the_log_page_takes_no_post(world, auditor, unchanged):
    token = csrf_token(auditor, "/console/audit")
    assert unchanged(lambda: auditor.post("/console/audit", data={"csrf_token": token})).status_code == 405


SEARCHES = [
    "actor=' OR 1=1 --",
    "actor=audit'; DELETE FROM access_log; --",
    "target_id=%",
    "address=%25",
    "target_type=case\\",
    "actor=" + "长" * 5000,
    "actor=<script>alert(1)</script>",
]


@pytest.mark.parametrize("query", SEARCHES)
def test_sql_and_junk_in_the_search_find_nothing_and_break_nothing(app, world, auditor, unchanged, query):
    before = len(entries(app))
    answer = unchanged(lambda: auditor.get(f"/console/audit?{query}"))
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "没有符合条件的记录" in html
    assert "<script>alert" not in html
    assert len(entries(app)) == before + 1  # the search itself, and nothing else came or went
    assert entries(app)[-1].action == A.AUDIT_SEARCH
    assert all(len(str(v)) <= 64 for v in (entries(app)[-1].detail or {}).values())
    assert verify_chain(app.extensions["gongzhi"].database.session()) is None


BAD = [
    "page=99999999999999999999999",
    "page=10001",
    "page=0",
    "page=-3",
    "page=1e9",
    "page=",
    "from=yesterday",
    "to=2026-13-45",
    "from=2026-12-05&to=2026-12-01",
    "action=case.delete",
    "result=maybe",
]


@pytest.mark.parametrize("query", BAD)
def test_absurd_pages_and_filters_are_a_clear_400(app, world, auditor, unchanged, query):
    answer = unchanged(lambda: auditor.get(f"/console/audit?{query}"))
    html = answer.get_data(as_text=True)
    if query == "page=":  # an empty page number is the first page
        assert answer.status_code == 200
        return
    assert answer.status_code == 400 and 'class="errors"' in html
    assert entries(app)[-1].action == A.AUDIT_SEARCH and entries(app)[-1].result == "failed"


def test_the_last_page_allowed_is_empty_not_an_error(world, auditor, unchanged):
    answer = unchanged(lambda: auditor.get("/console/audit?page=10000"))
    assert answer.status_code == 200 and "没有符合条件的记录" in answer.get_data(as_text=True)
    assert table_rows(auditor.get("/console/audit").get_data(as_text=True), "access-log")
