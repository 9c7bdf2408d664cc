"""The embedded default: with no REDIS_URL, jobs run on a background thread of the app process."""

from __future__ import annotations

import threading

from sqlalchemy import select

from core.glossary import PhotoStatus, Role
from core.models import Photo
from tests.support import factories, images
from tests.support.processes import wait_until
from tests.support.wechat_sender import WeChatSender, reply_text
from worker.embedded import ThreadDispatcher


def test_jobs_run_off_the_request_thread_without_redis(settings, clean_database, fake_wechat, make_app):
    settings = settings.replace(redis_url=None, wechat_api_base=fake_wechat.base_url)
    app = make_app(settings)
    dispatcher = app.extensions["gongzhi"].dispatcher
    assert isinstance(dispatcher, ThreadDispatcher)
    client = app.test_client()
    wechat = WeChatSender(client, settings.wechat_token)
    fake_wechat.add_media("embedded-1", images.photo_with_exif(1200, 900), "image/jpeg")
    with clean_database.session() as s:
        factories.staff(s, "center", Role.DISTRICT_CENTER)
        s.commit()

    wechat.image("oEmbedded_1", "embedded-1")
    wechat.location("oEmbedded_1", 31.77, 117.30, "方兴大道")
    number = reply_text(wechat.text("oEmbedded_1", "提交")).split("案件编号 ")[1].split("。")[0]

    def ready():
        with clean_database.session() as s:
            photo = s.scalar(select(Photo))
            return photo.status == PhotoStatus.READY

    wait_until(ready, timeout=20, what="the embedded runner to process the photo")
    token = client.post("/api/v1/staff/token", json={"username": "center", "password": factories.PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    client.post(f"/api/v1/staff/cases/{number}/actions", json={"action": "accept"}, headers=headers)
    [message] = wait_until(
        lambda: fake_wechat.calls("/cgi-bin/message/custom/send"), timeout=20, what="the acceptance message"
    )
    assert number in message.json["text"]["content"]
    assert dispatcher.wait_idle(10)
    workers = [t for t in threading.enumerate() if t.name == "embedded-jobs"]
    assert workers and workers[0] is not threading.current_thread()


def test_a_failing_job_waits_its_turn_without_holding_up_the_others(settings, clean_database, fake_wechat, make_app):
    settings = settings.replace(redis_url=None, wechat_api_base=fake_wechat.base_url, job_retry_intervals=(30,))
    app = make_app(settings)
    wechat = WeChatSender(app.test_client(), settings.wechat_token)
    fake_wechat.add_media("later-ok", images.small_png(), "image/png")
    fake_wechat.fail_next(1, errcode=-1, path="/cgi-bin/media/get")  # the first photo's first try fails

    for openid, media in [("oFirst", "first-photo"), ("oSecond", "later-ok")]:
        wechat.image(openid, media)
        wechat.location(openid, 31.77, 117.30, "方兴大道")
        wechat.text(openid, "提交")

    def second_ready():
        with clean_database.session() as s:
            return s.scalar(select(Photo).where(Photo.wechat_media_id == "later-ok")).status == PhotoStatus.READY

    wait_until(second_ready, timeout=10, what="the second photo while the first waits for its retry")
    with clean_database.session() as s:
        assert s.scalar(select(Photo).where(Photo.wechat_media_id == "first-photo")).status == PhotoStatus.PENDING
