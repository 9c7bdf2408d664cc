"""Mini-program users are told by subscribe message while they have quota; else by the official account."""

from __future__ import annotations

from sqlalchemy import select

from core.models import Resident, SubscribeConsent
from core.services.consents import consents_of, record_consents
from tests.support.notify import TEMPLATE, TEMPLATES, accepted_case_event, configure, notes
from worker.jobs.notify import notify_case_event

SUBSCRIBE = "/cgi-bin/message/subscribe/send"
MINI_TEMPLATES = (("default", "MP_PROGRESS"),)


def mini_user(session, mini_openid, *, openid=None, follower=False):
    resident = Resident(mini_openid=mini_openid, openid=openid, is_follower=follower)
    session.add(resident)
    session.flush()
    return resident


def setup(job_runtime, fake_wechat):
    settings = job_runtime.settings
    fake_wechat.apps[settings.wechat_mini_app_id] = settings.wechat_mini_app_secret
    return configure(job_runtime, wechat_mini_status_templates=MINI_TEMPLATES, wechat_status_templates=TEMPLATES)


def test_a_subscribe_message_uses_one_allowed_send(session, job_runtime, fake_wechat):
    rt = setup(job_runtime, fake_wechat)
    resident = mini_user(session, "oMini_1")
    record_consents(session, resident, {"MP_PROGRESS": "accept", "MP_OTHER": "reject"})
    record_consents(session, resident, {"MP_PROGRESS": "accept"})
    case, event = accepted_case_event(session, rt.settings, [resident])
    assert notify_case_event(event.id) == 1
    assert notify_case_event(event.id) == 0
    [call] = fake_wechat.calls(SUBSCRIBE)
    assert call.json["touser"] == "oMini_1" and call.json["template_id"] == "MP_PROGRESS"
    assert call.json["data"]["character_string1"]["value"] == case.number
    assert call.json["data"]["phrase2"]["value"] == "已受理"
    assert call.json["page"].endswith(f"?number={case.number}")
    session.expire_all()
    assert [(c.template_id, c.remaining) for c in consents_of(session, resident)] == [("MP_PROGRESS", 1)]
    assert [(n.channel, n.status.value) for n in notes(session)] == [("mp_subscribe", "sent")]


def test_without_quota_a_follower_gets_the_accounts_template_message(session, job_runtime, fake_wechat):
    rt = setup(job_runtime, fake_wechat)
    resident = mini_user(session, "oMini_2", openid="oOfficial_2", follower=True)
    _, event = accepted_case_event(session, rt.settings, [resident])
    assert notify_case_event(event.id) == 1
    assert fake_wechat.calls(SUBSCRIBE) == []
    [call] = fake_wechat.calls(TEMPLATE)
    assert call.json["touser"] == "oOfficial_2"


def test_without_quota_and_without_the_account_it_is_recorded_not_sent(session, job_runtime, fake_wechat):
    rt = setup(job_runtime, fake_wechat)
    resident = mini_user(session, "oMini_3")
    _, event = accepted_case_event(session, rt.settings, [resident])
    assert notify_case_event(event.id) == 0
    assert fake_wechat.calls() == []
    [note] = notes(session)
    assert note.status.value == "failed" and "次数已用完" in note.error


def test_a_refused_subscribe_message_is_final(session, job_runtime, fake_wechat):
    rt = setup(job_runtime, fake_wechat)
    resident = mini_user(session, "oMini_4")
    record_consents(session, resident, {"MP_PROGRESS": "accept"})
    _, event = accepted_case_event(session, rt.settings, [resident])
    fake_wechat.fail_next(1, errcode=43101, path=SUBSCRIBE)
    assert notify_case_event(event.id) == 0
    assert notify_case_event(event.id) == 0
    assert len(fake_wechat.calls(SUBSCRIBE)) == 1
    [note] = notes(session)
    assert note.status.value == "failed" and "未订阅" in note.error
    session.expire_all()
    assert session.scalar(select(SubscribeConsent.remaining)) == 0
