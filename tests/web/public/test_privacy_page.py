"""The privacy notice page, /privacy: the district's own parts from settings, its version, no script needed."""

from __future__ import annotations

import pytest

from tests.support.browser import CHROMIUM, LiveServer, rendered_dom


def test_the_notice_says_what_why_who_how_long_and_whom_to_ask(client, settings):
    page = client.get("/privacy")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for part in ("收集哪些信息", "处理的依据", "谁能看到", "保存多久", "您的权利", "联系我们"):
        assert part in html, part
    assert settings.privacy_controller_name in html and settings.privacy_contact in html
    assert f"版本 {settings.privacy_notice_version}" in html
    assert f"保存 {settings.retention_case_days} 天" in html and f"保存 {settings.retention_checkin_days} 天" in html
    assert "第二十九条" in html and "撤回同意" in html


def test_the_district_s_settings_change_the_notice(make_app, settings):
    district = settings.replace(
        privacy_controller_name="合肥市包河区网格化服务管理中心",
        privacy_contact="0551-12345678",
        privacy_notice_version="2027-01",
        retention_case_days=730,
    )
    html = make_app(district).test_client().get("/privacy").get_data(as_text=True)
    assert "合肥市包河区网格化服务管理中心" in html and "0551-12345678" in html
    assert 'data-version="2027-01"' in html and "保存 730 天" in html


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM, reason="chromium is not installed (make test installs it as root)")
def test_the_notice_renders_in_a_phone_s_browser(app):
    with LiveServer(app) as server:
        dom = rendered_dom(server.url + "/privacy")
    assert "<title>个人信息保护说明 · 共治</title>" in dom and "七、联系我们" in dom
