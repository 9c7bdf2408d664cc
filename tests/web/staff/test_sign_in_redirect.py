"""After signing in only a path of this site may follow: anything that could leave it goes to /console/."""

from __future__ import annotations

import pytest

from core.glossary import Role
from tests.support import factories
from tests.support.console import csrf_token
from web.redirects import safe_next

# Each of these, raw or percent-decoded, names another site or could break the Location header.
HOSTILE = [
    "/%09/evil.com",
    "/%0a/x",
    "/%0d%0aSet-Cookie:%20a=b",
    "//evil.com",
    "///evil.com",
    "/\\evil.com",
    "/%5Cevil.com",
    "\\\\evil.com",
    "/%2F/evil.com",
    "%2F%2Fevil.com",
    "/%252F%252Fevil.com",
    "https://evil.com/",
    "javascript:alert(1)",
    "/ /evil.com",
    "/%E2%80%8B/evil.com",
    "/%00/x",
    "evil.com",
]
SAME_SITE = ["/console/", "/console/?view=new", "/console/figures?area=S&first=2026-01-01", "/console/cases/GZ1%2D2"]


@pytest.mark.parametrize("target", HOSTILE)
def test_the_rule_refuses_what_could_leave_the_site(target):
    assert safe_next(target, "/console/") == "/console/"


@pytest.mark.parametrize("target", SAME_SITE)
def test_the_rule_keeps_paths_of_this_site(target):
    assert safe_next(target, "/console/") == target


def _staff(app) -> None:
    with app.extensions["gongzhi"].database.session() as s:
        factories.grid_tree(s)
        factories.staff(s, "center", Role.DISTRICT_CENTER)
        s.commit()


@pytest.mark.parametrize("target", HOSTILE)
def test_sign_in_with_a_hostile_next_lands_on_the_console(app, client, target):
    _staff(app)
    page = client.get("/console/login", query_string=f"next={target}")
    assert page.status_code == 200 and 'name="next" value="/console/"' in page.get_data(as_text=True)
    answer = client.post(
        f"/console/login?next={target}",
        data={"csrf_token": csrf_token(client), "username": "center", "password": factories.PASSWORD},
    )
    assert answer.status_code == 303 and answer.headers["Location"] == "/console/"


def test_sign_in_follows_a_same_site_next(app, client):
    _staff(app)
    answer = client.post(
        "/console/login",
        data={
            "csrf_token": csrf_token(client),
            "username": "center",
            "password": factories.PASSWORD,
            "next": "/console/?view=new",
        },
    )
    assert answer.headers["Location"] == "/console/?view=new"


@pytest.mark.parametrize("target", ["//evil.com", "/%09/evil.com", "https://evil.com/"])
def test_the_old_sign_in_address_drops_a_hostile_next(client, target):
    answer = client.get("/staff/login", query_string=f"next={target}")
    assert answer.status_code == 308 and answer.headers["Location"] == "/console/login"
