"""Voice and video attachments: fetched once, stored as they came, failed for good when WeChat lost them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.glossary import PhotoStatus
from core.models import Attachment
from tests.support import factories
from tests.support.storage import store_of
from worker.jobs.attachments import fetch_attachment


def attachment(session, settings, media_id: str, kind: str = "voice", fmt: str = "amr") -> Attachment:
    case = factories.case(session, settings)
    item = Attachment(case_id=case.id, kind=kind, wechat_media_id=media_id, format=fmt)
    session.add(item)
    session.commit()
    return item


@pytest.mark.each_store
def test_a_voice_message_is_stored_once(session, job_runtime, fake_wechat):
    audio = b"#!AMR\n" + bytes(range(256)) * 10
    fake_wechat.add_media("voice-1", audio, "audio/amr")
    item = attachment(session, job_runtime.settings, "voice-1")
    assert fetch_attachment(item.id) == "ready"
    assert fetch_attachment(item.id) == "ready"
    assert len(fake_wechat.calls("/cgi-bin/media/get")) == 1
    session.expire_all()
    stored = session.get(Attachment, item.id)
    assert stored.path.endswith(".amr") and stored.size == len(audio)
    assert store_of(job_runtime.settings).read(stored.path) == audio


def test_a_video_and_a_lost_one(session, job_runtime, fake_wechat):
    fake_wechat.add_media("video-1", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100, "video/mp4")
    good = attachment(session, job_runtime.settings, "video-1", kind="video", fmt="video/mp4")
    lost = attachment(session, job_runtime.settings, "video-gone", kind="video", fmt="video/mp4")
    assert fetch_attachment(good.id) == "ready"
    assert fetch_attachment(lost.id) == "failed"
    session.expire_all()
    assert session.get(Attachment, good.id).path.endswith(".mp4")
    assert session.scalar(select(Attachment).where(Attachment.id == lost.id)).status == PhotoStatus.FAILED
