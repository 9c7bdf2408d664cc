"""SENTRY_DSN: an unhandled error reaches the error service, without secrets, openids, bodies or cookies."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import sentry_sdk

from tests.support.processes import wait_until

# Made up at run time: reports carry source lines around each frame, and these must not be found there.
OPENID = "oResident" + "Openid0042xyz"
PHONE = "139" + "12345678"
SESSION_COOKIE = "cookie-value" + "-that-is-a-credential"
BEARER = "bearer-token" + "-of-a-staff-member-0001"
TOKEN = "TRACKING" + "TOKEN0123456789"


class _Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        type(self).received.append(body)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def error_service() -> Iterator[tuple[str, list[bytes]]]:
    """A tiny HTTP server standing in for Sentry; yields the DSN and the bodies it got."""
    _Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://publickey@127.0.0.1:{server.server_address[1]}/1", _Collector.received
    finally:
        # Reporting is per process: end it for the tests after this one.
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)
        server.shutdown()
        server.server_close()


def test_an_unhandled_error_arrives_without_secrets_or_personal_data(settings, make_app, error_service):
    dsn, received = error_service
    app = make_app(settings.replace(sentry_dsn=dsn))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    secret = settings.wechat_app_secret

    @app.post("/boom/<token>")
    def boom(token: str):
        raise RuntimeError(f"WeChat refused: appid=x&secret={secret}&openid={OPENID} ({secret})")

    client = app.test_client()
    client.set_cookie("session", SESSION_COOKIE)
    response = client.post(
        f"/boom/{TOKEN}?openid={OPENID}",
        data={"phone": PHONE, "openid": OPENID},
        headers={"Authorization": f"Bearer {BEARER}", "X-Request-ID": "req-sentry-0001"},
    )
    assert response.status_code == 500
    sentry_sdk.flush(timeout=5)
    wait_until(lambda: any(b"RuntimeError" in body for body in received), timeout=10, what="the error report")
    report = b"".join(received).decode("utf-8", "replace")
    assert "WeChat refused" in report and "boom" in report
    for leaked in (secret, OPENID, PHONE, SESSION_COOKIE, BEARER, TOKEN, settings.secret_key):
        assert leaked not in report, leaked


def test_without_a_dsn_nothing_is_set_up(settings, make_app):
    make_app(settings)
    assert not sentry_sdk.get_client().is_active()
