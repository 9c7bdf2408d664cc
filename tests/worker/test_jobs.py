"""The photo jobs, run in this process against the fake WeChat API: idempotent, visible when failed.

The notification job has its own tests in test_notify.py; `job_runtime` lives in conftest.py.
"""

from __future__ import annotations

from core.glossary import PhotoStatus
from core.models import Photo
from tests.support import factories, images
from worker.jobs.photos import fetch_photo


def new_photo(session, settings, media_id):
    case = factories.case(session, settings)
    photo = Photo(case_id=case.id, wechat_media_id=media_id)
    session.add(photo)
    session.commit()
    return photo


def test_an_expired_media_id_fails_for_good_without_retry(session, job_runtime):
    photo = new_photo(session, job_runtime.settings, "never-uploaded")
    assert fetch_photo(photo.id) == "failed"
    session.expire_all()
    assert session.get(Photo, photo.id).status == PhotoStatus.FAILED
    assert "40007" in session.get(Photo, photo.id).error


def test_a_broken_image_fails_with_a_reason_and_a_ready_photo_is_left_alone(session, job_runtime, fake_wechat):
    fake_wechat.add_media("broken", images.truncated_jpeg(), "image/jpeg")
    fake_wechat.add_media("good", images.small_png(), "image/png")
    broken = new_photo(session, job_runtime.settings, "broken")
    good = new_photo(session, job_runtime.settings, "good")
    assert fetch_photo(broken.id) == "failed"
    assert fetch_photo(good.id) == "ready"
    assert fetch_photo(good.id) == "ready"
    assert len(fake_wechat.calls("/cgi-bin/media/get")) == 2  # the second run of `good` fetched nothing
    session.expire_all()
    assert session.get(Photo, broken.id).error == "图片已损坏或不是图片"
