"""The jobs, run in this process against the fake WeChat API: idempotent, retry-safe, visible when failed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core import case_loop
from core.glossary import CaseStatus, NotificationStatus, PhotoStatus
from core.models import Notification, Photo
from tests import factories, images
from worker import runtime
from worker.jobs.notify import notify_case_event
from worker.jobs.photos import fetch_photo
from worker.runtime import Runtime


@pytest.fixture
def job_runtime(settings, clean_database, redis_client, fake_wechat):
    settings = settings.replace(wechat_api_base=fake_wechat.base_url)
    runtime.install(Runtime(settings=settings, database=clean_database, redis=redis_client))
    yield runtime.current()
    runtime.install(None)  # type: ignore[arg-type]


def accepted_case_event(session, settings, followers=("oFollower_1",)):
    people = [factories.resident(session, openid) for openid in followers]
    case = factories.case(session, settings, reporter=people[0])
    for person in people[1:]:
        case.followers.append(person)
    event = case_loop.transition(session, case, CaseStatus.ACCEPTED, action="accept")
    session.commit()
    return case, event


def sends(fake_wechat):
    return fake_wechat.calls("/cgi-bin/message/custom/send")


def test_each_follower_is_told_once_however_often_the_job_runs(session, job_runtime, fake_wechat):
    case, event = accepted_case_event(session, job_runtime.settings, ("oFollower_1", "oFollower_2"))
    assert notify_case_event(event.id) == 2
    assert notify_case_event(event.id) == 0
    assert sorted(c.json["touser"] for c in sends(fake_wechat)) == ["oFollower_1", "oFollower_2"]
    assert all(
        case.number in c.json["text"]["content"] and "已受理" in c.json["text"]["content"] for c in sends(fake_wechat)
    )
    statuses = session.scalars(select(Notification.status)).all()
    assert statuses == [NotificationStatus.SENT, NotificationStatus.SENT]


def test_a_failed_send_is_retried_and_sent_once(session, job_runtime, fake_wechat):
    _, event = accepted_case_event(session, job_runtime.settings)
    fake_wechat.fail_next(1, errcode=-1, path="/cgi-bin/message/custom/send")
    with pytest.raises(Exception):  # noqa: B017 - whatever WeChat raised, rq retries the job
        notify_case_event(event.id)
    session.expire_all()
    note = session.scalar(select(Notification))
    assert note.status == NotificationStatus.PENDING and note.error
    assert notify_case_event(event.id) == 1
    delivered = [c for c in sends(fake_wechat) if c.errcode in (None, 0)]
    assert len(delivered) == 1


def test_a_send_interrupted_by_a_dead_worker_is_not_repeated(session, job_runtime, fake_wechat):
    _, event = accepted_case_event(session, job_runtime.settings)
    resident = event.case.reporter
    session.add(
        Notification(
            event_id=event.id,
            resident_id=resident.id,
            channel="oa_custom",
            status=NotificationStatus.SENDING,
            content="…",
        )
    )
    session.commit()
    assert notify_case_event(event.id) == 0
    assert sends(fake_wechat) == []
    session.expire_all()
    assert session.scalar(select(Notification)).status == NotificationStatus.FAILED


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


def test_a_resident_out_of_reach_is_recorded_not_retried(session, job_runtime, fake_wechat):
    _, event = accepted_case_event(session, job_runtime.settings)
    fake_wechat.fail_next(1, errcode=45015, path="/cgi-bin/message/custom/send")
    assert notify_case_event(event.id) == 0
    assert notify_case_event(event.id) == 0  # a rerun does not try again
    assert len(sends(fake_wechat)) == 1
    session.expire_all()
    note = session.scalar(select(Notification))
    assert note.status == NotificationStatus.FAILED and "48 小时" in note.error


def test_a_send_that_timed_out_is_not_sent_again(session, job_runtime, fake_wechat):
    settings = job_runtime.settings.replace(wechat_timeout_seconds=0.3)
    runtime.install(Runtime(settings=settings, database=job_runtime.database, redis=job_runtime.redis))
    _, event = accepted_case_event(session, settings)
    fake_wechat.fail_next(1, delay=1.0, path="/cgi-bin/message/custom/send")
    assert notify_case_event(event.id) == 0
    assert notify_case_event(event.id) == 0
    assert len(sends(fake_wechat)) == 1
    session.expire_all()
    assert session.scalar(select(Notification)).status == NotificationStatus.FAILED
