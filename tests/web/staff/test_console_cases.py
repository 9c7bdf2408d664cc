"""The console's case pages: sign-in and lock-out, queues, a case with its map, and the moves allowed now."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

from sqlalchemy import select

from core.models import Case, Grid, Photo, StaffUser
from tests.support import factories
from tests.support.console import console_login, csrf_token, table_rows
from tests.support.images import photo_with_exif
from tests.support.staff import setup_area


def _number(app) -> str:
    number = setup_area(app)
    with app.extensions["gongzhi"].database.session() as s:
        s.scalar(select(Grid).where(Grid.code == "G1")).boundary = factories.G1_BOX
        s.commit()
    return number


def _act(client, number, action, **form):
    token = csrf_token(client, f"/console/cases/{number}")
    return client.post(f"/console/cases/{number}/{action}", data={"csrf_token": token, **form})


def test_pages_need_a_signed_in_staff_member(app, client):
    number = _number(app)
    for path in ("/console/", f"/console/cases/{number}"):
        answer = client.get(path)
        assert answer.status_code == 303 and "/console/login" in answer.headers["Location"]
    # Signed out, a move is sent to the sign-in page like any console page, before its CSRF token is read.
    answer = client.post(f"/console/cases/{number}/accept")
    assert answer.status_code == 303 and "/console/login" in answer.headers["Location"]
    with app.extensions["gongzhi"].database.session() as s:
        assert s.scalar(select(Case)).status.value == "reported"


def test_sign_in_sets_a_safe_cookie_and_sign_out_ends_it(app, client):
    _number(app)
    answer = console_login(client, "center")
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/console/").status_code == 200
    client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/")})
    assert client.get("/console/").status_code == 303


def test_a_form_without_its_csrf_token_is_refused(app, client):
    number = _number(app)
    refused = client.post("/console/login", data={"username": "center", "password": factories.PASSWORD})
    assert refused.status_code == 400
    console_login(client, "center")
    assert client.post(f"/console/cases/{number}/accept", data={"note": "x"}).status_code == 400
    with app.extensions["gongzhi"].database.session() as s:
        assert s.scalar(select(Case)).status.value == "reported"


def test_five_wrong_passwords_lock_the_console_sign_in(app, client, settings):
    _number(app)
    for _ in range(settings.login_max_failures):
        wrong = client.post(
            "/console/login", data={"csrf_token": csrf_token(client), "username": "worker", "password": "nope-nope"}
        )
        assert wrong.status_code == 401 and "用户名或密码错误" in wrong.get_data(as_text=True)
    locked = client.post(
        "/console/login", data={"csrf_token": csrf_token(client), "username": "worker", "password": factories.PASSWORD}
    )
    assert locked.status_code == 401 and "用户名或密码错误" in locked.get_data(as_text=True)
    assert client.get("/console/").status_code == 303  # not signed in


def test_the_queue_shows_the_area_and_filters(app, client):
    number = _number(app)
    console_login(client, "street")
    rows = table_rows(client.get("/console/?view=all").get_data(as_text=True), "queue")
    assert [r[0] for r in rows[1:]] == [number]
    console_login(client, "other-street")
    rows = table_rows(client.get("/console/?view=all").get_data(as_text=True), "queue")
    assert rows[1:] == [["没有案件"]]
    assert client.get(f"/console/cases/{number}").status_code == 404
    assert client.get("/console/?view=nonsense").status_code == 303  # an unknown view: back with a message


def test_the_case_page_draws_the_grid_and_the_point_and_offers_only_allowed_moves(app, client):
    number = _number(app)
    console_login(client, "worker")
    page = client.get(f"/console/cases/{number}").get_data(as_text=True)
    assert 'data-move="' not in page  # a grid worker does not accept cases
    console_login(client, "center")
    page = client.get(f"/console/cases/{number}").get_data(as_text=True)
    moves = [chunk.split('"')[0] for chunk in page.split('data-move="')[1:]]
    assert moves == ["accept", "reject", "duplicate"]
    svg = page[page.index("<svg") : page.index("</svg>") + 6]
    drawing = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert drawing.find(f"{ns}path[@class='grid']") is not None
    dot = drawing.find(f"{ns}circle[@class='case']")
    # The case (31.8, 117.3) is G1's south-west corner: bottom left of the drawing.
    assert float(dot.get("cx")) < 160 and float(dot.get("cy")) > 120


def test_the_whole_loop_from_the_console_with_an_after_photo(app, client, settings):
    number = _number(app)
    console_login(client, "center")
    assert _act(client, number, "accept", note="已核实").status_code == 303
    assert _act(client, number, "dispatch", assignee="worker", tier="community").status_code == 303
    # A second accept is refused with the reason on the page, and nothing moves.
    again = _act(client, number, "accept")
    assert again.status_code == 409 and "不能受理" in again.get_data(as_text=True)
    console_login(client, "worker")
    token = csrf_token(client, f"/console/cases/{number}")
    handled = client.post(
        f"/console/cases/{number}/handle",
        data={"csrf_token": token, "note": "已更换灯泡", "photos": [(io.BytesIO(photo_with_exif(640, 480)), "a.jpg")]},
        content_type="multipart/form-data",
    )
    assert handled.status_code == 303
    assert "已处置完成" in client.get(handled.headers["Location"]).get_data(as_text=True)
    console_login(client, "leader")
    assert _act(client, number, "verify", passed="yes", note="现场已亮").status_code == 303
    console_login(client, "center")
    assert _act(client, number, "close").status_code == 303
    page = client.get(f"/console/cases/{number}").get_data(as_text=True)
    assert "已办结" in page and "现场已亮" in page
    with app.extensions["gongzhi"].database.session() as s:
        case = s.scalar(select(Case))
        assert case.status.value == "closed"
        assert [p.event_id is not None for p in s.scalars(select(Photo))] == [True]


def test_a_broken_after_photo_is_refused_on_the_page(app, client, settings):
    number = _number(app)
    with app.extensions["gongzhi"].database.session() as s:
        s.scalar(select(Case)).assignee = s.scalar(select(StaffUser).where(StaffUser.username == "worker"))
        s.scalar(select(Case)).status = factories.CaseStatus.DISPATCHED
        s.commit()
    console_login(client, "worker")
    token = csrf_token(client, f"/console/cases/{number}")
    answer = client.post(
        f"/console/cases/{number}/handle",
        data={"csrf_token": token, "note": "好了", "photos": [(io.BytesIO(b"<svg onload=alert(1)>"), "x.svg")]},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 400 and "第 1 张照片" in answer.get_data(as_text=True)
    with app.extensions["gongzhi"].database.session() as s:
        assert s.scalar(select(Case)).status.value == "dispatched" and s.scalar(select(Photo)) is None


def test_script_in_a_description_is_shown_as_text(app, client):
    number = _number(app)
    with app.extensions["gongzhi"].database.session() as s:
        s.scalar(select(Case)).description = '<script>alert("x")</script>路灯'
        s.commit()
    console_login(client, "center")
    page = client.get(f"/console/cases/{number}").get_data(as_text=True)
    assert '<script>alert("x")</script>' not in page and "&lt;script&gt;" in page


def test_the_top_bar_links_only_the_pages_a_role_may_open(app, client):
    _number(app)
    console_login(client, "center")
    bar = client.get("/console/").get_data(as_text=True).split("</header>")[0]
    assert all(label in bar for label in ("统计", "巡查", "任务", "平台对接"))
    console_login(client, "worker")
    bar = client.get("/console/").get_data(as_text=True).split("</header>")[0]
    assert "统计" in bar and "任务" not in bar and "平台对接" not in bar
