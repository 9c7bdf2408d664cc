"""Resident sign-in through jscode2session, linking by unionid, and the resident token."""

from __future__ import annotations

import time

from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from core.models import Case, Resident
from tests.support import factories
from tests.support.api import assert_error, count

CODE2SESSION = "/sns/jscode2session"


def residents(db) -> list[Resident]:
    with db.session() as s:
        return list(s.scalars(select(Resident).order_by(Resident.id)))


def test_a_code_signs_a_new_resident_in_and_the_token_opens_the_api(client, db, fake_wechat, redis_client):
    fake_wechat.add_login_code("code-a", "oMini_A", "the-session-key")
    response = client.post("/api/v1/session", json={"code": "code-a"})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"token", "expires_in"} and body["expires_in"] == 24 * 3600
    assert "the-session-key" not in response.get_data(as_text=True)
    [resident] = residents(db)
    assert resident.mini_openid == "oMini_A" and resident.openid is None and resident.unionid is None
    # The session key is kept nowhere: not in the database, not in Redis.
    assert all(b"the-session-key" not in (redis_client.dump(key) or b"") for key in redis_client.keys("*"))
    # jscode2session needs no access token, so none was fetched.
    [call] = fake_wechat.calls()
    assert call.path == CODE2SESSION and call.query["js_code"] == "code-a" and "access_token" not in call.query
    mine = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {body['token']}"})
    assert mine.status_code == 200 and mine.get_json()["total"] == 0


def test_signing_in_again_finds_the_same_resident(sign_in, db):
    sign_in("oMini_B")
    sign_in("oMini_B")
    assert [r.mini_openid for r in residents(db)] == ["oMini_B"]


def test_a_unionid_links_the_mini_program_to_the_official_account_resident(sign_in, db):
    with db.session() as s:
        s.add(Resident(openid="oOfficial_C", unionid="union-C", is_follower=True))
        s.commit()
    sign_in("oMini_C", unionid="union-C")
    [resident] = residents(db)
    assert (resident.openid, resident.mini_openid, resident.unionid) == ("oOfficial_C", "oMini_C", "union-C")


def test_a_mini_program_resident_made_before_the_unionid_is_merged_into_the_official_one(
    sign_in, client, db, api_settings
):
    headers = sign_in("oMini_D")  # no unionid yet: the mini-program was not bound to Open Platform
    with db.session() as s:
        mini = s.scalar(select(Resident).where(Resident.mini_openid == "oMini_D"))
        official = Resident(openid="oOfficial_D", unionid="union-D")
        s.add(official)
        s.flush()
        factories.case(s, api_settings, reporter=mini)
        s.commit()
    merged = sign_in("oMini_D", unionid="union-D")
    with db.session() as s:
        person = s.scalar(select(Resident).where(Resident.mini_openid == "oMini_D"))
        assert (person.openid, person.unionid) == ("oOfficial_D", "union-D")
        [case] = s.scalars(select(Case)).all()
        assert case.reporter_id == person.id and [f.id for f in case.followers] == [person.id]
    assert client.get("/api/v1/cases", headers=merged).get_json()["total"] == 1
    # The old token names the emptied row: it still signs in, but owns nothing any more.
    assert client.get("/api/v1/cases", headers=headers).get_json()["total"] == 0


def test_a_used_or_unknown_code_is_a_400_with_wechats_reason_in_chinese(client, db, fake_wechat):
    fake_wechat.add_login_code("code-e", "oMini_E", "sk")
    assert client.post("/api/v1/session", json={"code": "code-e"}).status_code == 200
    used = assert_error(client.post("/api/v1/session", json={"code": "code-e"}), 400, "login_refused")
    assert "已被使用" in used["message"]
    unknown = assert_error(client.post("/api/v1/session", json={"code": "never-issued"}), 400, "login_refused")
    assert "无效" in unknown["message"]
    assert count(db, Resident) == 1


def test_a_missing_or_malformed_code_is_a_400_without_asking_wechat(client, fake_wechat):
    for body in [{}, {"code": ""}, {"code": 42}, {"code": "x" * 129}, {"code": "a\x00b"}, ["code"]]:
        assert_error(client.post("/api/v1/session", json=body), 400, "invalid")
    error = assert_error(client.post("/api/v1/session", data="{", content_type="application/json"), 400, "invalid")
    assert error["fields"]
    assert fake_wechat.calls() == []


def test_wechat_unreachable_or_busy_is_a_503_and_too_frequent_a_429(client, db, fake_wechat):
    fake_wechat.fail_next(3, status=503, path=CODE2SESSION)  # the first try and both retries
    assert_error(client.post("/api/v1/session", json={"code": "c1"}), 503, "wechat_unavailable")
    fake_wechat.fail_next(1, errcode=-1, path=CODE2SESSION)
    assert_error(client.post("/api/v1/session", json={"code": "c2"}), 503, "wechat_unavailable")
    fake_wechat.fail_next(1, errcode=45011, path=CODE2SESSION)
    assert_error(client.post("/api/v1/session", json={"code": "c3"}), 429, "login_refused")
    assert count(db, Resident) == 0


def test_wechat_down_altogether_is_a_503(make_app, api_settings, db):
    dead = make_app(api_settings.replace(wechat_api_base="http://127.0.0.1:9/", wechat_max_retries=0))
    assert_error(dead.test_client().post("/api/v1/session", json={"code": "c"}), 503, "wechat_unavailable")


def _token(secret: str, salt: str, payload: object, age_seconds: int = 0) -> str:
    serializer = URLSafeTimedSerializer(secret, salt=salt)
    original = TimestampSigner.get_timestamp
    TimestampSigner.get_timestamp = lambda self: int(time.time()) - age_seconds  # type: ignore[method-assign]
    try:
        return serializer.dumps(payload)
    finally:
        TimestampSigner.get_timestamp = original  # type: ignore[method-assign]


def test_expired_forged_and_foreign_tokens_are_401(client, db, sign_in, api_settings):
    sign_in("oMini_F")
    rid = db.session().scalar(select(Resident.id).where(Resident.mini_openid == "oMini_F"))
    secret = api_settings.secret_key

    def status(token: str, scheme: str = "Bearer") -> tuple[int, str]:
        response = client.get("/api/v1/cases", headers={"Authorization": f"{scheme} {token}"})
        return response.status_code, (response.get_json() or {}).get("error", {}).get("code", "")

    assert status(_token(secret, "gongzhi.resident-token", {"rid": rid}))[0] == 200
    expired = _token(
        secret, "gongzhi.resident-token", {"rid": rid}, age_seconds=api_settings.resident_token_max_age_seconds + 5
    )
    assert status(expired) == (401, "token_expired")
    assert status(_token("another-secret", "gongzhi.resident-token", {"rid": rid})) == (401, "unauthorized")
    assert status(_token(secret, "gongzhi.staff-token", {"rid": rid})) == (401, "unauthorized")  # a staff token
    assert status(_token(secret, "gongzhi.resident-token", {"rid": rid + 1000})) == (401, "unauthorized")
    assert status(_token(secret, "gongzhi.resident-token", ["rid", rid])) == (401, "unauthorized")
    assert status("not-a-token") == (401, "unauthorized")
    assert status(_token(secret, "gongzhi.resident-token", {"rid": rid}), scheme="Basic") == (401, "unauthorized")
    assert_error(client.get("/api/v1/cases"), 401, "unauthorized")
