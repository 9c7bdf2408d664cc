"""The console's 任务 page: each worker's last heartbeat, a warning when one is silent, and the outbox backlog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rq import Worker
from rq.utils import utcformat

from core.glossary import Role
from core.models import OutboxMessage
from core.models.base import utcnow
from tests.support import factories
from tests.support.console import console_login, table_rows
from worker.lanes import FORKED_QUEUES, IN_PROCESS_QUEUES
from worker.runtime import JOB_SERIALIZER

real_redis = pytest.mark.real_services("redis")


@pytest.fixture
def center(app, client):
    with app.extensions["gongzhi"].database.session() as s:
        factories.grid_tree(s)
        factories.staff(s, "center", Role.DISTRICT_CENTER)
        s.commit()
    console_login(client, "center")
    return client


def registered(redis, name: str, queues: tuple[str, ...], beat_ago: timedelta | None = None) -> Worker:
    """A worker registered in Redis as rq registers one; its last heartbeat `beat_ago` ago."""
    worker = Worker(list(queues), connection=redis, name=name, serializer=JOB_SERIALIZER)
    worker.register_birth()
    if beat_ago is not None:
        redis.hset(worker.key, "last_heartbeat", utcformat(datetime.now(UTC) - beat_ago))
    return worker


@real_redis
def test_living_workers_are_listed_with_their_last_heartbeat_and_no_warning(center, redis_client):
    registered(redis_client, "web1-main", IN_PROCESS_QUEUES)
    registered(redis_client, "web1-main-media", FORKED_QUEUES)
    html = center.get("/console/jobs").get_data(as_text=True)
    rows = table_rows(html, "worker-table")
    assert sorted(row[0] for row in rows[1:]) == ["web1-main", "web1-main-media"]
    assert all(row[3] == "空闲" and "秒前" in row[4] for row in rows[1:]), rows
    assert "没有心跳，可能已停止" not in html and "没有在运行的后台进程" not in html


@real_redis
def test_a_silent_worker_is_warned_about_in_chinese(center, redis_client):
    registered(redis_client, "alive", IN_PROCESS_QUEUES)
    registered(redis_client, "stuck-media", FORKED_QUEUES, beat_ago=timedelta(minutes=10))
    html = center.get("/console/jobs").get_data(as_text=True)
    assert "有 1 个后台进程超过 120 秒没有心跳，可能已停止或卡住" in html
    stuck = next(row for row in table_rows(html, "worker-table") if row[0] == "stuck-media")
    assert stuck[3] == "无心跳" and stuck[4].startswith("10 分钟前")


@real_redis
def test_no_worker_at_all_is_warned_about(center):
    html = center.get("/console/jobs").get_data(as_text=True)
    assert "没有在运行的后台进程（worker）" in html


def test_the_outbox_backlog_is_shown_and_a_stuck_one_warned_about(app, center):
    html = center.get("/console/jobs").get_data(as_text=True)
    assert "待转交队列的任务（发件箱）：0 条" in html
    with app.extensions["gongzhi"].database.session() as s:
        s.add(OutboxMessage(topic="test.nothing", payload={}, created_at=utcnow() - timedelta(minutes=12)))
        s.add(OutboxMessage(topic="test.nothing", payload={}))
        s.commit()
    html = center.get("/console/jobs").get_data(as_text=True)
    assert "待转交队列的任务（发件箱）：2 条，最早的已等待 12 分钟，转交可能已停滞" in html
