"""A job that keeps failing is retried with backoff, then ends in rq's failed registry."""

from __future__ import annotations

import pytest
import redis
from rq import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import select

from core.glossary import PhotoStatus
from core.models import Photo
from tests.support.processes import wait_until
from tests.support.wechat_sender import reply_text

pytestmark = [pytest.mark.real_services]


def test_a_failing_job_is_retried_then_lands_in_the_failed_registry(app, wechat, settings, fake_wechat, start_worker):
    fake_wechat.fail_next(100, errcode=-1, path="/cgi-bin/media/get")  # WeChat "system busy", every time
    start_worker(settings)
    wechat.image("oRetry_1", "media-busy")
    wechat.location("oRetry_1", 31.77, 117.30, "方兴大道")
    assert reply_text(wechat.text("oRetry_1", "提交")).startswith("提交成功")

    connection = redis.Redis.from_url(settings.redis_url)
    registry = FailedJobRegistry(queue=Queue("media", connection=connection))
    [job_id] = wait_until(lambda: registry.get_job_ids(), timeout=30, what="the job to end in the failed registry")
    assert job_id.startswith("outbox-")
    tries = len(fake_wechat.calls("/cgi-bin/media/get"))
    assert tries == 1 + len(settings.job_retry_intervals)
    with app.extensions["gongzhi"].database.session() as s:
        assert s.scalar(select(Photo)).status == PhotoStatus.PENDING  # nothing half-stored
