"""With WeChat unreachable, every error names what failed and never a credential: logs, job records, pages."""

from __future__ import annotations

import io
import logging
import time
import uuid

import pytest
import redis as redis_lib
from rq import Queue
from rq.registry import FailedJobRegistry

from core.glossary import Role
from tests.support import factories
from tests.support.console import console_login
from tests.support.processes import WorkerProcess, free_port, wait_until
from tests.support.wechat_sender import WeChatSender, reply_text
from wxclient.official import STORAGE_PREFIX, make_wechat_client

pytestmark = [pytest.mark.real_services, pytest.mark.slow]  # and a worker

RUN = uuid.uuid4().hex[:12]
SECRETS = {
    "SECRET_KEY": f"secret-key-{RUN}-0123456789abcdef",
    "WECHAT_APP_SECRET": f"app-secret-{RUN}",
    "WECHAT_MINI_APP_SECRET": f"mini-secret-{RUN}",
    "PLATFORM_SECRET": f"platform-secret-{RUN}",
    "access token": f"ACCESS-TOKEN-{RUN}",
    "js_code": f"JSCODE-{RUN}",
}


@pytest.fixture
def settings(settings):
    """Every WeChat call goes to a port nobody listens on; the credentials are ones we can search for."""
    return settings.replace(
        secret_key=SECRETS["SECRET_KEY"],
        wechat_app_secret=SECRETS["WECHAT_APP_SECRET"],
        wechat_mini_app_secret=SECRETS["WECHAT_MINI_APP_SECRET"],
        platform_secret=SECRETS["PLATFORM_SECRET"],
        wechat_api_base=f"http://127.0.0.1:{free_port()}/",
        wechat_timeout_seconds=1.0,
        wechat_max_retries=1,
        job_retry_intervals=(1,),
        relay_poll_seconds=0.5,
    )


@pytest.fixture
def everything_logged():
    """Every record of this process at DEBUG (urllib3 and requests included), as a handler would write it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def redis_contents(connection: redis_lib.Redis) -> str:
    """Every key and value of the test's Redis database, as text: rq's jobs, registries and results,
    rate limits, locks — all but the shared access token's own store, which is where it belongs."""
    parts = []
    for key in connection.scan_iter():
        if key.startswith(STORAGE_PREFIX.encode()) and b"access_token" in key:
            continue
        kind = connection.type(key).decode()
        if kind == "string":
            value = connection.get(key)
        elif kind == "hash":
            value = connection.hgetall(key)
        elif kind == "list":
            value = connection.lrange(key, 0, -1)
        elif kind == "set":
            value = connection.smembers(key)
        elif kind == "zset":
            value = connection.zrange(key, 0, -1)
        elif kind == "stream":
            value = connection.xrange(key)
        else:
            value = b""
        parts.append(f"{key!r} {value!r}")
    return "\n".join(parts)


def test_no_secret_reaches_a_log_a_job_record_a_page_or_an_answer(app, client, settings, everything_logged, tmp_path):
    context = app.extensions["gongzhi"]
    with context.database.session() as s:
        factories.grid_tree(s)
        factories.staff(s, "center", Role.DISTRICT_CENTER)
        s.commit()
    # A token the account already holds: the media download then carries it in its query string.
    official = make_wechat_client(settings, context.redis)
    official.session.set(official.access_token_key, SECRETS["access token"], 7200)
    official.session.set(official.access_token_expires_at_key, int(time.time()) + 7200, 7200)

    worker = WorkerProcess(settings, tmp_path / "worker.log")
    try:
        answers = []
        # The mini-program's sign-in: jscode2session carries the mini secret and the code in its URL.
        answers.append(client.post("/api/v1/session", json={"code": SECRETS["js_code"]}))
        assert answers[-1].status_code == 503
        # A photo through the chat: the worker's download fails and, after its retry, fails for good.
        wechat = WeChatSender.for_settings(client, settings)
        wechat.image("oSecret_resident", "media-unreachable")
        wechat.location("oSecret_resident", 31.77, 117.30, "方兴大道")
        assert reply_text(wechat.text("oSecret_resident", "提交")).startswith("提交成功")
        connection = redis_lib.Redis.from_url(settings.redis_url)
        failed = FailedJobRegistry(queue=Queue("media", connection=connection))
        wait_until(lambda: failed.get_job_ids(), timeout=60, what="the photo job to fail for good")
        console_login(client, "center")
        page = client.get("/console/jobs")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "WeChatTransportError" in html  # the failure is named …
    finally:
        worker.stop()

    places = {
        "the worker's log": worker.log(),
        "this process's log": everything_logged.getvalue(),
        "Redis (rq's jobs and registries)": redis_contents(connection),
        "the console's jobs page": html,
        "the answers": "\n".join(a.get_data(as_text=True) for a in answers),
    }
    assert "127.0.0.1" in places["the worker's log"]  # … and where it went: the log says something
    for place, text in places.items():
        for name, value in SECRETS.items():
            assert value not in text, f"{name} appears in {place}"
