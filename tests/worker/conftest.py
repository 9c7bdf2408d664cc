"""Shared by the job tests: a runtime that points the jobs at the test database, Redis and fake WeChat."""

from __future__ import annotations

import pytest

from worker import runtime
from worker.runtime import Runtime


@pytest.fixture
def job_runtime(settings, clean_database, redis_client, fake_wechat):
    """The runtime jobs in this process use, talking to `fake_wechat`; removed after the test."""
    settings = settings.replace(wechat_api_base=fake_wechat.base_url)
    runtime.install(Runtime(settings=settings, database=clean_database, redis=redis_client))
    yield runtime.current()
    runtime.install(None)  # type: ignore[arg-type]
