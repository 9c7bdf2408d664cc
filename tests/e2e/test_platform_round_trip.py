"""The platform hand-off end to end: a second process plays the district's platform.

A resident reports in WeChat, the center accepts, a real worker process pushes the case to the
platform — which is not even listening at first, then answers 503 once — and the platform, once
it has the case exactly once, reports its moves back (one out of order) over HTTP to the app
served on a real socket. The resident is told in WeChat at every move.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time

import pytest
import redis
from PIL import Image
from rq import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import select

from core.glossary import CaseStatus, PhotoStatus, Role
from core.models import Case, Photo, PlatformPush
from core.settings import PROJECT_ROOT
from tests.fakes.platform_server import PlatformRemote
from tests.support import factories, images
from tests.support.browser import LiveServer
from tests.support.console import console_login, csrf_token, table_rows
from tests.support.processes import _accepts, free_port, settings_env, wait_until
from tests.support.wechat_sender import reply_text

pytestmark = [pytest.mark.real_services]

RESIDENT = "oResident_platform_01"
SECRET = "round-trip-platform-secret"
CUSTOM = "/cgi-bin/message/custom/send"


@pytest.fixture
def platform_port() -> int:
    return free_port()


@pytest.fixture
def settings(settings, platform_port):
    return settings.replace(
        platform_url=f"http://127.0.0.1:{platform_port}/cases",
        platform_secret=SECRET,
        job_retry_intervals=(1, 2, 2, 2, 2),
    )


@pytest.fixture
def start_platform(settings, platform_port, tmp_path):
    """Start `python -m tests.fakes.platform_server` on the port PLATFORM_URL names; stopped after the test."""
    started: list[subprocess.Popen] = []

    def start(app_url: str, fail_first: int = 0) -> PlatformRemote:
        log = open(tmp_path / "platform.log", "wb")  # noqa: SIM115 - open for the process's lifetime
        args = ["--port", str(platform_port), "--secret", SECRET, "--app-url", app_url, "--fail-first", str(fail_first)]
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.platform_server", *args],
            cwd=PROJECT_ROOT,
            env=settings_env(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        wait_until(lambda: _accepts(platform_port), timeout=15, what="the fake platform to listen")
        return PlatformRemote(f"http://127.0.0.1:{platform_port}")

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def photo_ready(database) -> bool:
    with database.session() as s:
        return s.scalar(select(Photo.status)) == PhotoStatus.READY


def the_push(database) -> PlatformPush | None:
    with database.session() as s:
        return s.scalar(select(PlatformPush))


def test_a_case_goes_to_the_platform_and_its_moves_come_back_to_the_resident(
    app, client, wechat, settings, fake_wechat, start_worker, start_platform
):
    database = app.extensions["gongzhi"].database
    fake_wechat.add_media("media-platform-1", images.photo_with_exif(800, 600), "image/jpeg")
    start_worker(settings)

    wechat.image(RESIDENT, "media-platform-1")
    wechat.location(RESIDENT, 31.771203, 117.305512, "合肥市包河区方兴大道")
    wechat.text(RESIDENT, "小区东门有一堆建筑垃圾")
    reply = reply_text(wechat.text(RESIDENT, "提交"))
    number = reply.split("案件编号 ")[1].split("。")[0]

    wait_until(lambda: photo_ready(database), timeout=30, what="the worker to process the photo")
    created = app.test_cli_runner().invoke(
        args=["staff", "create", "--username", "center", "--password", "desk-pass-2026", "--role", "district_center"]
    )
    assert created.exit_code == 0, created.output
    token = client.post("/api/v1/staff/token", json={"username": "center", "password": "desk-pass-2026"})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    accepted = client.post(f"/api/v1/staff/cases/{number}/actions", json={"action": "accept"}, headers=headers)
    assert accepted.status_code == 200, accepted.get_json()

    # The platform is down: nothing listens on its port, and the worker records the failed try.
    down = wait_until(
        lambda: (p := the_push(database)) is not None and p.last_error and p, timeout=30, what="a failed first try"
    )
    assert down.status == "pending" and "无法连接对接平台" in down.last_error

    with LiveServer(app) as server:
        # Back up, but answering 503 to the first push it sees; the retries get through.
        platform = start_platform(server.url, fail_first=1)
        sent = wait_until(
            lambda: (p := the_push(database)) is not None and p.status == "sent" and p, timeout=60, what="the push"
        )
        time.sleep(2.5)  # a doubled push would come from a second job or a retry after success
        state = platform.state()
        answers = [a["answer"] for a in state["attempts"]]
        assert answers == [503, 200]
        assert all(a["signed"] and a["fresh"] and a["key"] == f"{number}:accepted" for a in state["attempts"])
        assert list(state["cases"]) == [f"{number}:accepted"]  # received exactly once for its key
        pushed = state["cases"][f"{number}:accepted"]
        assert pushed["number"] == number and pushed["description"] == "小区东门有一堆建筑垃圾"
        assert pushed["location"]["coord_system"] == "gcj02" and pushed["accepted_at"].endswith("+08:00")
        assert sent.external_id == "PF-000001" and sent.attempts >= 3 and sent.last_error is None
        [photo] = pushed["photos"]  # the processed photo, by a signed link the platform can open
        served = client.get(photo["url"].removeprefix(settings.public_base_url))
        assert served.status_code == 200 and served.mimetype == "image/jpeg"
        assert len(Image.open(io.BytesIO(served.data)).getexif()) == 0  # no EXIF, no GPS

        # The platform's moves come back; the handling (2) arrives before the dispatch (1).
        def event(seq, action, **fields):
            return {
                "event_id": f"pf-{number}-{seq}",
                "case_number": number,
                "sequence": seq,
                "action": action,
                **fields,
            }

        early = platform.send_event(event(2, "handle", note="建筑垃圾已清运"))
        assert early["status"] == 200 and early["body"]["status"] == "pending", early
        late = platform.send_event(event(1, "dispatch", assignee="张师傅", department="方兴社区环卫组"))
        assert late["status"] == 200 and late["body"]["case_status"] == "handled", late
        assert [p["status"] for p in late["body"]["processed"]] == ["applied", "applied"]
        verify = platform.send_event(event(3, "verify", passed=True, note="现场已核实"))
        close = platform.send_event(event(4, "close", note="办结"))
        assert verify["body"]["status"] == close["body"]["status"] == "applied", (verify, close)
        again = platform.send_event(event(4, "close", note="办结"))
        assert again["status"] == 200 and again["body"]["status"] == "duplicate"

    with database.session() as s:
        assert s.scalar(select(Case.status).where(Case.number == number)) == CaseStatus.CLOSED

    def told():
        return [c.json["text"]["content"] for c in fake_wechat.calls(CUSTOM) if c.json["touser"] == RESIDENT]

    labels = ["已受理", "处理中", "已处置", "已核查", "已办结"]
    wait_until(lambda: len(told()) >= len(labels), timeout=30, what="the resident's messages")
    time.sleep(1.5)  # a doubled message would come from a retried job or a second relay
    messages = told()
    # One message per move (the notify jobs may finish in either order).
    assert sorted(label for text in messages for label in labels if f"状态：{label}" in text) == sorted(labels)
    assert len(messages) == len(labels) and all(number in text for text in messages)


def test_a_push_that_never_gets_through_is_failed_visibly_and_retried_from_the_console(
    make_app, settings, start_worker, start_platform
):
    settings = settings.replace(job_retry_intervals=(1, 1))
    app = make_app(settings)
    client = app.test_client()
    database = app.extensions["gongzhi"].database
    with database.session() as s:
        number = factories.case(s, settings, reporter=factories.resident(s)).number
        factories.staff(s, "center", Role.DISTRICT_CENTER)
        s.commit()
    start_worker(settings)
    token = client.post("/api/v1/staff/token", json={"username": "center", "password": factories.PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    accepted = client.post(f"/api/v1/staff/cases/{number}/actions", json={"action": "accept"}, headers=headers)
    assert accepted.status_code == 200, accepted.get_json()

    failed = wait_until(
        lambda: (p := the_push(database)) is not None and p.status == "failed" and p,
        timeout=30,
        what="the push to fail",
    )
    assert failed.attempts == 3 and "无法连接对接平台" in failed.last_error  # 1 + len(JOB_RETRY_INTERVALS) tries
    registry = FailedJobRegistry(queue=Queue("default", connection=redis.Redis.from_url(settings.redis_url)))
    wait_until(registry.get_job_ids, timeout=10, what="the job in rq's failed registry")

    console_login(client, "center")
    page = client.get("/console/platform").get_data(as_text=True)
    [row] = table_rows(page, "pushes")[1:]
    assert row[:3] == [number, "失败", "3 次"] and "无法连接对接平台" in row[3]

    platform = start_platform("http://127.0.0.1:9")
    retried = client.post(
        f"/console/platform/pushes/{failed.id}/retry", data={"csrf_token": csrf_token(client, "/console/platform")}
    )
    assert retried.status_code == 303
    sent = wait_until(
        lambda: (p := the_push(database)) is not None and p.status == "sent" and p, timeout=30, what="the retried push"
    )
    assert sent.attempts == 4 and list(platform.state()["cases"]) == [f"{number}:accepted"]
    assert "没有失败或等待中的推送" in client.get("/console/platform").get_data(as_text=True)
