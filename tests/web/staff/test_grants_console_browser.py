"""The console's payment form in a real headless Chromium: a real <select> of sources, filled and sent,
under the Content-Security-Policy with nothing refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.glossary import Role
from core.grants.terms import GrantStatus
from core.models import GrantApplication, GrantDisbursement
from tests.support import factories
from tests.support import grants as gh
from tests.support.browser import CHROMEDRIVER, CHROMIUM, LiveServer, csp_violations, phone_browser
from tests.support.console import console_login


@pytest.fixture
def approved(app) -> int:
    """An approved application of 500 元, 300 from the round's first source and 200 from its second."""
    with app.extensions["gongzhi"].database.session() as s:
        factories.staff(s, "fx-center", Role.DISTRICT_CENTER)
        grant_round = gh.open_round(s)
        application = gh.at_status(s, gh.application(s, grant_round), GrantStatus.APPROVED)
        first, second = grant_round.sources[:2]
        application.approved_fen = 50_000
        application.split = {str(first.id): 30_000, str(second.id): 20_000}
        s.commit()
        return application.id


def test_the_payment_form_is_a_form_not_text(client, approved):
    console_login(client, "fx-center")
    html = client.get(f"/console/grants/applications/{approved}").get_data(as_text=True)
    assert "&lt;select" not in html and "&lt;label" not in html
    assert '<select name="source_id"><option value="' in html


@pytest.mark.browser
@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver")
def test_staff_fill_the_payment_form_in_the_browser(app, approved):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    with app.extensions["gongzhi"].database.session() as s:
        second = s.get(GrantApplication, approved).round.sources[1]
        second_id, second_name = second.id, second.name
    with LiveServer(app) as server, phone_browser() as browser:
        wait = WebDriverWait(browser, 20)
        browser.get(f"{server.url}/console/login?next=/console/grants/applications/{approved}")
        browser.find_element(By.ID, "username").send_keys("fx-center")
        browser.find_element(By.ID, "password").send_keys(factories.PASSWORD)
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        form = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "form[data-move=disburse]")))
        assert csp_violations(browser) == []  # a console page under the policy: nothing refused
        Select(form.find_element(By.NAME, "source_id")).select_by_visible_text(second_name)
        form.find_element(By.NAME, "amount").send_keys("120.50")
        form.find_element(By.NAME, "note").send_keys("第一笔")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(ec.staleness_of(form))
        wait.until(ec.presence_of_element_located((By.ID, "balances")))
        assert browser.find_element(By.ID, "status").text == "实施中"
        assert csp_violations(browser) == []
    with app.extensions["gongzhi"].database.session() as s:
        [paid] = s.scalars(select(GrantDisbursement)).all()
        assert (paid.source_id, paid.amount_fen, paid.note) == (second_id, 12_050, "第一笔")
