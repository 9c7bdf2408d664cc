"""The one redaction point: credentials in URLs, JSON and known values are cut from messages and log records."""

from __future__ import annotations

import io
import logging

import pytest
import requests

from wxclient.official import GongzhiWeChatClient, WeChatTransportError
from wxclient.redact import MASK, install_log_redaction, redact, register_secrets


def test_query_parameters_and_json_fields_that_carry_credentials_are_masked():
    url = "/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=S3cr3tValue&x=1"
    assert redact(url) == f"/cgi-bin/token?grant_type=client_credential&appid=wx1&secret={MASK}&x=1"
    assert (
        redact("GET /sns/jscode2session?js_code=abc&secret=s")
        == f"GET /sns/jscode2session?js_code={MASK}&secret={MASK}"
    )
    assert redact("media/get?access_token=TOKEN123&media_id=m") == f"media/get?access_token={MASK}&media_id=m"
    assert redact('{"session_key": "k+/==", "openid": "oABC"}') == f'{{"session_key": "{MASK}", "openid": "{MASK}"}}'
    # Names that merely end like one are left alone: an errcode is what an operator needs.
    assert redact("errcode=40001 errmsg=invalid") == "errcode=40001 errmsg=invalid"


def test_a_registered_value_is_masked_wherever_it_appears():
    register_secrets(["platform-Key-For-Redaction-Test", "short"])
    assert redact("HMAC with platform-Key-For-Redaction-Test failed") == f"HMAC with {MASK} failed"
    assert redact("a short word") == "a short word"  # too short to cut everywhere


def test_a_bare_openid_or_unionid_is_cut_as_a_safety_net():
    openid, unionid = "oLVPpjqs9BhvzwPj5A-vTYAX3GLc", "o6_bmasdasdsad6_2sgVt7hMZOPfL"
    assert redact(f"resident {openid} / {unionid} signed in") == f"resident {MASK} / {MASK} signed in"
    # Words, ids and other lengths are left alone.
    for text in ("resident 42 signed in", "outbox relay deferred", "o" + "a" * 26, "o" + "a" * 29):
        assert redact(text) == text


def test_log_records_and_their_tracebacks_are_redacted_whoever_logs_them():
    install_log_redaction(["known-AppSecret-Value"])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    log = logging.getLogger("some.library")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        try:
            raise ValueError("bad URL /x?access_token=abc123 with known-AppSecret-Value")
        except ValueError:
            log.exception("retrying %s", "/sns/oauth2/access_token?code=CODE1&secret=s2")
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    assert "abc123" not in text and "CODE1" not in text and "known-AppSecret-Value" not in text
    assert "ValueError" in text and MASK in text


def test_a_transport_error_names_the_failure_not_the_credentials(redis_client):
    client = GongzhiWeChatClient(
        "wxapp", "the-app-secret-value", redis=redis_client, api_base="http://127.0.0.1:9/", max_retries=0, timeout=1
    )
    with pytest.raises(WeChatTransportError) as caught:
        client._fetch_access_token(
            "https://api.weixin.qq.com/cgi-bin/token",
            {"grant_type": "client_credential", "appid": "wxapp", "secret": "the-app-secret-value"},
        )
    error = caught.value
    assert "ConnectionError" in str(error) and "127.0.0.1:9" in str(error)
    assert "the-app-secret-value" not in str(error) and "the-app-secret-value" not in error.url
    # No chained requests exception (whose message holds the URL) is printed with the traceback.
    assert error.__cause__ is None and error.__suppress_context__
    assert isinstance(error.request, requests.PreparedRequest | None)
