"""Security headers: every page under a strict CSP that forbids framing, and no page needing inline script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.glossary import Role
from core.services.checkpoints import public_code
from tests.support import factories
from tests.support.console import console_login
from web.headers import content_security_policy

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: http://127.0.0.1:5000; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@pytest.fixture
def world(app, settings):
    with app.extensions["gongzhi"].database.session() as s:
        point = factories.gate_checkpoint(s)
        factories.staff(s, "center", Role.DISTRICT_CENTER)
        s.commit()
        return public_code(settings, point)


def _pages(client, code) -> list[str]:
    return ["/", "/grants", f"/q/{code}", "/q/forged-code", "/t/no-such-token", "/console/login", "/nowhere"]


def test_the_policy_is_the_one_documented(settings):
    assert settings.public_base_url == "http://127.0.0.1:5000"
    assert content_security_policy(settings.public_base_url) == CSP


def test_every_page_carries_the_headers(client, world):
    for path in _pages(client, world):
        answer = client.get(path)
        assert answer.mimetype == "text/html", path
        headers = answer.headers
        assert headers["Content-Security-Policy"] == CSP, path
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "no-referrer", path
        assert "Strict-Transport-Security" not in headers  # PUBLIC_BASE_URL is http here


def test_console_pages_carry_them_too(client, world):
    console_login(client, "center")
    for path in ("/console/", "/console/figures", "/console/patrol"):
        answer = client.get(path)
        assert answer.status_code == 200 and answer.headers["Content-Security-Policy"] == CSP, path
        assert answer.headers["X-Frame-Options"] == "DENY"


def test_json_and_files_are_not_sniffed_and_send_no_referrer(client, world):
    for path in ("/api/v1/staff/cases", "/healthz", "/static/scan.js", "/media/forged"):
        answer = client.get(path)
        assert answer.headers["X-Content-Type-Options"] == "nosniff", path
        assert answer.headers["Referrer-Policy"] == "no-referrer", path
    assert client.get("/static/scan.js").mimetype == "text/javascript"


def test_https_adds_hsts(make_app, settings):
    client = make_app(settings.replace(public_base_url="https://gongzhi.example.gov.cn")).test_client()
    answer = client.get("/")
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "img-src 'self' data: https://gongzhi.example.gov.cn;" in answer.headers["Content-Security-Policy"]


def test_no_template_has_inline_script_or_event_handlers():
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"inline <script> in {template}"
        assert not re.search(r"\son[a-z]+\s*=", text, re.I), f"an event handler attribute in {template}"
        assert "javascript:" not in text, template


def test_the_scan_page_loads_its_script_from_static(client, world):
    html = client.get(f"/q/{world}").get_data(as_text=True)
    assert '<script src="/static/scan.js"></script>' in html and 'data-max-photos="9"' in html
