"""Debian's nginx with deploy/nginx/gongzhi-locations.conf in front of two real gunicorn instances of the app."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT
from tests.support.processes import wait_until
from tests.support.serving import DEPLOY, LOCATIONS, Gunicorn, Nginx, get, nginx_binary

pytestmark = pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed (scripts/test-setup.sh)")


def directive(text: str, name: str) -> str:
    found = re.search(rf"^\s*{name}\s+([^;]+);", text, re.M)
    assert found, name
    return found[1]


def location(name: str) -> str:
    text = LOCATIONS.read_text()
    found = re.search(r"location " + re.escape(name) + r" \{(.*?)\n\}", text, re.S)
    assert found, name
    return found[1]


def seconds(value: str) -> float:
    return float(value.removesuffix("s"))


def test_nginx_takes_the_largest_body_a_route_declares_and_no_more(app):
    from web.limits import ATTRIBUTE, JSON_MAX_BYTES

    largest = max(getattr(view, ATTRIBUTE, JSON_MAX_BYTES) for view in app.view_functions.values())
    assert int(directive(LOCATIONS.read_text(), "client_max_body_size")) == largest


def test_a_wechat_callback_is_given_up_on_before_wechats_5_seconds():
    wechat = location("= /wechat")
    connect, read = (
        seconds(directive(wechat, "proxy_connect_timeout")),
        seconds(directive(wechat, "proxy_read_timeout")),
    )
    assert connect + read < 5
    assert seconds(directive(wechat, "proxy_next_upstream_timeout")) < 5


@pytest.fixture
def stack(settings, clean_database, redis_client, tmp_path):
    """nginx on a free loopback port in front of two gunicorn instances; everything stopped afterwards."""
    env = {"TRUSTED_PROXY_HOPS": "1", "LOGIN_CLIENT_MAX_FAILURES": "3"}
    started: list = []
    try:
        for name in ("a", "b"):
            started.append(Gunicorn(settings, tmp_path, name, env))
        nginx = Nginx([started[0].port, started[1].port], tmp_path)
        started.append(nginx)
        yield nginx, started[0], started[1]
    finally:
        for process in reversed(started):
            process.stop()


def home(instance: Gunicorn) -> list[str]:
    return [r for r in instance.requests_seen() if r.startswith("GET / ")]


def healthz(instance: Gunicorn) -> list[str]:
    return [r for r in instance.requests_seen() if r.startswith("GET /healthz ")]


def sign_in(port: int, source: str, number: int, forwarded: str | None = None) -> int:
    headers = {"Content-Type": "application/json"}
    if forwarded:
        headers["X-Forwarded-For"] = forwarded
    body = f'{{"username": "nobody-{number}", "password": "wrong-password-{number}"}}'.encode()
    return get(port, "/api/v1/staff/token", source, headers, "POST", body)[0]


@pytest.mark.slow
@pytest.mark.real_services
def test_requests_go_round_robin_with_the_clients_address_and_limits_held_at_nginx(stack):
    nginx, a, b = stack
    for _ in range(6):
        assert get(nginx.port, "/")[0] == 200
    wait_until(lambda: len(home(a) + home(b)) >= 6, what="both instances to log their requests")  # logged after
    assert len([r for r in a.requests_seen() if r.startswith("GET / ")]) == 3
    assert len([r for r in b.requests_seen() if r.startswith("GET / ")]) == 3
    ids = [line.rsplit(" ", 1)[1] for line in a.requests_seen() + b.requests_seen() if line.startswith("GET / ")]
    assert len(set(ids)) == 6 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)  # nginx's X-Request-ID

    # The app counts sign-in failures by the client nginx saw (X-Forwarded-For, TRUSTED_PROXY_HOPS=1):
    # 127.0.0.2 is stopped after 3, forging X-Forwarded-For does not get it out, 127.0.0.3 is untouched.
    assert [sign_in(nginx.port, "127.0.0.2", n) for n in range(3)] == [401, 401, 401]
    assert sign_in(nginx.port, "127.0.0.2", 3) == 429
    assert sign_in(nginx.port, "127.0.0.2", 4, forwarded="198.51.100.7") == 429
    assert sign_in(nginx.port, "127.0.0.3", 5) == 401

    # A body over the largest limit is refused by nginx from its Content-Length, unread and unforwarded.
    over = int(directive(LOCATIONS.read_text(), "client_max_body_size")) + 1
    status, _, body = get(
        nginx.port, "/api/v1/reports", method="POST", body=b"x" * 1024, headers={"Content-Length": str(over)}
    )
    assert status == 413 and b"nginx" in body
    # gunicorn logs a request after answering it: a request to each instance afterwards, once logged,
    # means a forwarded body would have been logged by then too.
    checks = {instance: len(healthz(instance)) for instance in (a, b)}
    for instance in (a, b):
        assert get(instance.port, "/healthz")[0] == 200
    wait_until(lambda: all(len(healthz(i)) > n for i, n in checks.items()), what="both instances to log /healthz")
    assert not [r for r in a.requests_seen() + b.requests_seen() if r.startswith("POST /api/v1/reports")]

    status, headers, body = get(nginx.port, "/static/scan.js")
    assert status == 200 and body == (PROJECT_ROOT / "web" / "static" / "scan.js").read_bytes()
    assert headers["cache-control"] == "max-age=604800"
    expires = datetime.strptime(headers["expires"], "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
    assert expires > datetime.now(UTC) + timedelta(days=6)
    assert headers["x-content-type-options"] == "nosniff"  # the app's own headers still pass

    # nginx's log keeps no openid (WeChat's callback query) and no working signed link.
    for path in ("/t/secret-tracking-token", "/media/secret-photo-token", "/q/secret-sign-code/check-in",
                 "/me/data/secret-data-token",
                 "/wechat?openid=oSecretOpenid0001&signature=x&timestamp=1&nonce=2"):  # fmt: skip
        get(nginx.port, path)
    log = nginx.access_log()
    assert all(secret not in log for secret in ("secret-", "oSecretOpenid0001", "signature"))
    assert all(f'"GET {path}"' in log for path in ("/t/-", "/media/-", "/q/-/check-in", "/me/data/-", "/wechat"))


@pytest.mark.slow
@pytest.mark.real_services
def test_a_web_instance_dying_mid_run_loses_no_residents_request(stack):
    nginx, a, b = stack
    statuses = [get(nginx.port, "/")[0] for _ in range(10)]
    a.kill()
    statuses += [get(nginx.port, "/")[0] for _ in range(30)]
    assert statuses == [200] * 40
    after_kill = wait_until(lambda: len(home(b)) >= 35 and home(b), what="b to log its requests")
    assert len(after_kill) == 5 + 30  # every request after the kill was answered by the other instance


def test_the_production_config_passes_nginx_t_with_a_certificate(tmp_path: Path):
    binary = nginx_binary()
    assert binary
    cert, key = self_signed(tmp_path)
    text = (DEPLOY / "nginx.conf").read_text()
    text = text.replace("/etc/nginx/gongzhi/", f"{DEPLOY}/nginx/")
    text = text.replace("/etc/ssl/gongzhi/fullchain.pem", str(cert)).replace("/etc/ssl/gongzhi/privkey.pem", str(key))
    text = text.replace("/var/log/nginx/", f"{tmp_path}/").replace("/run/nginx.pid", f"{tmp_path}/nginx.pid")
    text = re.sub(r"^user .*;$", "", text, flags=re.M)
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    done = subprocess.run(
        [binary, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in text


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate and key standing in for the ones nginx.conf names."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gongzhi.example.cn")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path
