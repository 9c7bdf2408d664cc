"""Hostile staff requests: reaching outside one's area, forged tokens, forms without CSRF, script and SQL in
what staff read and filter by. Each gets a clear 4xx (or a page that says why); nothing moves."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.models import Case, Grid
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


OPEN_REDIRECTS = ["/%09/evil.com", "/%0a/x", "//evil.com", "/%5Cevil.com", "https://evil.com/", "/%252F%252Fevil.com"]


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_signing_in_never_sends_the_browser_off_the_site(client, world, unchanged, target):
    token = csrf_token(client)
    form = {"csrf_token": token, "username": "center", "password": factories.PASSWORD}
    answer = unchanged(lambda: client.post(f"/console/login?next={target}", data=form))
    assert answer.status_code == 303 and answer.headers["Location"] == "/console/"


@pytest.mark.parametrize("path", ["/console/figures?area=C&format=csv", "/console/patrol?area=C&format=csv"])
def test_a_formula_in_a_name_is_text_in_the_downloads(app, client, world, unchanged, path):
    with app.extensions["gongzhi"].database.session() as s:
        s.scalar(select(Grid).where(Grid.code == "G1")).name = '=HYPERLINK("http://evil.example","x")'
        s.commit()
    console_login(client, "center")
    answer = unchanged(lambda: client.get(path))
    body = answer.get_data().decode("utf-8-sig")
    assert answer.status_code == 200 and "'=HYPERLINK" in body and ",=HYPERLINK" not in body


def test_opening_a_sign_checks_no_one_in_and_a_check_in_needs_its_token(client, world, unchanged):
    console_login(client, "worker")
    page = unchanged(lambda: client.get(f"/q/{world.code}"))
    assert page.status_code == 200 and "签到" in page.get_data(as_text=True)
    forged = unchanged(lambda: client.post(f"/q/{world.code}/check-in", data={"csrf_token": "forged"}))
    assert forged.status_code == 400
    old = unchanged(lambda: client.post(f"/q/{world.old_code}/check-in", data={"csrf_token": csrf_token(client)}))
    assert old.status_code == 410


# --- sign-in: guessing passwords, locking others out, telling accounts apart ---------------------

ATTACKER = {"REMOTE_ADDR": "203.0.113.66"}
CENTER_DESK = {"REMOTE_ADDR": "198.51.100.7"}


def _sign_in(client, username: str, password: str, where: dict[str, str]):
    return client.post("/api/v1/staff/token", json={"username": username, "password": password}, environ_base=where)


def test_guessing_the_centers_password_elsewhere_does_not_lock_the_center_out(client, world, settings, unchanged):
    for _ in range(settings.login_max_failures + 2):
        assert unchanged(lambda: _sign_in(client, "center", "guess-Guess-1", ATTACKER)).status_code == 401
    # From the attacker's address even the right password is refused now ...
    assert _sign_in(client, "center", factories.PASSWORD, ATTACKER).status_code == 401
    # ... while the district center at its own desk signs in as ever.
    assert _sign_in(client, "center", factories.PASSWORD, CENTER_DESK).status_code == 200
    console = client.post(
        "/console/login",
        data={"csrf_token": csrf_token(client), "username": "center", "password": factories.PASSWORD},
        environ_base=CENTER_DESK,
    )
    assert console.status_code == 303


def test_wrong_password_unknown_user_and_locked_account_get_the_same_answer(client, world, settings, unchanged):
    wrong = unchanged(lambda: _sign_in(client, "worker", "guess-Guess-1", ATTACKER))
    unknown = unchanged(lambda: _sign_in(client, "nobody-here", "guess-Guess-1", ATTACKER))
    for _ in range(settings.login_max_failures):
        _sign_in(client, "worker", "guess-Guess-1", ATTACKER)
    locked = unchanged(lambda: _sign_in(client, "worker", factories.PASSWORD, ATTACKER))
    assert wrong.status_code == unknown.status_code == locked.status_code == 401
    assert wrong.get_json() == unknown.get_json() == locked.get_json()
    page = {
        name: client.post(
            "/console/login",
            data={"csrf_token": csrf_token(client), "username": user, "password": password},
            environ_base=ATTACKER,
        )
        for name, user, password in (
            ("wrong", "outsider", "guess-Guess-1"),
            ("unknown", "nobody-here", "guess-Guess-1"),
            ("locked", "worker", factories.PASSWORD),
        )
    }
    assert {p.status_code for p in page.values()} == {401}
    errors = {name: p.get_data(as_text=True).split('role="alert">')[1].split("<")[0] for name, p in page.items()}
    assert errors["wrong"] == errors["unknown"] == errors["locked"]


def test_one_address_guessing_many_accounts_is_stopped(make_app, settings, world):
    app = make_app(settings.replace(login_client_max_failures=4))
    client = app.test_client()
    for name in ("a1", "a2", "a3", "a4"):
        assert _sign_in(client, name, "guess-Guess-1", ATTACKER).status_code == 401
    stopped = _sign_in(client, "worker", factories.PASSWORD, ATTACKER)
    assert stopped.status_code == 429 and "频繁" in stopped.get_json()["error"]["message"]
    assert _sign_in(client, "worker", factories.PASSWORD, CENTER_DESK).status_code == 200


def test_sign_in_with_redis_down_is_served_not_a_500(client, world, monkeypatch):
    from redis.exceptions import ConnectionError as RedisDown

    redis = client.application.extensions["gongzhi"].redis

    def down(*_args, **_kwargs):
        raise RedisDown("Redis is down")

    monkeypatch.setattr(redis, "get", down)
    monkeypatch.setattr(redis, "pipeline", down)
    monkeypatch.setattr(redis, "delete", down)
    assert _sign_in(client, "worker", "guess-Guess-1", ATTACKER).status_code == 401
    assert _sign_in(client, "worker", factories.PASSWORD, ATTACKER).status_code == 200


def test_binding_codes_sprayed_from_many_openids_are_stopped(app, world, wechat, unchanged):
    from core.models import StaffUser
    from core.services import patrol
    from tests.support.wechat_sender import reply_text

    context = app.extensions["gongzhi"]
    with context.database.session() as s:
        code = patrol.issue_binding_code(
            context.redis, s.scalar(select(StaffUser).where(StaffUser.username == "worker"))
        )
    wrong = (f"{n:06d}" for n in range(10**6) if f"{n:06d}" != code)
    wechat.agree = False  # a binding code is no report: nobody is asked to agree to anything here
    # Each openid stays under its own limit; together they guess far more than one openid may.
    for n in range(patrol.MAX_BINDING_GUESSES):
        wechat.text(f"oSpray_{n:04d}", f"绑定 {next(wrong)}")
    refused = unchanged(lambda: wechat.text("oSpray_last", f"绑定 {code}"), may_change=("residents", "report_drafts"))
    assert "频繁" in (reply_text(refused) or "")
    with context.database.session() as s:
        assert s.scalar(select(StaffUser).where(StaffUser.openid == "oSpray_last")) is None


# --- sessions and tokens that must end ------------------------------------------------------------


def test_sign_out_everywhere_voids_every_token_and_session(app, client, world, unchanged):
    headers = _token(client, "worker")
    other = app.test_client()
    console_login(other, "worker")
    assert client.delete("/api/v1/staff/token", headers=headers).status_code == 204
    assert unchanged(lambda: client.get("/api/v1/staff/cases", headers=headers)).status_code == 401
    assert unchanged(lambda: other.get("/console/")).status_code == 303


def test_the_console_button_signs_out_everywhere(app, client, world):
    headers = _token(client, "worker")
    console_login(client, "worker")
    answer = client.post("/console/account/sign-out-everywhere", data={"csrf_token": csrf_token(client, "/console/")})
    assert answer.status_code == 303
    assert client.get("/console/").status_code == 303
    assert client.get("/api/v1/staff/cases", headers=headers).status_code == 401


def _clock(monkeypatch, start: float):
    from web.staff import auth

    now = [start]
    monkeypatch.setattr(auth, "_now", lambda: now[0])
    return now


def test_an_idle_console_session_ends(client, world, settings, monkeypatch, unchanged):
    now = _clock(monkeypatch, 1_900_000_000.0)
    console_login(client, "center")
    now[0] += settings.console_idle_minutes * 60 - 5
    assert client.get("/console/").status_code == 200  # still in use: the idle time starts again
    now[0] += settings.console_idle_minutes * 60 + 5
    assert unchanged(lambda: client.get("/console/")).status_code == 303


def test_a_console_session_ends_after_twelve_hours_however_busy(client, world, settings, monkeypatch, unchanged):
    now = _clock(monkeypatch, 1_900_000_000.0)
    console_login(client, "center")
    for _ in range(settings.console_max_hours * 3):
        now[0] += 20 * 60
        assert client.get("/console/").status_code == 200
    now[0] += 20 * 60 + 1
    assert unchanged(lambda: client.get("/console/")).status_code == 303


def test_a_password_change_ends_the_other_sessions_and_tokens(app, client, world, unchanged):
    headers = _token(client, "worker")
    other = app.test_client()
    console_login(other, "worker")
    console_login(client, "worker")
    new = "Brand-new-pass-77"
    changed = client.post(
        "/console/account/password",
        data={
            "csrf_token": csrf_token(client, "/console/account"),
            "current_password": factories.PASSWORD,
            "new_password": new,
            "repeat_password": new,
        },
    )
    assert changed.status_code == 303
    assert client.get("/console/").status_code == 200  # this browser stays signed in
    assert unchanged(lambda: other.get("/console/")).status_code == 303
    assert unchanged(lambda: client.get("/api/v1/staff/cases", headers=headers)).status_code == 401
    assert client.post("/api/v1/staff/token", json={"username": "worker", "password": new}).status_code == 200


WEAK = {
    "short": "Ab1-short",
    "two kinds": "onlylowercase123",
    "the username": "Worker-2026-x".replace("Worker", "worker"),
}


@pytest.mark.parametrize("name", WEAK)
def test_a_weak_new_password_is_refused(client, world, unchanged, name):
    console_login(client, "worker")
    token = csrf_token(client, "/console/account")
    form = {"csrf_token": token, "current_password": factories.PASSWORD}
    form["new_password"] = form["repeat_password"] = WEAK[name]
    answer = unchanged(lambda: client.post("/console/account/password", data=form))
    assert answer.status_code == 303
    assert "密码" in client.get("/console/account").get_data(as_text=True)
    assert client.post("/api/v1/staff/token", json={"username": "worker", "password": WEAK[name]}).status_code == 401


def test_disabling_an_account_ends_its_sessions(app, client, world):
    headers = _token(client, "worker")
    console_login(client, "worker")
    result = app.test_cli_runner().invoke(args=["staff", "disable", "worker"])
    assert result.exit_code == 0, result.output
    assert client.get("/console/").status_code == 303
    assert client.get("/api/v1/staff/cases", headers=headers).status_code == 401
    assert (
        client.post("/api/v1/staff/token", json={"username": "worker", "password": factories.PASSWORD}).status_code
        == 401
    )


# --- two factors ----------------------------------------------------------------------------------


def _enrol(client, username: str) -> tuple[str, list[str]]:
    """Enrol `username` (signed in on `client`) through the console; returns the secret and recovery codes."""
    import re

    import pyotp

    page = client.get("/console/account/totp").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)[1]
    assert 'src="data:image/svg+xml;base64,' in page
    done = client.post(
        "/console/account/totp",
        data={"csrf_token": csrf_token(client, "/console/account"), "code": pyotp.TOTP(secret).now()},
    )
    assert done.status_code == 200, done.get_data(as_text=True)[:300]
    codes = re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", done.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def test_with_two_factors_the_password_alone_is_not_enough(app, client, world, monkeypatch, unchanged):
    import pyotp

    console_login(client, "center")
    secret, codes = _enrol(client, "center")
    with app.extensions["gongzhi"].database.session() as s:
        from core.models import StaffUser

        stored = s.scalar(select(StaffUser).where(StaffUser.username == "center"))
        assert secret not in (stored.totp_secret or "") and not any(c in str(stored.totp_recovery) for c in codes)
    plain = {"username": "center", "password": factories.PASSWORD}
    wrong = unchanged(lambda: client.post("/api/v1/staff/token", json=plain))
    unknown = client.post("/api/v1/staff/token", json={"username": "nobody", "password": "x"})
    assert wrong.status_code == 401 and wrong.get_json() == unknown.get_json()
    assert client.post("/api/v1/staff/token", json={**plain, "totp": "000000"}).status_code == 401
    # The current code works once: the same code again (a replay) is refused.
    monkeypatch.setattr("time.time", lambda: 1_900_000_100.0)
    code = pyotp.TOTP(secret).at(1_900_000_100)
    assert client.post("/api/v1/staff/token", json={**plain, "totp": code}).status_code == 200
    assert client.post("/api/v1/staff/token", json={**plain, "totp": code}).status_code == 401
    # A recovery code works once too.
    assert client.post("/api/v1/staff/token", json={**plain, "totp": codes[0]}).status_code == 200
    assert client.post("/api/v1/staff/token", json={**plain, "totp": codes[0]}).status_code == 401
    # The console sign-in asks for it as well.
    fresh = app.test_client()
    refused = fresh.post("/console/login", data={"csrf_token": csrf_token(fresh), **plain})
    assert refused.status_code == 401
    ok = fresh.post("/console/login", data={"csrf_token": csrf_token(fresh), **plain, "totp": codes[1]})
    assert ok.status_code == 303


def test_when_two_factors_are_required_an_unenrolled_account_only_reaches_enrolment(make_app, settings, world):
    app = make_app(settings.replace(staff_totp_required=True))
    client = app.test_client()
    plain = {"username": "worker", "password": factories.PASSWORD}
    refused = client.post("/api/v1/staff/token", json=plain)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "totp_enrolment_required"
    signed_in = client.post("/console/login", data={"csrf_token": csrf_token(client), **plain})
    assert signed_in.headers["Location"].endswith("/console/account/totp")
    assert client.get("/console/").headers["Location"].endswith("/console/account/totp")
    assert client.get(f"/console/cases/{world.case_number}").status_code == 303
    _secret, codes = _enrol(client, "worker")
    assert client.get("/console/").status_code == 200
    # (the code just used to enrol is spent; a recovery code stands in for the next one)
    assert client.post("/api/v1/staff/token", json={**plain, "totp": codes[0]}).status_code == 200
