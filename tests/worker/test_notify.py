"""The notification job against the fake WeChat API: one message per (event, resident), on the right channel."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from core import case_loop
from core.glossary import CaseStatus, NotificationStatus
from core.models import Notification
from core.models.base import utcnow
from tests.support import factories
from tests.support.notify import CUSTOM, TEMPLATE, TEMPLATES, accepted_case_event, configure, notes
from worker import runtime
from worker.jobs.notify import notify_case_event


def person(session, openid, *, follower=True, wrote_ago=timedelta(hours=1), unfollowed=False):
    """A resident who follows the account (or not) and last wrote to it `wrote_ago` ago (None: never)."""
    resident = factories.resident(session, openid)
    resident.is_follower = follower
    resident.last_message_at = utcnow() - wrote_ago if wrote_ago is not None else None
    resident.unfollowed_at = utcnow() - timedelta(minutes=5) if unfollowed else None
    session.flush()
    return resident


# --- customer-service messages (no templates configured) ----------------------------------------


def test_each_follower_is_told_once_however_often_the_job_runs(session, job_runtime, fake_wechat):
    people = [person(session, "oFollower_1"), person(session, "oFollower_2")]
    case, event = accepted_case_event(session, job_runtime.settings, people)
    assert notify_case_event(event.id) == 2
    assert notify_case_event(event.id) == 0
    sends = fake_wechat.calls(CUSTOM)
    assert sorted(c.json["touser"] for c in sends) == ["oFollower_1", "oFollower_2"]
    assert all(case.number in c.json["text"]["content"] and "已受理" in c.json["text"]["content"] for c in sends)
    assert [n.status for n in notes(session)] == [NotificationStatus.SENT, NotificationStatus.SENT]


def test_a_failed_send_is_retried_and_sent_once(session, job_runtime, fake_wechat):
    _, event = accepted_case_event(session, job_runtime.settings, [person(session, "oFollower_1")])
    fake_wechat.fail_next(1, errcode=-1, path=CUSTOM)
    with pytest.raises(Exception):  # noqa: B017 - whatever WeChat raised, rq retries the job
        notify_case_event(event.id)
    [note] = notes(session)
    assert note.status == NotificationStatus.PENDING and note.error
    assert notify_case_event(event.id) == 1
    assert len([c for c in fake_wechat.calls(CUSTOM) if c.errcode in (None, 0)]) == 1


def test_a_send_interrupted_by_a_dead_worker_is_not_repeated(session, job_runtime, fake_wechat):
    _, event = accepted_case_event(session, job_runtime.settings, [person(session, "oFollower_1")])
    session.add(
        Notification(
            event_id=event.id,
            resident_id=event.case.reporter.id,
            channel="oa_custom",
            status=NotificationStatus.SENDING,
            content="…",
        )
    )
    session.commit()
    assert notify_case_event(event.id) == 0
    assert fake_wechat.calls(CUSTOM) == []
    assert [n.status for n in notes(session)] == [NotificationStatus.FAILED]


def test_a_resident_out_of_reach_is_recorded_not_retried(session, job_runtime, fake_wechat):
    _, event = accepted_case_event(session, job_runtime.settings, [person(session, "oFollower_1")])
    fake_wechat.fail_next(1, errcode=45015, path=CUSTOM)
    assert notify_case_event(event.id) == 0
    assert notify_case_event(event.id) == 0  # a rerun does not try again
    assert len(fake_wechat.calls(CUSTOM)) == 1
    [note] = notes(session)
    assert note.status == NotificationStatus.FAILED and "48 小时" in note.error


def test_a_send_that_timed_out_is_not_sent_again(session, job_runtime, fake_wechat):
    rt = configure(job_runtime, wechat_timeout_seconds=0.3)
    _, event = accepted_case_event(session, rt.settings, [person(session, "oFollower_1")])
    fake_wechat.fail_next(1, delay=1.0, path=CUSTOM)
    assert notify_case_event(event.id) == 0
    assert notify_case_event(event.id) == 0
    assert len(fake_wechat.calls(CUSTOM)) == 1
    assert [n.status for n in notes(session)] == [NotificationStatus.FAILED]


# --- choosing the channel (templates configured) -------------------------------------------------


def test_a_follower_gets_exactly_one_template_message_with_the_standard_fields(session, job_runtime, fake_wechat):
    rt = configure(job_runtime, wechat_status_templates=TEMPLATES)
    case, event = accepted_case_event(session, rt.settings, [person(session, "oFollower_1")])
    assert notify_case_event(event.id) == 1
    assert fake_wechat.calls(CUSTOM) == []  # a template instead, not as well
    [call] = fake_wechat.calls(TEMPLATE)
    local = event.created_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert call.json["touser"] == "oFollower_1"
    assert call.json["template_id"] == "TPL_PROGRESS"  # "accepted" is not named: the default
    assert call.json["data"] == {
        "first": {"value": "您反映的问题有新进展"},
        "keyword1": {"value": case.number},
        "keyword2": {"value": "已受理"},
        "keyword3": {"value": local.strftime("%Y-%m-%d %H:%M")},
        "remark": {"value": "您反映的问题已受理，我们会尽快安排处理。"},
    }
    [note] = notes(session)
    assert (note.channel, note.status) == ("oa_template", NotificationStatus.SENT)
    # The msgid WeChat answered is kept, so its delivery receipt finds this row.
    assert note.wechat_msgid and note.wechat_msgid.isdigit()


def test_the_template_named_for_the_status_is_used(session, job_runtime, fake_wechat):
    rt = configure(job_runtime, wechat_status_templates=TEMPLATES)
    case = factories.case(session, rt.settings, reporter=person(session, "oFollower_1"), status=CaseStatus.VERIFIED)
    event = case_loop.transition(session, case, CaseStatus.CLOSED, action="close")
    session.commit()
    assert notify_case_event(event.id) == 1
    [call] = fake_wechat.calls(TEMPLATE)
    assert call.json["template_id"] == "TPL_CLOSED"
    assert call.json["data"]["keyword2"] == {"value": "已办结"}


def test_a_non_follower_who_wrote_within_48_hours_gets_a_customer_service_message(session, job_runtime, fake_wechat):
    rt = configure(job_runtime, wechat_status_templates=TEMPLATES)
    resident = person(session, "oVisitor", follower=False, wrote_ago=timedelta(hours=47))
    _, event = accepted_case_event(session, rt.settings, [resident])
    assert notify_case_event(event.id) == 1
    assert fake_wechat.calls(TEMPLATE) == []
    [call] = fake_wechat.calls(CUSTOM)
    assert call.json["touser"] == "oVisitor"
    assert [(n.channel, n.status) for n in notes(session)] == [("oa_custom", NotificationStatus.SENT)]


def test_a_non_follower_silent_for_3_days_is_recorded_as_unreachable(session, job_runtime, fake_wechat):
    rt = configure(job_runtime, wechat_status_templates=TEMPLATES)
    resident = person(session, "oSilent", follower=False, wrote_ago=timedelta(days=3))
    _, event = accepted_case_event(session, rt.settings, [resident])
    assert notify_case_event(event.id) == 0
    assert notify_case_event(event.id) == 0  # not retried either
    assert fake_wechat.calls() == []  # not even a token was asked for
    [note] = notes(session)
    assert (note.channel, note.status, note.attempts) == ("oa_custom", NotificationStatus.FAILED, 0)
    assert note.error == "超过 48 小时未互动，且未关注公众号，无法送达"


def test_a_follower_silent_for_3_days_without_a_template_is_recorded_as_unreachable(session, job_runtime, fake_wechat):
    resident = person(session, "oQuiet", wrote_ago=timedelta(days=3))
    _, event = accepted_case_event(session, job_runtime.settings, [resident])  # no templates configured
    assert notify_case_event(event.id) == 0
    assert fake_wechat.calls() == []
    [note] = notes(session)
    assert note.status == NotificationStatus.FAILED and "未配置模板消息" in note.error


def test_an_unfollowed_resident_gets_no_template_message(session, job_runtime, fake_wechat):
    rt = configure(job_runtime, wechat_status_templates=TEMPLATES)
    gone = person(session, "oGone", follower=False, unfollowed=True, wrote_ago=timedelta(hours=1))
    _, event = accepted_case_event(session, rt.settings, [gone, person(session, "oStays")])
    assert notify_case_event(event.id) == 1
    assert [c.json["touser"] for c in fake_wechat.calls(TEMPLATE)] == ["oStays"]
    assert fake_wechat.calls(CUSTOM) == []  # WeChat refuses those after an unfollow too (43004)
    by_resident = {n.resident_id: n for n in notes(session)}
    assert by_resident[gone.id].status == NotificationStatus.FAILED
    assert "取消关注" in by_resident[gone.id].error


def test_rerunning_the_job_sends_nothing_more(session, job_runtime, fake_wechat):
    rt = configure(job_runtime, wechat_status_templates=TEMPLATES)
    people = [person(session, "oFollower_1"), person(session, "oVisitor", follower=False)]
    _, event = accepted_case_event(session, rt.settings, people)
    assert notify_case_event(event.id) == 2
    assert notify_case_event(event.id) == 0
    assert notify_case_event(event.id) == 0
    assert len(fake_wechat.calls(TEMPLATE)) == 1 and len(fake_wechat.calls(CUSTOM)) == 1
    assert len(notes(session)) == 2


def test_a_rerun_keeps_the_first_channel_whatever_changed(session, job_runtime, fake_wechat):
    rt = configure(job_runtime, wechat_status_templates=TEMPLATES)
    resident = person(session, "oLate", follower=False, wrote_ago=timedelta(days=3))
    _, event = accepted_case_event(session, rt.settings, [resident])
    assert notify_case_event(event.id) == 0  # unreachable, recorded
    resident.is_follower = True  # follows afterwards: the event is still told once, and it was
    session.commit()
    assert notify_case_event(event.id) == 0
    assert fake_wechat.calls(TEMPLATE) == [] and fake_wechat.calls(CUSTOM) == []
    assert len(notes(session)) == 1


def test_a_failed_template_send_is_retried_by_rerunning_and_sent_once(session, job_runtime, fake_wechat):
    rt = configure(job_runtime, wechat_status_templates=TEMPLATES)
    _, event = accepted_case_event(session, rt.settings, [person(session, "oFollower_1")])
    fake_wechat.fail_next(1, errcode=-1, path=TEMPLATE)
    with pytest.raises(Exception):  # noqa: B017 - whatever WeChat raised, rq retries the job
        notify_case_event(event.id)
    [note] = notes(session)
    assert (note.channel, note.status, note.wechat_msgid) == ("oa_template", NotificationStatus.PENDING, None)
    assert notify_case_event(event.id) == 1
    assert notify_case_event(event.id) == 0
    assert [c.errcode for c in fake_wechat.calls(TEMPLATE)] == [-1, 0]
    assert fake_wechat.calls(CUSTOM) == []
    [note] = notes(session)
    assert note.status == NotificationStatus.SENT and note.attempts == 2 and note.wechat_msgid


def test_two_runs_of_the_job_at_once_send_each_message_once(session, job_runtime, fake_wechat):
    """rq retries a job it believes abandoned; if its first run was only slow, both run together."""
    import threading

    people = [person(session, f"oTwice_{n}") for n in range(6)]
    _, event = accepted_case_event(session, job_runtime.settings, people)
    fake_wechat.fail_next(1, delay=0.5, path=CUSTOM)  # the first send is slow, so the runs overlap
    barrier = threading.Barrier(2)

    def run():
        runtime.install(job_runtime)
        barrier.wait()
        notify_case_event(event.id)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    told = [call.json["touser"] for call in fake_wechat.calls(CUSTOM)]
    assert sorted(told) == sorted(p.openid for p in people)  # each exactly once
    assert {n.status for n in notes(session)} == {NotificationStatus.SENT}


def test_only_the_reporter_is_invited_to_answer_or_rate_a_closed_case(session, job_runtime, fake_wechat):
    reporter, follower = person(session, "oReporter_1"), person(session, "oFollower_1")
    case, _ = accepted_case_event(session, job_runtime.settings, [reporter, follower])
    for to in (CaseStatus.DISPATCHED, CaseStatus.HANDLED, CaseStatus.VERIFIED):
        case_loop.transition(session, case, to, action=to.value)
    closed = case_loop.transition(session, case, CaseStatus.CLOSED, action="close")
    session.commit()

    assert notify_case_event(closed.id) == 2

    told = {c.json["touser"]: c.json["text"]["content"] for c in fake_wechat.calls(CUSTOM)}
    assert "已办结" in told["oReporter_1"] and "未解决" in told["oReporter_1"] and "评分" in told["oReporter_1"]
    assert "已办结" in told["oFollower_1"] and case.number in told["oFollower_1"]
    assert "未解决" not in told["oFollower_1"] and "评分" not in told["oFollower_1"]
    # The record of what was sent holds each one's own wording.
    contents = {n.resident_id: n.content for n in notes(session)}
    assert contents == {reporter.id: told["oReporter_1"], follower.id: told["oFollower_1"]}
