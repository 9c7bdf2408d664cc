"""The governance side in a real headless Chromium: a dispatcher, a grid worker and a verifier move a case
from the console, a real worker process tells the resident at each move, and the after-photo is kept."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.glossary import PhotoStatus, Role
from core.models import Case, Photo
from tests.support import factories, images
from tests.support.browser import CHROMEDRIVER, CHROMIUM, LiveServer, csp_violations, phone_browser
from tests.support.processes import wait_until
from tests.support.wechat_sender import reply_text

pytestmark = [
    pytest.mark.real_services,
    pytest.mark.browser,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver"),
]

RESIDENT = "oResident_console_01"
# The statuses a resident is told about, in the order the three people cause them.
TOLD = ["已受理", "处理中", "已处置", "已核查", "已办结"]


def _area(database) -> None:
    with database.session() as s:
        grids = factories.grid_tree(s)
        grids["G1"].boundary = factories.G1_BOX
        factories.staff(s, "dispatcher", Role.STREET_CENTER, "S", display_name="街道分中心王")
        factories.staff(s, "worker", Role.GRID_WORKER, "G1", display_name="网格员李")
        factories.staff(s, "verifier", Role.COMMUNITY_STATION, "C", display_name="社区工作站赵")
        s.commit()


def test_dispatcher_worker_and_verifier_close_a_case_in_the_browser(
    app, wechat, settings, fake_wechat, start_worker, tmp_path
):
    database = app.extensions["gongzhi"].database
    _area(database)
    start_worker(settings)
    wechat.location(RESIDENT, 31.805, 117.305, "方兴社区东门")
    wechat.text(RESIDENT, "东门路灯坏了，晚上很黑")
    reply = reply_text(wechat.text(RESIDENT, "提交"))
    number = reply.split("案件编号 ")[1].split("。")[0]
    with database.session() as s:
        assert s.scalar(select(Case).where(Case.number == number)).grid.code == "G1"  # routed by its point
    after = tmp_path / "after.jpg"
    after.write_bytes(images.photo_with_exif(1200, 900))

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    def told() -> list[str]:
        sent = [c.json for c in fake_wechat.calls("/cgi-bin/message/custom/send") if c.json["touser"] == RESIDENT]
        return [label for label in TOLD for m in sent if f"状态：{label}" in m["text"]["content"]]

    with LiveServer(app) as server, phone_browser() as browser:
        wait = WebDriverWait(browser, 20)

        def sign_in(username: str) -> None:
            browser.get(f"{server.url}/console/login")
            browser.find_element(By.ID, "username").send_keys(username)
            browser.find_element(By.ID, "password").send_keys(factories.PASSWORD)
            browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
            wait.until(ec.presence_of_element_located((By.ID, "queue")))
            assert csp_violations(browser) == []  # the sign-in page and the queue under the policy

        def open_case(view: str) -> None:
            browser.get(f"{server.url}/console/?view={view}")
            browser.find_element(By.LINK_TEXT, number).click()
            wait.until(ec.text_to_be_present_in_element((By.ID, "case-number"), number))
            assert csp_violations(browser) == []  # the case page, its map and its forms

        def move(name: str, **fields: str) -> None:
            form = browser.find_element(By.CSS_SELECTOR, f"form[data-move={name}]")
            for field, value in fields.items():
                element = form.find_element(By.NAME, field)
                if element.tag_name == "select":
                    Select(element).select_by_value(value)
                else:
                    element.clear() if element.get_attribute("type") != "file" else None
                    element.send_keys(value)
            form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            wait.until(ec.staleness_of(form))  # the page of the last move may show a message too
            wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".card.ok")))

        def sign_out() -> None:
            browser.find_element(By.CSS_SELECTOR, "header form button").click()
            wait.until(ec.presence_of_element_located((By.ID, "username")))

        sign_in("dispatcher")
        open_case("new")
        move("accept", note="已核实，属实")
        wait_until(lambda: told() == TOLD[:1], timeout=30, what="the resident told of the acceptance")
        move("dispatch", assignee="worker", tier="community")
        assert browser.find_element(By.ID, "status").text == "处理中"
        wait_until(lambda: told() == TOLD[:2], timeout=30, what="the resident told of the dispatch")
        sign_out()

        sign_in("worker")
        open_case("mine")
        move("handle", note="已更换灯泡，恢复照明", photos=str(after))
        assert browser.find_element(By.ID, "status").text == "已处置"
        wait_until(lambda: told() == TOLD[:3], timeout=30, what="the resident told of the handling")
        sign_out()

        sign_in("verifier")
        open_case("verify")
        move("verify", note="夜间复查已亮")
        move("close", note="办结")
        assert browser.find_element(By.ID, "status").text == "已办结"
        wait_until(lambda: told() == TOLD, timeout=30, what="the resident told of verification and closing")
        photo_shown = wait_until(
            lambda: browser.refresh() or browser.find_elements(By.CSS_SELECTOR, ".photos.after img"),
            timeout=30,
            what="the processed after-photo on the case page",
        )
        assert photo_shown
        assert csp_violations(browser) == []  # the after-photo, from PUBLIC_BASE_URL's origin, allowed
        browser.save_screenshot(str(tmp_path / "closed.png"))

    with database.session() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        assert case.status.value == "closed" and case.handler.username == "worker"
        assert [e.action for e in case.events] == ["report", "accept", "dispatch", "handle", "verify", "close"]
        [photo] = s.scalars(select(Photo).where(Photo.case_id == case.id)).all()
        assert photo.status == PhotoStatus.READY and photo.event_id is not None
    assert told() == TOLD  # each once: no move told twice
