"""In the chat: the notice is linked in the welcome and help, a report is taken only after 「同意」, and asked again."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from core.models import Case, CaseEvent, PrivacyConsent, ReportDraft, Resident
from core.services.catalogue import load_catalogue
from core.services.checkpoints import scene_for
from tests.support import factories
from tests.support.wechat_sender import WeChatSender, reply_text

ME = "oResident_privacy"


@pytest.fixture
def db(app):
    return app.extensions["gongzhi"].database


@pytest.fixture
def catalogue(db, settings):
    with db.session() as s:
        load_catalogue(s, settings.catalogue_file)
        s.commit()


def _sender(client, settings) -> WeChatSender:
    """A resident who says exactly what the test says: no 「同意」 sent for them."""
    sender = WeChatSender.for_settings(client, settings)
    sender.agree = False
    return sender


@pytest.fixture
def chat(client, settings) -> WeChatSender:
    return _sender(client, settings)


def count(db, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def draft_is_empty(db) -> bool:
    with db.session() as s:
        draft = s.scalar(select(ReportDraft))
        return draft is None or not {k: v for k, v in draft.report.items() if v not in (None, "", [], False)}


def consents(db) -> list[tuple[str, list[str], str]]:
    with db.session() as s:
        rows = s.scalars(select(PrivacyConsent).order_by(PrivacyConsent.id))
        return [(row.version, row.scopes, row.channel) for row in rows]


def test_the_welcome_and_the_help_link_the_notice(chat, settings):
    url = f"{settings.public_base_url}/privacy"
    welcome = reply_text(chat.event(ME, "subscribe"))
    assert url in welcome and "回复「同意」" in welcome
    assert url in reply_text(chat.text(ME, "帮助"))
    assert url in reply_text(chat.event(ME, "CLICK", EventKey="HELP"))


@pytest.mark.parametrize(
    "send",
    [
        lambda chat: chat.image(ME, "m-1"),
        lambda chat: chat.location(ME, 31.8, 117.3, "方兴大道"),
        lambda chat: chat.text(ME, "小区东门的路灯不亮了"),
    ],
    ids=["photo", "location", "description"],
)
def test_before_agreeing_nothing_of_a_report_is_kept(chat, db, settings, catalogue, send):
    reply = reply_text(send(chat))
    assert reply.startswith("上报前，请先阅读《个人信息保护说明》") and f"{settings.public_base_url}/privacy" in reply
    assert draft_is_empty(db) and count(db, PrivacyConsent) == 0
    assert reply_text(chat.text(ME, "提交")).startswith("还没有要提交的内容")
    assert count(db, Case) == 0


def test_a_scanned_sign_asks_first_too(chat, db, settings):
    with db.session() as s:
        scene = scene_for(settings, factories.gate_checkpoint(s))
    reply = reply_text(chat.event(ME, "subscribe", EventKey=f"qrscene_{scene}", Ticket="t"))
    assert reply.startswith("欢迎关注！上报前，请先阅读") and draft_is_empty(db)


def test_agreeing_records_the_version_and_the_position_scope_then_a_report_is_taken(chat, db, catalogue):
    assert reply_text(chat.text(ME, "同意")).startswith("已记录您的同意（说明版本 2026-12）")
    assert consents(db) == [("2026-12", ["location"], "wechat")]
    chat.image(ME, "m-1")
    chat.location(ME, 31.8, 117.3, "方兴大道")
    chat.text(ME, "路灯不亮了")
    assert reply_text(chat.text(ME, "提交")).startswith("提交成功")
    with db.session() as s:
        event = s.scalar(select(CaseEvent).where(CaseEvent.action == "report"))
        assert event.data["privacy"] == {"version": "2026-12", "scopes": ["location"]}
    assert reply_text(chat.text(ME, "同意")).startswith("已记录") and count(db, PrivacyConsent) == 1  # nothing new


def test_a_new_notice_asks_again_even_for_a_draft_begun_before(db, catalogue, settings, make_app):
    old = _sender(make_app(settings).test_client(), settings)
    old.text(ME, "同意")
    old.image(ME, "m-1")
    old.location(ME, 31.8, 117.3, "方兴大道")
    newer_settings = settings.replace(privacy_notice_version="2027-03")
    new = _sender(make_app(newer_settings).test_client(), newer_settings)
    assert "2027-03" in reply_text(new.text(ME, "提交"))
    assert reply_text(new.image(ME, "m-2")).startswith("上报前，请先阅读《个人信息保护说明》（2027-03 版）")
    assert count(db, Case) == 0
    new.text(ME, "同意")
    assert reply_text(new.text(ME, "提交")).startswith("提交成功")
    assert consents(db)[-1] == ("2027-03", ["location"], "wechat")


def test_withdrawing_ends_the_position_consent_and_the_draft(chat, db, catalogue):
    assert reply_text(chat.text(ME, "撤回同意")) == "您目前没有给出需要撤回的同意。"
    chat.text(ME, "同意")
    chat.location(ME, 31.8, 117.3, "方兴大道")
    assert reply_text(chat.text(ME, "撤回同意")).startswith("已撤回")
    assert consents(db)[-1] == ("2026-12", [], "wechat") and draft_is_empty(db)
    assert reply_text(chat.location(ME, 31.8, 117.3)).startswith("上报前，请先阅读")


def test_the_periodic_position_of_a_resident_is_kept_only_with_consent(chat, db):
    chat.event(ME, "LOCATION", Latitude=31.8, Longitude=117.3, Precision=30)
    with db.session() as s:
        assert s.scalar(select(Resident.last_lat).where(Resident.openid == ME)) is None
    chat.text(ME, "同意")
    chat.event(ME, "LOCATION", Latitude=31.8, Longitude=117.3, Precision=30, create_time=int(time.time()) + 5)
    with db.session() as s:
        assert s.scalar(select(Resident.last_lat).where(Resident.openid == ME)) == pytest.approx(31.8)
