"""Rotating SECRET_KEY with the old key in SECRET_KEY_FALLBACKS signs no staff member out; dropping it does."""

from __future__ import annotations

from core.glossary import Role
from tests.support import factories
from tests.support.console import console_login

OLD, NEW = "old-key-" + "o" * 32, "new-key-" + "n" * 32


def signed_in(make_app, settings):
    """A bearer token and a console session cookie, both made while OLD was the key."""
    app = make_app(settings.replace(secret_key=OLD))
    with app.extensions["gongzhi"].database.session() as s:
        factories.grid_tree(s)
        factories.staff(s, "center", Role.DISTRICT_CENTER)
        s.commit()
    client = app.test_client()
    answer = client.post("/api/v1/staff/token", json={"username": "center", "password": factories.PASSWORD})
    console_login(client, "center")
    cookie = client.get_cookie("session")
    assert cookie is not None
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}, cookie.value


def test_tokens_and_sessions_outlive_a_rotation_while_the_old_key_is_a_fallback(make_app, settings):
    bearer, session_cookie = signed_in(make_app, settings)

    rotated = make_app(settings.replace(secret_key=NEW, secret_key_fallbacks=(OLD,))).test_client()
    assert rotated.get("/api/v1/staff/cases", headers=bearer).status_code == 200
    rotated.set_cookie("session", session_cookie)
    assert rotated.get("/console/").status_code == 200

    forgotten = make_app(settings.replace(secret_key=NEW)).test_client()
    assert forgotten.get("/api/v1/staff/cases", headers=bearer).status_code == 401
    forgotten.set_cookie("session", session_cookie)
    assert forgotten.get("/console/").status_code == 303  # back to the sign-in page
