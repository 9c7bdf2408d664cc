"""Redis unreachable during intake: every report is stored and answered, and its jobs run once Redis is back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.glossary import PhotoStatus, Role
from core.models import Case, OutboxMessage, Photo
from tests.support import factories, images
from tests.support.processes import PrivateRedis, wait_until
from tests.support.wechat_sender import WeChatSender, reply_text

pytestmark = [pytest.mark.real_services]


@pytest.fixture
def private_redis():
    server = PrivateRedis().start()
    yield server
    server.stop()


def test_reports_survive_a_redis_outage(settings, clean_database, fake_wechat, private_redis, start_worker, make_app):
    settings = settings.replace(redis_url=private_redis.url)
    app = make_app(settings)
    client = app.test_client()
    wechat = WeChatSender(client, settings.wechat_token)
    with clean_database.session() as s:
        factories.staff(s, "center", Role.DISTRICT_CENTER)
        s.commit()
    fake_wechat.add_media("outage-photo", images.small_png(), "image/png")

    private_redis.stop()  # Redis is now unreachable

    numbers = []
    for n, resident in enumerate(["oOutage_1", "oOutage_2"]):
        if n == 0:
            assert "共 1 张" in reply_text(wechat.image(resident, "outage-photo"))
        wechat.location(resident, 31.77, 117.30, "方兴大道")
        wechat.text(resident, f"第 {n + 1} 个问题")
        reply = reply_text(wechat.text(resident, "提交"))
        assert reply.startswith("提交成功！案件编号 GZ"), reply
        numbers.append(reply.split("案件编号 ")[1].split("。")[0])

    token = client.post("/api/v1/staff/token", json={"username": "center", "password": factories.PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    accepted = client.post(f"/api/v1/staff/cases/{numbers[1]}/actions", json={"action": "accept"}, headers=headers)
    assert accepted.status_code == 200

    with clean_database.session() as s:
        assert sorted(s.scalars(select(Case.number))) == sorted(numbers)
        pending = s.scalars(select(OutboxMessage).where(OutboxMessage.relayed_at.is_(None))).all()
        # Accepting also queues the push to the district's platform (a no-op without PLATFORM_URL).
        assert sorted(m.topic for m in pending) == ["case.platform_push", "case.status_changed", "photo.fetch"]

    private_redis.start()  # back, and empty: whatever it held before is gone
    start_worker(settings)

    def photo_done():
        with clean_database.session() as s:
            photo = s.scalar(select(Photo))
            return photo if photo.status != PhotoStatus.PENDING else None

    assert wait_until(photo_done, timeout=30, what="the photo job after the outage").status == PhotoStatus.READY
    [message] = wait_until(
        lambda: fake_wechat.calls("/cgi-bin/message/custom/send"),
        timeout=30,
        what="the acceptance message after the outage",
    )
    assert message.json["touser"] == "oOutage_2" and numbers[1] in message.json["text"]["content"]
    with clean_database.session() as s:
        assert s.scalars(select(OutboxMessage).where(OutboxMessage.relayed_at.is_(None))).all() == []
