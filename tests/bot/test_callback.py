"""The /wechat callback: verification, signatures, bad bodies, and the report dialogue."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from core.models import Case, OutboxMessage, Photo, ReportDraft, Resident
from tests.support.wechat_sender import build, reply_text, sample

RESIDENT = "oResident_test_0001"


def count(database, model) -> int:
    with database.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_get_answers_echostr_only_with_a_valid_signature(client, wechat):
    ok = client.get("/wechat", query_string=wechat.query(echostr="4387621"))
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "4387621"
    bad = client.get("/wechat", query_string=wechat.query(echostr="4387621", token="not-the-token"))
    assert bad.status_code == 403 and "4387621" not in bad.get_data(as_text=True)


def test_wrong_signature_is_403_and_stores_nothing(app, wechat, redis_client):
    response = wechat.post(sample("text"), token="forged")
    assert response.status_code == 403
    response = wechat.post(build("text", RESIDENT, Content="提交"), token="forged")
    assert response.status_code == 403
    database = app.extensions["gongzhi"].database
    assert count(database, Case) == 0 and count(database, Resident) == 0
    assert count(database, ReportDraft) == 0


def test_stale_timestamp_is_refused(wechat):
    response = wechat.post(sample("text"), timestamp=int(time.time()) - 3600)
    assert response.status_code == 403


def test_malformed_hostile_and_empty_bodies_are_400_and_store_nothing(app, wechat, redis_client):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>'
        "<xml><ToUserName>t</ToUserName><FromUserName>f</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>text</MsgType><Content>&b;</Content><MsgId>1</MsgId></xml>"
    )
    for body in ["<xml><MsgType>text</", "", "not xml at all", bomb, "<xml><Content>no type</Content></xml>"]:
        response = wechat.post(body)
        assert response.status_code == 400, body
    assert wechat.post(b"<xml>" + b"a" * (1024 * 1024 + 10) + b"</xml>").status_code == 413
    database = app.extensions["gongzhi"].database
    assert count(database, Case) == 0 and count(database, Resident) == 0 and count(database, ReportDraft) == 0


def test_subscribe_is_welcomed(wechat):
    response = wechat.post(sample("event_subscribe"))
    assert response.status_code == 200
    assert "欢迎关注" in reply_text(response)


def test_image_location_text_and_submit_make_one_case(app, wechat):
    assert "已收到照片（共 1 张）" in reply_text(wechat.image(RESIDENT, "media-1"))
    assert "已收到照片（共 2 张）" in reply_text(wechat.image(RESIDENT, "media-2"))
    assert "方兴大道" in reply_text(wechat.location(RESIDENT, 31.771203, 117.305512, "合肥市包河区方兴大道"))
    assert "已记录问题描述" in reply_text(wechat.text(RESIDENT, "小区东门的路灯不亮了"))

    submit = build("text", RESIDENT, Content="提交")
    first = reply_text(wechat.post(submit))
    assert first.startswith("提交成功！案件编号 GZ")
    number = first.split("案件编号 ")[1].split("。")[0]

    # WeChat retries a slow message with the same MsgId: the same answer, no second case.
    assert reply_text(wechat.post(submit)) == first

    with app.extensions["gongzhi"].database.session() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        assert case.description == "小区东门的路灯不亮了"
        assert (case.lat, case.lng, case.coord_system.value) == (31.771203, 117.305512, "gcj02")
        assert case.reporter.openid == RESIDENT
        assert [p.wechat_media_id for p in s.scalars(select(Photo).order_by(Photo.id))] == ["media-1", "media-2"]
        topics = sorted(m.topic for m in s.scalars(select(OutboxMessage)))
        assert topics == ["photo.fetch", "photo.fetch"]
        assert s.scalar(select(func.count()).select_from(Case)) == 1


def test_submit_without_location_says_what_is_missing(app, wechat):
    wechat.image(RESIDENT, "media-1")
    wechat.text(RESIDENT, "楼道里堆满了杂物")
    reply = reply_text(wechat.text(RESIDENT, "提交"))
    assert "还不能提交" in reply and "位置" in reply
    assert count(app.extensions["gongzhi"].database, Case) == 0


def test_a_retried_draft_message_is_counted_once(wechat):
    body = build("image", RESIDENT, PicUrl="http://x/0", MediaId="media-9")
    first = reply_text(wechat.post(body))
    again = reply_text(wechat.post(body))
    assert first == again and "共 1 张" in again


SAMPLES = ["text", "image", "location", "voice", "event_subscribe", "event_scan", "event_location", "event_click"]


@pytest.mark.parametrize("name", SAMPLES)
def test_every_documented_callback_body_is_answered(wechat, name):
    first = wechat.post(sample(name))
    assert first.status_code == 200
    body = first.get_data(as_text=True)
    assert body == "success" or reply_text(first)
    if name == "event_location":
        assert body == "success"  # WeChat wants nothing else for the periodic location report
    again = wechat.post(sample(name))
    # The same answer (its CreateTime may have ticked over to the next second).
    assert (again.get_data(as_text=True) == "success") == (body == "success")
    assert body == "success" or reply_text(again) == reply_text(first)
