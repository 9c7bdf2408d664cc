"""In a real headless Chromium: the notice's link sits right above the submit button, and the box must be ticked."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.models import Case
from core.services.checkpoints import public_code
from tests.support import factories, images
from tests.support.browser import CHROMEDRIVER, CHROMIUM, LiveServer, csp_violations, phone_browser

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver"),
]


def test_the_box_is_required_and_the_notice_is_one_tap_from_submitting(make_app, settings, tmp_path):
    app = make_app(settings)
    database = app.extensions["gongzhi"].database
    with database.session() as s:
        code = public_code(settings, factories.gate_checkpoint(s))
    photo = tmp_path / "lamp.jpg"
    photo.write_bytes(images.photo_with_exif(800, 600))

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    with LiveServer(app) as server, phone_browser() as browser:
        browser.get(f"{server.url}/q/{code}")
        browser.find_element(By.ID, "description").send_keys("路灯不亮")
        browser.find_element(By.ID, "photos").send_keys(str(photo))
        box, link = browser.find_element(By.ID, "privacy"), browser.find_element(By.ID, "privacy-link")
        submit = browser.find_element(By.ID, "submit")
        assert link.text == "《个人信息保护说明》" and link.get_attribute("href") == f"{server.url}/privacy"
        assert link.is_displayed() and box.is_displayed()
        # Beside the button: the box and the link on the line just above it, nothing in between.
        assert 0 < submit.rect["y"] - link.rect["y"] < 90 and abs(box.rect["y"] - link.rect["y"]) < 20

        submit.click()  # not ticked: the browser refuses to send the form
        assert browser.execute_script("return document.getElementById('privacy').validity.valueMissing") is True
        assert browser.current_url == f"{server.url}/q/{code}" and submit.is_enabled()

        box.click()
        submit.click()
        number = WebDriverWait(browser, 20).until(ec.visibility_of_element_located((By.ID, "case-number"))).text
        assert number.startswith("GZ") and csp_violations(browser) == []

        browser.get(f"{server.url}/privacy")
        assert "个人信息保护说明" in browser.find_element(By.TAG_NAME, "h1").text
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 1
