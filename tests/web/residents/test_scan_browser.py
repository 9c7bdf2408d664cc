"""A resident's whole path in a real headless Chromium: scan → form → photo → submit → number → tracking."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from core.glossary import CoordSystem
from core.models import Case, Checkpoint
from core.services.checkpoints import public_code
from core.services.demo import load_demo
from tests.support import images
from tests.support.browser import CHROMEDRIVER, CHROMIUM, LiveServer, csp_violations, phone_browser

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver"),
]


def test_a_resident_reports_from_a_sign_and_follows_the_case(make_app, settings, tmp_path):
    app = make_app(settings)
    database = app.extensions["gongzhi"].database
    with database.session() as s:
        load_demo(s, settings)
        s.commit()
        checkpoint = s.scalar(select(Checkpoint).where(Checkpoint.label == "CP0005"))
        code, name = public_code(settings, checkpoint), checkpoint.name
    photo = tmp_path / "street.jpg"
    photo.write_bytes(images.photo_with_exif(1600, 1200))

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    with LiveServer(app) as server, phone_browser() as browser:
        browser.execute_cdp_cmd("Browser.grantPermissions", {"origin": server.url, "permissions": ["geolocation"]})
        browser.execute_cdp_cmd(
            "Emulation.setGeolocationOverride", {"latitude": 31.7985, "longitude": 117.2981, "accuracy": 12}
        )
        wait = WebDriverWait(browser, 20)
        browser.get(f"{server.url}/q/{code}")
        assert name in browser.find_element(By.TAG_NAME, "h1").text
        categories = Select(browser.find_element(By.ID, "category"))
        lamp = next(o.text for o in categories.options if "路灯" in o.text)
        categories.select_by_visible_text(lamp)
        browser.find_element(By.ID, "description").send_keys("路灯一直不亮，晚上很黑")
        browser.find_element(By.ID, "photos").send_keys(str(photo))
        browser.find_element(By.ID, "locate").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "place"), "已使用手机定位"))
        assert csp_violations(browser) == []  # the page's script runs under the policy, nothing refused
        browser.find_element(By.ID, "privacy").click()  # 我已阅读并同意《个人信息保护说明》
        browser.find_element(By.ID, "submit").click()

        number = wait.until(ec.visibility_of_element_located((By.ID, "case-number"))).text
        assert number.startswith("GZ")
        browser.save_screenshot(str(tmp_path / "submitted.png"))
        # The link is on PUBLIC_BASE_URL (never the Host the page was asked by); here that is not the live server.
        link = browser.find_element(By.ID, "tracking-link").get_attribute("href")
        assert link.startswith(f"{settings.public_base_url}/t/")
        browser.get(server.url + urlsplit(link).path)
        wait.until(ec.url_contains("/t/"))
        page = browser.find_element(By.TAG_NAME, "main").text
        assert number in page and "已上报" in page and "路灯一直不亮" not in page
        assert csp_violations(browser) == []

    with database.session() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        assert case.category.name == lamp and case.description == "路灯一直不亮，晚上很黑"
        assert (case.lat, case.lng, case.coord_system) == (31.7985, 117.2981, CoordSystem.WGS84)
        assert len(case.events) == 1 and case.checkpoint.label == "CP0005"
