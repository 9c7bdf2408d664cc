"""The sign page asks the reporter to agree to the privacy notice, and records what they agreed to with the case."""

from __future__ import annotations

import io
import os
import re

import pytest
from sqlalchemy import func, select

from core.models import Case, CaseEvent, Photo, PrivacyConsent, Resident
from core.services.checkpoints import public_code
from tests.support import factories, images
from tests.support.scan import form_fields


@pytest.fixture
def db(app):
    return app.extensions["gongzhi"].database


@pytest.fixture
def code(db, settings) -> str:
    with db.session() as s:
        return public_code(settings, factories.gate_checkpoint(s))


def post(client, code, *, agree=True, **fields):
    data = form_fields(client.get(f"/q/{code}"), agree=agree) | {"description": "路灯不亮"} | fields
    data["photos"] = [(io.BytesIO(images.small_png()), "p.png")]
    return client.post(f"/q/{code}", data=data, content_type="multipart/form-data")


def count(db, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def intake_privacy(db) -> dict:
    with db.session() as s:
        return s.scalar(select(CaseEvent).where(CaseEvent.action == "report")).data["privacy"]


def test_the_box_and_the_notice_link_sit_beside_the_submit_button(client, code, settings):
    html = client.get(f"/q/{code}").get_data(as_text=True)
    box = html.index('id="privacy"')
    assert 'name="privacy_version" value="2026-12" required' in html
    link = re.search(r'id="privacy-link"\s+href="/privacy"', html)
    assert link and link.start() > box and html.index('id="submit"') > link.start()
    assert "精确位置属于敏感个人信息" in html  # said beside 「使用我当前的位置」


def test_without_the_box_ticked_nothing_is_stored(client, db, code, settings):
    response = post(client, code, agree=False)
    assert response.status_code == 400 and "请阅读并勾选同意《个人信息保护说明》" in response.get_data(as_text=True)
    assert count(db, Case) == 0 and count(db, Photo) == 0
    uploads = settings.media_dir + "/uploads"
    assert not os.path.exists(uploads) or os.listdir(uploads) == []


def test_a_box_ticked_under_an_older_notice_asks_again(client, db, code):
    response = post(client, code, privacy_version="2025-06")
    assert response.status_code == 400 and "已更新" in response.get_data(as_text=True)
    assert count(db, Case) == 0


def test_the_case_keeps_the_version_and_what_was_given(client, db, code):
    assert post(client, code, phone="").status_code == 303
    assert intake_privacy(db) == {"version": "2026-12", "scopes": []}
    fields = {"phone": "13800000000", "lat": "31.80012", "lng": "117.30034", "submission": "second-one"}
    assert post(client, code, **fields).status_code == 303
    with db.session() as s:
        events = s.scalars(select(CaseEvent).where(CaseEvent.action == "report").order_by(CaseEvent.id)).all()
        assert events[-1].data["privacy"] == {"version": "2026-12", "scopes": ["location", "phone"]}
    assert count(db, PrivacyConsent) == 0  # nobody known: the case holds the record


def test_a_resident_known_by_wechat_gets_a_consent_row(client, db, code):
    with client.session_transaction() as cookie:
        cookie["openid"] = "oScan_privacy_1"
    assert post(client, code, lat="31.8", lng="117.3").status_code == 303
    with db.session() as s:
        [row] = s.scalars(select(PrivacyConsent)).all()
        resident = s.get(Resident, row.resident_id)
        assert resident.openid == "oScan_privacy_1"
        assert (row.version, row.scopes, row.channel) == ("2026-12", ["location"], "scan")
