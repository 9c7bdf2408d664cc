"""Real `python -m worker` processes sweep deadlines on their own and tell the assignee once."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.models import Case, StaffUser
from core.models.base import utcnow
from tests.support.factories import dispatched_case
from tests.support.processes import wait_until

pytestmark = [pytest.mark.real_services]

CUSTOM = "/cgi-bin/message/custom/send"


def test_two_workers_sweep_on_their_own_and_the_assignee_is_told_once(
    session, settings, redis_client, fake_wechat, start_worker
):
    case, _ = dispatched_case(session, settings)
    session.scalar(select(StaffUser).where(StaffUser.username == "wang")).openid = "oStaff_wang"
    case.deadline_at = utcnow() - timedelta(minutes=1)  # past its time limit
    session.commit()

    fast = settings.replace(deadline_sweep_seconds=1)
    start_worker(fast, name="first")
    start_worker(fast, name="second")

    def told():
        return [c.json["text"]["content"] for c in fake_wechat.calls(CUSTOM)]

    wait_until(lambda: any(t.startswith("已超时") for t in told()), timeout=45, what="the overdue message")
    time.sleep(3)  # a few more sweeps by both workers
    messages = told()
    assert sum(t.startswith("已超时") for t in messages) == 1
    assert sum(t.startswith("新派遣") for t in messages) == 1
    session.expire_all()
    assert session.get(Case, case.id).overdue_at is not None
