"""gunicorn for real: JSON lines on stdout with the request id, route patterns not paths, metrics of all processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.settings import PROJECT_ROOT
from tests.support.processes import free_port, settings_env, wait_until

pytestmark = pytest.mark.slow
TOKEN_IN_PATH = "TRACKINGTOKEN0123456789abcdef"
REQUEST_ID = "proxy-req-0001-abcdef"


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
    except OSError:
        return 0, {}, b""


@pytest.fixture
def gunicorn(settings, clean_database, redis_client, tmp_path: Path):
    """gunicorn with two worker processes on a free port; MEDIA_DIR unwritable, so /readyz logs a warning."""
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the media directory should be")
    port = free_port()
    env = settings_env(settings.replace(media_dir=str(blocked / "media")))
    env.update(APP_ENV="development", GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2", GUNICORN_THREADS="2")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    out = tmp_path / "gunicorn.out"
    with open(out, "wb") as stdout:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "wsgi:create_app()"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: get(f"{base}/healthz")[0] == 200, timeout=60, what="gunicorn to answer")
        yield base, process, out
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_every_line_is_json_with_the_request_id_and_no_token(gunicorn, settings):
    base, process, out = gunicorn
    status, headers, _ = get(f"{base}/readyz", {"X-Request-ID": REQUEST_ID})
    assert status == 503 and headers["X-Request-ID"] == REQUEST_ID
    status, headers, _ = get(f"{base}/t/{TOKEN_IN_PATH}?openid=oSomeone", {"X-Request-ID": "bad id <script>"})
    made = headers["X-Request-ID"]
    assert made != "bad id <script>" and len(made) == 32 and made.isalnum()

    for _ in range(6):  # spread over both worker processes; /metrics answers for both
        get(f"{base}/healthz")
    families = text_string_to_metric_families(get(f"{base}/metrics")[2].decode())
    healthz = sum(
        sample.value
        for family in families
        for sample in family.samples
        if sample.name == "gongzhi_http_requests_total" and sample.labels["route"] == "/healthz"
    )
    assert healthz >= 7  # the wait for start-up made at least one more

    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    text = out.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line parses
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    readyz = next(line for line in access if line.get("request_id") == REQUEST_ID)
    assert readyz | {"duration_ms": 0, "time": "", "pid": 0, "bytes": 0} == {
        "time": "",
        "level": "info",
        "logger": "gunicorn.access",
        "pid": 0,
        "message": "request",
        "method": "GET",
        "status": 503,
        "bytes": 0,
        "route": "/readyz",
        "request_id": REQUEST_ID,
        "duration_ms": 0,
    }
    warned = [line for line in lines if line["logger"] == "web.ops.health" and line.get("request_id") == REQUEST_ID]
    assert warned and warned[0]["level"] == "warning" and "store" in warned[0]["message"]
    tracked = next(line for line in access if line.get("request_id") == made)
    assert tracked["route"] == "/t/<token>"
    assert TOKEN_IN_PATH not in text and "oSomeone" not in text and settings.secret_key not in text
    assert any(line["logger"] == "gunicorn.error" and "Booting worker" in line["message"] for line in lines)
