"""The console's failed-jobs page: a job that really failed in rq is shown with its error and retried."""

from __future__ import annotations

import re
import time

import pytest
from rq import Queue, SimpleWorker

from core.glossary import Role
from tests.support import factories
from tests.support.console import console_login, csrf_token
from worker.runtime import JOB_SERIALIZER

# The app uses rq only with a real Redis.
real_redis = pytest.mark.real_services("redis")


def explode(place: str) -> None:
    """A job that always fails, the way a call to an outside platform does."""
    raise RuntimeError(f"平台接口超时：{place}")


@pytest.fixture
def people(app):
    with app.extensions["gongzhi"].database.session() as s:
        factories.grid_tree(s)
        factories.staff(s, "center", Role.DISTRICT_CENTER)
        factories.staff(s, "street", Role.STREET_CENTER, "S")
        s.commit()


def fail(redis, queue_name: str, place: str) -> str:
    """Enqueue `explode` on the real queue and let a burst worker run it, so it fails for good."""
    queue = Queue(queue_name, connection=redis, serializer=JOB_SERIALIZER)
    job = queue.enqueue(explode, place, failure_ttl=3600)
    SimpleWorker([queue], connection=redis, serializer=JOB_SERIALIZER).work(burst=True, with_scheduler=False)
    assert job.id in queue.failed_job_registry
    return job.id


@real_redis
def test_a_failed_job_shows_its_error_and_a_retry_puts_it_back_on_its_queue(client, people, redis_client):
    job_id = fail(redis_client, "notify", "东门")
    console_login(client, "center")
    page = client.get("/console/jobs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    article = re.search(rf'<article class="job" data-job="{job_id}">.*?</article>', html, re.S)[0]
    assert '<span class="badge">notify</span>' in article
    assert "tests.web.staff.test_console_jobs.explode" in article
    assert '<p class="error">RuntimeError: 平台接口超时：东门</p>' in article
    assert "&#39;东门&#39;" in article  # the arguments, escaped
    details = re.search(r"<details><summary>完整错误信息</summary><pre>(.*?)</pre></details>", article, re.S)[1]
    assert "Traceback" in details and "in explode" in details

    token = csrf_token(client, "/console/jobs")
    refused = client.post("/console/jobs/retry", data={"queue": "notify", "job_id": job_id})
    assert refused.status_code == 400  # no CSRF token: nothing happens
    assert job_id in Queue("notify", connection=redis_client).failed_job_registry
    retried = client.post("/console/jobs/retry", data={"csrf_token": token, "queue": "notify", "job_id": job_id})
    assert retried.status_code == 303
    queue = Queue("notify", connection=redis_client)
    assert job_id in queue.job_ids and job_id not in queue.failed_job_registry
    after = client.get("/console/jobs").get_data(as_text=True)
    assert f"任务 {job_id} 已重新排队" in after and "没有失败的任务" in after

    again = client.post("/console/jobs/retry", data={"csrf_token": token, "queue": "notify", "job_id": job_id})
    assert "已不在失败列表中" in client.get(again.headers["Location"]).get_data(as_text=True)
    unknown = client.post("/console/jobs/retry", data={"csrf_token": token, "queue": "nope", "job_id": job_id})
    assert unknown.status_code == 404


@real_redis
def test_retry_all_puts_back_the_failed_jobs_of_every_queue(client, people, redis_client, monkeypatch):
    monkeypatch.setattr("web.staff.console.jobs.PER_QUEUE", 1)  # the list shows the newest of each queue
    ids = {fail(redis_client, "notify", "一号楼"): "notify", fail(redis_client, "media", "二号楼"): "media"}
    time.sleep(1.05)  # rq orders a failed registry by expiry in whole seconds: make this one the newest
    ids[fail(redis_client, "notify", "三号楼")] = "notify"
    console_login(client, "center")
    html = client.get("/console/jobs").get_data(as_text=True)
    assert "全部重试（3 个）" in html and "共 3 个，这里列出每个队列最新的 1 个" in html
    assert "一号楼" not in html and html.index("三号楼") < html.index("二号楼")  # the newest failure first
    response = client.post("/console/jobs/retry", data={"csrf_token": csrf_token(client, "/console/jobs"), "all": "1"})
    assert response.status_code == 303
    for job_id, name in ids.items():
        queue = Queue(name, connection=redis_client)
        assert job_id in queue.job_ids and queue.failed_job_registry.count == 0
    assert "已将 3 个失败任务重新排队" in client.get("/console/jobs").get_data(as_text=True)


def test_only_the_district_center_sees_the_jobs(client, people, redis_client):
    assert client.get("/console/jobs").status_code == 303  # not signed in
    console_login(client, "street")
    assert client.get("/console/jobs").status_code == 403
    token = csrf_token(client, "/console/login")
    refused = client.post("/console/jobs/retry", data={"csrf_token": token, "all": "1"})
    assert refused.status_code == 403


def test_without_redis_the_page_says_jobs_run_in_the_app(make_app, settings):
    app = make_app(settings.replace(redis_url=None))
    with app.extensions["gongzhi"].database.session() as s:
        factories.staff(s, "center", Role.DISTRICT_CENTER)
        s.commit()
    client = app.test_client()
    console_login(client, "center")
    page = client.get("/console/jobs")
    assert page.status_code == 200 and "内置模式" in page.get_data(as_text=True)


def test_with_redis_down_the_page_says_so_instead_of_failing(make_app, settings):
    app = make_app(settings.replace(redis_url="redis://127.0.0.1:1/0"))  # nothing listens on port 1
    with app.extensions["gongzhi"].database.session() as s:
        factories.staff(s, "center", Role.DISTRICT_CENTER)
        s.commit()
    client = app.test_client()
    console_login(client, "center")
    page = client.get("/console/jobs")
    assert page.status_code == 503 and "暂时无法连接任务队列" in page.get_data(as_text=True)
    token = csrf_token(client, "/console/login")
    retried = client.post("/console/jobs/retry", data={"csrf_token": token, "all": "1"})
    assert retried.status_code == 303
    assert "暂时无法连接任务队列（Redis），请稍后再试" in client.get("/console/jobs").get_data(as_text=True)
