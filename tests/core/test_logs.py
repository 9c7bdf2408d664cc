"""Log lines: LOG_FORMAT, JSON with the request and job ids, and secrets cut out before they are written."""

from __future__ import annotations

import io
import json
import logging

import pytest

from core import logs
from core.errors import ConfigError
from core.settings import Settings
from wxclient.redact import install_log_redaction


def test_json_in_production_text_elsewhere_unless_log_format_says():
    assert Settings().logs_as_json is False
    assert Settings(app_env="production").logs_as_json is True
    assert Settings(app_env="production", log_format="text").logs_as_json is False
    assert Settings.from_env({"LOG_FORMAT": "json"}).logs_as_json is True
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        Settings.from_env({"LOG_FORMAT": "xml"})


@pytest.fixture
def captured():
    stream = io.StringIO()
    handler = logs.handler(as_json=True)
    handler.setStream(stream)
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def test_a_line_is_one_json_object_with_the_request_id(captured):
    logger, stream = captured
    token = logs.request_id.set("req-abc-0001")
    try:
        logger.warning("上报失败 %s", "东门")
    finally:
        logs.request_id.reset(token)
    logger.info("outside any request")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "上报失败 东门" and first["level"] == "warning" and first["request_id"] == "req-abc-0001"
    assert first["logger"] == "tests.logs" and "request_id" not in second


def test_the_job_id_comes_from_the_job_running(captured, monkeypatch):
    logger, stream = captured
    monkeypatch.setattr(logs, "job_id_source", lambda: "outbox-42")
    logger.info("sending")
    assert json.loads(stream.getvalue())["job_id"] == "outbox-42"


def test_secrets_and_openids_are_cut_out_of_messages_and_tracebacks(captured):
    logger, stream = captured
    install_log_redaction(["a-known-app-secret-value"])
    try:
        raise RuntimeError("GET /sns?appid=wx1&secret=a-known-app-secret-value&openid=oAbcdef123456")
    except RuntimeError:
        logger.exception("call failed for openid=oAbcdef123456")
    text = stream.getvalue()
    line = json.loads(text)
    assert "Traceback" in line["exception"]
    assert "a-known-app-secret-value" not in text and "oAbcdef123456" not in text
