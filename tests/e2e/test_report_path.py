"""One resident report, the whole way on PostgreSQL, Redis and a real rq worker process."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from core.glossary import PhotoStatus
from core.models import Case, Photo
from tests.support import images
from tests.support.processes import wait_until
from tests.support.wechat_sender import reply_text

pytestmark = [pytest.mark.real_services]

RESIDENT = "oResident_e2e_0001"


def photos_of(database, number: str) -> list[Photo]:
    with database.session() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        return list(s.scalars(select(Photo).where(Photo.case_id == case.id)))


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_a_wechat_report_is_stored_processed_accepted_and_the_resident_told(
    app, client, wechat, settings, fake_wechat, start_worker, mode
):
    fake_wechat.add_media("media-e2e-1", images.photo_with_exif(3000, 2000, orientation=6), "image/jpeg")
    start_worker(settings)

    wechat.image(RESIDENT, "media-e2e-1")
    wechat.location(RESIDENT, 31.771203, 117.305512, "合肥市包河区方兴大道")
    wechat.text(RESIDENT, "小区东门的路灯不亮了")
    reply = reply_text(wechat.text(RESIDENT, "提交"))
    assert reply.startswith("提交成功！案件编号 GZ"), reply
    number = reply.split("案件编号 ")[1].split("。")[0]

    database = app.extensions["gongzhi"].database
    [photo] = wait_until(
        lambda: [p for p in photos_of(database, number) if p.status != PhotoStatus.PENDING],
        timeout=30,
        what="the worker to process the photo",
    )
    assert photo.status == PhotoStatus.READY, photo.error
    stored = Image.open(Path(settings.media_dir) / photo.path)
    assert stored.format == "JPEG" and stored.size == (1365, 2048)  # upright (EXIF orientation 6), long side 2048
    assert len(stored.getexif()) == 0 and b"TestPhone" not in (Path(settings.media_dir) / photo.path).read_bytes()
    thumb = Image.open(io.BytesIO((Path(settings.media_dir) / photo.thumb_path).read_bytes()))
    assert max(thumb.size) == 320
    assert [c.query["media_id"] for c in fake_wechat.calls("/cgi-bin/media/get")] == ["media-e2e-1"]

    created = app.test_cli_runner().invoke(
        args=["staff", "create", "--username", "center", "--password", "desk-pass-2026", "--role", "district_center"]
    )
    assert created.exit_code == 0, created.output
    token = client.post("/api/v1/staff/token", json={"username": "center", "password": "desk-pass-2026"})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    accepted = client.post(
        f"/api/v1/staff/cases/{number}/actions", json={"action": "accept", "note": "已核实"}, headers=headers
    )
    assert accepted.status_code == 200, accepted.get_json()

    def messages_to_resident():
        return [c for c in fake_wechat.calls("/cgi-bin/message/custom/send") if c.json["touser"] == RESIDENT]

    [message] = wait_until(messages_to_resident, timeout=30, what="the acceptance message")
    content = message.json["text"]["content"]
    assert message.json["msgtype"] == "text"
    assert number in content and "已受理" in content
    time.sleep(1.5)  # a duplicate would come from a second relay or a retried job
    assert len(messages_to_resident()) == 1
