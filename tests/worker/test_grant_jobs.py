"""Grant messages against the fake WeChat API: the applicant told once per event, reminders, late reports to staff."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.glossary import NotificationStatus, Role
from core.grants import applications, decisions, progress
from core.grants.terms import GrantStatus
from core.models import GrantEvent, Notification
from core.models.base import utcnow
from tests.support import factories
from tests.support import grants as gh
from worker.jobs.grants import notify_grant_event, notify_report_late, sweep_reports

CUSTOM = "/cgi-bin/message/custom/send"
TEMPLATE = "/cgi-bin/message/template/send"


def _applicant(session, openid="oApplicant_wx", *, wrote=True):
    resident = factories.resident(session, openid)
    resident.last_message_at = utcnow() - timedelta(hours=1) if wrote else None
    session.flush()
    return resident


def test_the_applicant_is_told_once_per_event_on_one_channel(session, job_runtime, fake_wechat):
    grant_round = gh.open_round(session)
    application = gh.application(session, grant_round, resident=_applicant(session))
    event = applications.submit(session, application)
    session.commit()
    assert notify_grant_event(event.id) is True
    assert notify_grant_event(event.id) is False  # a rerun sends nothing more
    [call] = fake_wechat.calls(CUSTOM)
    assert call.json["touser"] == "oApplicant_wx"
    assert "桂花园楼道清洁行动" in call.json["text"]["content"] and "已提交，等待评审" in call.json["text"]["content"]
    [note] = session.scalars(select(Notification)).all()
    assert (note.grant_event_id, note.event_id, note.status) == (event.id, None, NotificationStatus.SENT)


def test_a_template_message_goes_to_a_follower_when_one_is_configured(session, job_runtime, fake_wechat):
    from tests.support.notify import configure

    configure(job_runtime, wechat_status_templates=(("default", "TPL_GRANT"),))
    grant_round = gh.open_round(session)
    application = gh.application(session, grant_round, resident=_applicant(session, wrote=False))
    staff = gh.staff_user(session)
    applications.submit(session, application)
    event = applications.start_review(session, application, staff=staff)
    session.commit()
    assert notify_grant_event(event.id) is True
    [call] = fake_wechat.calls(TEMPLATE)
    assert call.json["template_id"] == "TPL_GRANT"
    assert call.json["data"]["keyword2"]["value"] == GrantStatus.IN_REVIEW.applicant_label


def test_an_unreachable_applicant_is_recorded_not_sent(session, job_runtime, fake_wechat):
    resident = _applicant(session, wrote=False)
    resident.is_follower = False
    grant_round = gh.open_round(session)
    event = applications.submit(session, gh.application(session, grant_round, resident=resident))
    session.commit()
    assert notify_grant_event(event.id) is False
    assert fake_wechat.calls(CUSTOM) == []
    [note] = session.scalars(select(Notification)).all()
    assert note.status == NotificationStatus.FAILED and note.error


def test_reminders_reach_the_applicant_and_late_reports_the_staff_who_opened_the_round(
    session, job_runtime, fake_wechat
):
    staff = factories.staff(session, "fx-fund", Role.DISTRICT_CENTER)
    staff.openid = "oStaff_fund"
    grant_round = gh.open_round(session, report_every_days=1, reports_due=0)
    grant_round.created_by_id = staff.id
    application = gh.at_status(
        session, gh.application(session, grant_round, resident=_applicant(session)), GrantStatus.IN_REVIEW
    )
    gh.decided(session, application, [gh.member(session, grant_round, "m1")], staff)
    decisions.publish(session, grant_round, staff=staff)
    session.commit()
    result = sweep_reports()  # due tomorrow: within the reminder window
    assert len(result["reminded"]) == 1 and result["late"] == []
    reminder = session.scalar(select(GrantEvent).where(GrantEvent.action == "remind"))
    assert notify_grant_event(reminder.id) is True
    assert "请于" in fake_wechat.calls(CUSTOM)[-1].json["text"]["content"]
    [report] = progress.reports(session, application.id)
    session.expire_all()
    swept = progress.sweep(session, report.due_on + timedelta(days=1))
    session.commit()
    assert swept.late == [report.id]
    assert notify_report_late(report.id, application.id) is True
    assert notify_report_late(report.id, application.id) is False  # once
    assert "进度报告逾期" in fake_wechat.calls(CUSTOM)[-1].json["text"]["content"]
    assert fake_wechat.calls(CUSTOM)[-1].json["touser"] == "oStaff_fund"


@pytest.mark.each_store
def test_a_grant_photo_is_cleaned_by_the_worker_once_and_a_broken_one_fails_leaving_nothing(session, job_runtime):
    from core.glossary import PhotoStatus
    from core.grants import files
    from core.models import GrantFile, OutboxMessage
    from media.storage import store_for
    from tests.support import images
    from worker.jobs.photos import process_grant_photo

    application = gh.application(session, gh.open_round(session))
    store = store_for(job_runtime.settings)
    good = store.put("uploads/good.jpg", images.photo_with_exif(640, 480))
    bad = store.put("uploads/bad.png", images.small_png()[:40])
    rows = files.add_photos(session, application.id, [(good, "a.jpg"), (bad, "b.png")])
    session.commit()
    topics = session.scalars(select(OutboxMessage.topic)).all()
    assert topics.count("grant.photo_process") == 2
    assert process_grant_photo(rows[0].id) == "ready"
    assert process_grant_photo(rows[0].id) == "ready"  # a retried job changes nothing
    assert process_grant_photo(rows[1].id) == "failed"
    session.expire_all()
    ready, failed = session.get(GrantFile, rows[0].id), session.get(GrantFile, rows[1].id)
    assert ready.status == PhotoStatus.READY and ready.upload_path is None
    assert b"Exif" not in store.read(ready.path)[:200]
    assert failed.status == PhotoStatus.FAILED and failed.error and failed.upload_path is None
    assert not store.exists(good) and not store.exists(bad)
