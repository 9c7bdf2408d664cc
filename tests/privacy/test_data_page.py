"""The signed 「我的数据」 page: the same data as the JSON copy, never cached, dead after 15 minutes or if touched."""

from __future__ import annotations

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from core.models import Resident
from core.privacy import links
from tests.support import api, privacy


@pytest.fixture
def resident(db, api_settings):
    with db.session() as s:
        person = Resident(openid="oPage_me", nickname="小王", phone=privacy.PHONE)
        s.add(person)
        s.flush()
        case = privacy.finished_case(s, api_settings, person)
        s.commit()
        return {"id": person.id, "number": case.number}


def _path(token: str) -> str:
    return links.PAGE_PATH + token


def test_the_page_lists_what_the_json_copy_holds_and_is_never_cached(client, db, api_settings, resident):
    url = links.data_url(api_settings, resident["id"])
    assert url.startswith(api_settings.public_base_url)

    response = client.get(url.removeprefix(api_settings.public_base_url))

    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    page = response.get_data(as_text=True)
    for shown in ("oPage_me", "小王", privacy.PHONE, resident["number"], "您的案件已办结", "我上报的案件"):
        assert shown in page
    with db.session() as s:
        assert [(e.actor_resident_id, e.detail) for e in privacy.entries(s, "privacy.export")] == [
            (resident["id"], {"channel": "page"})
        ]


def test_a_link_older_than_fifteen_minutes_is_404(client, api_settings, resident, monkeypatch):
    issued = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: issued(self) - 16 * 60)
    old = links.data_token(api_settings, resident["id"])
    monkeypatch.setattr(TimestampSigner, "get_timestamp", issued)

    response = client.get(_path(old))

    assert response.status_code == 404
    assert "oPage_me" not in response.get_data(as_text=True)


def test_a_link_made_fourteen_minutes_ago_still_opens(client, api_settings, resident, monkeypatch):
    issued = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: issued(self) - 14 * 60)
    token = links.data_token(api_settings, resident["id"])
    monkeypatch.setattr(TimestampSigner, "get_timestamp", issued)

    assert client.get(_path(token)).status_code == 200


@pytest.mark.parametrize("change", ["altered", "other_resident_forged", "other_salt", "garbage"])
def test_a_forged_or_altered_link_is_404(client, db, api_settings, resident, change):
    token = links.data_token(api_settings, resident["id"])
    if change == "altered":
        token = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    elif change == "other_resident_forged":
        # Someone else's id signed with a key that is not the server's.
        token = URLSafeTimedSerializer("guessed-key", salt=links.SALT).dumps({"rid": resident["id"]})
    elif change == "other_salt":
        # A genuine signature for another purpose (the mini-program's resident token).
        token = URLSafeTimedSerializer(api_settings.signing_keys, salt="gongzhi.resident-token").dumps(
            {"rid": resident["id"]}
        )
    else:
        token = "x" * 300

    response = client.get(_path(token))

    assert response.status_code == 404
    assert "oPage_me" not in response.get_data(as_text=True)
    with db.session() as s:
        assert privacy.entries(s, "privacy.export") == []


def test_an_erased_residents_link_is_404(client, db, api_settings, resident):
    from core.privacy.erasure import erase_resident

    token = links.data_token(api_settings, resident["id"])
    with db.session() as s:
        erase_resident(s, resident["id"])
        s.commit()

    assert client.get(_path(token)).status_code == 404
    assert api.count(db, Resident) == 1
