"""The staff messages (新派遣 / 即将超时 / 已超时) against the fake WeChat API: once each, to a bound openid."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from wechatpy.exceptions import WeChatClientException

from core import outbox
from core.models import OutboxMessage, StaffUser
from core.services import deadlines
from tests.support.factories import dispatched_case
from worker import runtime
from worker.jobs.deadlines import notify_assigned, notify_deadline_warning, notify_overdue, sweep_deadlines
from worker.runtime import Runtime

CUSTOM = "/cgi-bin/message/custom/send"


def payloads(session, topic):
    session.expire_all()
    return [m.payload for m in session.scalars(select(OutboxMessage).where(OutboxMessage.topic == topic))]


def texts(fake_wechat):
    return [(c.json["touser"], c.json["text"]["content"]) for c in fake_wechat.calls(CUSTOM)]


def bind(session, username, openid):
    staff = session.scalar(select(StaffUser).where(StaffUser.username == username))
    staff.openid = openid
    session.commit()


def test_a_bound_assignee_is_told_of_the_dispatch_the_warning_and_the_overdue_once_each(
    session, settings, job_runtime, fake_wechat
):
    case, _ = dispatched_case(session, settings)
    bind(session, "wang", "oStaff_wang")

    [assigned] = payloads(session, outbox.CASE_ASSIGNED)
    assert notify_assigned(**assigned) is True
    assert notify_assigned(**assigned) is False  # a rerun of the job sends nothing

    deadlines.sweep(session, case.deadline_at - timedelta(hours=2))
    session.commit()
    [warning] = payloads(session, outbox.CASE_DEADLINE_WARNING)
    assert notify_deadline_warning(**warning) is True
    assert notify_deadline_warning(**warning) is False

    deadlines.sweep(session, case.deadline_at)
    session.commit()
    [overdue] = payloads(session, outbox.CASE_OVERDUE)
    assert notify_overdue(**overdue) is True
    assert notify_overdue(**overdue) is False

    sent = texts(fake_wechat)
    assert [openid for openid, _ in sent] == ["oStaff_wang"] * 3
    assert sent[0][1].startswith(f"新派遣：案件 {case.number}（路灯），时限 ")
    assert sent[1][1].startswith(f"即将超时：案件 {case.number}")
    assert sent[2][1].startswith(f"已超时：案件 {case.number}")


def test_an_unbound_assignee_gets_nothing_and_nothing_fails(session, settings, job_runtime, fake_wechat):
    case, _ = dispatched_case(session, settings)
    [assigned] = payloads(session, outbox.CASE_ASSIGNED)
    deadlines.sweep(session, case.deadline_at)
    session.commit()
    [overdue] = payloads(session, outbox.CASE_OVERDUE)
    assert notify_assigned(**assigned) is False
    assert notify_overdue(**overdue) is False
    assert fake_wechat.calls(CUSTOM) == []


def test_a_failed_send_is_retried_and_then_sent_once(session, settings, job_runtime, fake_wechat):
    case, _ = dispatched_case(session, settings)
    bind(session, "wang", "oStaff_wang")
    deadlines.sweep(session, case.deadline_at - timedelta(hours=1))
    session.commit()
    [warning] = payloads(session, outbox.CASE_DEADLINE_WARNING)
    fake_wechat.fail_next(errcode=45009, path=CUSTOM)  # a passing refusal: rq tries again
    with pytest.raises(WeChatClientException):
        notify_deadline_warning(**warning)
    assert notify_deadline_warning(**warning) is True
    assert notify_deadline_warning(**warning) is False
    assert len([c for c in fake_wechat.calls(CUSTOM) if c.errcode in (0, None)]) == 1


def test_a_warning_for_a_case_handled_meanwhile_is_not_sent(session, settings, job_runtime, fake_wechat):
    from core import case_loop
    from core.glossary import CaseStatus

    case, _ = dispatched_case(session, settings)
    bind(session, "wang", "oStaff_wang")
    deadlines.sweep(session, case.deadline_at - timedelta(hours=1))
    case_loop.transition(session, case, CaseStatus.HANDLED, action="handle")
    session.commit()
    [warning] = payloads(session, outbox.CASE_DEADLINE_WARNING)
    assert notify_deadline_warning(**warning) is False
    assert fake_wechat.calls(CUSTOM) == []


def test_the_sweep_job_runs_once_per_interval_across_workers(session, settings, job_runtime):
    case, _ = dispatched_case(session, settings, hours=1)
    case.deadline_at = case.deadline_at - timedelta(hours=2)  # long past
    session.commit()
    # A long interval, so that both calls surely fall in one.
    runtime.install(
        Runtime(
            settings=settings.replace(deadline_sweep_seconds=10**6),
            database=job_runtime.database,
            redis=job_runtime.redis,
        )
    )
    first = sweep_deadlines()
    second = sweep_deadlines()  # another worker's copy in the same interval
    assert first == {"warned": [], "overdue": [case.id]} or second == {"warned": [], "overdue": [case.id]}
    assert None in (first, second)
