"""Hostile staff requests: reaching outside one's area, forged tokens, forms without CSRF, script and SQL in
what staff read and filter by. Each gets a clear 4xx (or a page that says why); nothing moves."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.models import Case
from tests.support import factories
from tests.support.console import console_login, csrf_token


def _token(client, username: str) -> dict[str, str]:
    answer = client.post("/api/v1/staff/token", json={"username": username, "password": factories.PASSWORD})
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


OUTSIDE = {
    "read": ("get", "/api/v1/staff/cases/{n}", None, 404),
    "suggestions": ("get", "/api/v1/staff/cases/{n}/suggestions", None, 404),
    "accept": ("post", "/api/v1/staff/cases/{n}/actions", {"action": "accept"}, 404),
    "reject": ("post", "/api/v1/staff/cases/{n}/actions", {"action": "reject", "reason": "x"}, 404),
    "dispatch": ("post", "/api/v1/staff/cases/{n}/actions", {"action": "dispatch", "assignee": "outsider"}, 404),
    # Their own case they may see, so a move on it that names a case outside is not theirs to make.
    "merge into it": ("post", "/api/v1/staff/cases/{own}/actions", {"action": "duplicate", "original": "{n}"}, 403),
}


@pytest.mark.parametrize("name", OUTSIDE)
def test_a_grid_worker_cannot_reach_a_case_outside_their_grid(client, world, unchanged, name):
    method, path, body, expected = OUTSIDE[name]
    if isinstance(body, dict):
        body = {k: v.replace("{n}", world.case_number) for k, v in body.items()}
    path = path.replace("{n}", world.case_number).replace("{own}", world.other_number)
    headers = _token(client, "outsider")
    answer = unchanged(lambda: getattr(client, method)(path, json=body, headers=headers))
    assert answer.status_code == expected  # another area's case is 404; a move that is not yours 403


def test_a_worker_cannot_filter_their_way_into_another_area(client, world, unchanged):
    headers = _token(client, "outsider")
    listed = unchanged(lambda: client.get("/api/v1/staff/cases?grid=G1&view=all", headers=headers))
    assert listed.status_code == 200 and listed.get_json()["cases"] == []


TOKENS = {
    "none": {},
    "forged": {"Authorization": "Bearer Zm9yZ2Vk.Zm9yZ2Vk.Zm9yZ2Vk"},
    "a resident's": None,
    "sql": {"Authorization": "Bearer ' OR 1=1 --"},
    "basic auth": {"Authorization": "Basic Y2VudGVyOmNvcnJlY3QtaG9yc2UtOQ=="},
}


@pytest.mark.parametrize("name", TOKENS)
def test_staff_endpoints_refuse_tokens_that_are_not_staff_tokens(client, world, fake_wechat, unchanged, name):
    headers = TOKENS[name]
    if headers is None:
        fake_wechat.add_login_code("staff-hostile-code", "oMini_x", "k")
        signed_in = client.post("/api/v1/session", json={"code": "staff-hostile-code"}).get_json()
        headers = {"Authorization": f"Bearer {signed_in['token']}"}
    answer = unchanged(lambda: client.get("/api/v1/staff/cases", headers=headers), may_change=("residents",))
    assert answer.status_code == 401


BAD_ACTIONS = {
    "unknown action": {"action": "delete"},
    "sql action": {"action": "accept'; --"},
    "action as a list": {"action": ["accept"]},
    "assignee sql": {"action": "dispatch", "assignee": "x' OR '1'='1"},
    "tier sql": {"action": "dispatch", "assignee": "worker", "tier": "district' --"},
    "assisting not a list": {"action": "dispatch", "assignee": "worker", "tier": "district", "assisting": {"a": 1}},
    "note too long": {"action": "reject", "reason": "长" * 5000},
    "reason as a number": {"action": "reject", "reason": 12},
    "verify with a string": {"action": "verify", "passed": "yes"},
}


@pytest.mark.parametrize("name", BAD_ACTIONS)
def test_malformed_moves_are_clear_4xx(client, world, unchanged, name):
    headers = _token(client, "center")
    url = f"/api/v1/staff/cases/{world.case_number}/actions"
    answer = unchanged(lambda: client.post(url, json=BAD_ACTIONS[name], headers=headers))
    assert 400 <= answer.status_code < 500 and answer.get_json()["error"]["message"]


CONSOLE_POSTS = ["accept", "reject", "duplicate", "dispatch", "close"]


@pytest.mark.parametrize("action", CONSOLE_POSTS)
def test_console_moves_without_the_csrf_token_are_refused(client, world, unchanged, action):
    console_login(client, "center")
    answer = unchanged(
        lambda: client.post(f"/console/cases/{world.case_number}/{action}", data={"reason": "x", "note": "x"})
    )
    assert answer.status_code == 400


def test_console_moves_with_another_sessions_token_are_refused(app, client, world, unchanged):
    other = app.test_client()
    console_login(other, "center")
    stolen = csrf_token(other, "/console/")
    console_login(client, "center")
    answer = unchanged(lambda: client.post(f"/console/cases/{world.case_number}/accept", data={"csrf_token": stolen}))
    assert answer.status_code == 400


def test_the_console_does_not_show_another_areas_case(client, world, unchanged):
    console_login(client, "outsider")
    assert unchanged(lambda: client.get(f"/console/cases/{world.case_number}")).status_code == 404
    token = csrf_token(client, "/console/")
    posted = unchanged(lambda: client.post(f"/console/cases/{world.case_number}/accept", data={"csrf_token": token}))
    assert posted.status_code == 404


FILTERS = ["grid=G1' OR '1'='1", "category=01;DROP TABLE cases", "status=<script>", "tier=x", "view=../../", "page=-1"]


@pytest.mark.parametrize("query", FILTERS)
def test_hostile_console_filters_are_answered_not_obeyed(client, world, unchanged, query):
    console_login(client, "center")
    answer = unchanged(lambda: client.get(f"/console/?{query}"))
    assert answer.status_code == 303  # sent back to the queue with the filters it understood
    page = client.get(answer.headers["Location"]).get_data(as_text=True) if answer.status_code == 303 else ""
    assert "<script>" not in page


SCRIPTS = [
    '<script>alert("x")</script>',
    '<img src=x onerror="alert(1)">',
    '"><svg onload=alert(1)>',
    "javascript:alert(1)",
    "{{ 7*7 }}{% raw %}",
]


@pytest.mark.parametrize("text", SCRIPTS)
def test_script_in_a_description_is_text_in_the_console(app, client, world, text):
    with app.extensions["gongzhi"].database.session() as s:
        s.scalar(select(Case).where(Case.number == world.case_number)).description = text
        s.commit()
    console_login(client, "center")
    page = client.get(f"/console/cases/{world.case_number}").get_data(as_text=True)
    if "<" in text or '"' in text:
        assert text not in page  # markup arrives escaped; words without it are harmless as text
    assert "49" not in page.split('id="description">')[1].split("</p>")[0]  # no template evaluation
