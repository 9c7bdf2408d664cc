"""The front page, as a phone's browser shows it."""

from __future__ import annotations

import pytest

from tests.support.browser import CHROMIUM, LiveServer, rendered_dom, screenshot

pytestmark = pytest.mark.browser


def test_front_page_says_what_this_is(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "共治" in page.get_data(as_text=True)


@pytest.mark.skipif(not CHROMIUM, reason="chromium is not installed (make test installs it as root)")
def test_front_page_in_headless_chromium(app, tmp_path):
    with LiveServer(app) as server:
        dom = rendered_dom(server.url + "/")
        shot = screenshot(server.url + "/", tmp_path / "home.png")
    assert "<title>共治 · 随手拍</title>" in dom
    assert "回复「提交」即可上报" in dom and "/api/v1/staff/token" in dom
    assert shot.stat().st_size > 5000  # a real rendering, not an empty page
