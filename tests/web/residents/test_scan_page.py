"""The page behind a sign: reporting there, forged and replaced codes, limits, staff check-ins."""

from __future__ import annotations

import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from core.glossary import CaseSource, Role
from core.models import Case, CheckIn, Checkpoint, Photo
from core.services.checkpoints import public_code
from tests.support import factories, images
from tests.support.scan import form_fields
from tests.support.storage import keys, store_of


@pytest.fixture
def db(app):
    return app.extensions["gongzhi"].database


@pytest.fixture
def code(db, settings) -> str:
    with db.session() as s:
        point = factories.gate_checkpoint(s)
        return public_code(settings, point)


def form_token(page) -> dict[str, str]:
    return form_fields(page)


def post_report(client, code, *, photos=None, **fields):
    page = client.get(f"/q/{code}")
    data = form_token(page) | {"description": "东门垃圾堆了三天", "phone": "13800000000"} | fields
    photos = [images.photo_with_exif(1600, 1200)] if photos is None else photos
    data["photos"] = [(io.BytesIO(p), f"p{n}.jpg") for n, p in enumerate(photos)]
    return client.post(f"/q/{code}", data=data, content_type="multipart/form-data")


def count(db, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_the_page_names_the_checkpoint_and_offers_the_form(client, code):
    page = client.get(f"/q/{code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "小区东门" in html and "方兴社区第一网格" in html
    assert 'capture="environment"' in html and 'name="photos"' in html and "使用我当前的位置" in html


@pytest.mark.each_store
def test_a_report_from_the_page_becomes_a_case_with_a_tracking_link(client, db, code, settings):
    response = post_report(client, code)
    assert response.status_code == 303
    tracking = client.get(response.headers["Location"])
    html = tracking.get_data(as_text=True)
    number = re.search(r'id="case-number">(GZ\d{8}-\d{6})<', html)[1]
    link = re.search(r'id="tracking-link" href="([^"]+)"', html)[1]
    with db.session() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        assert case.source == CaseSource.SCAN and case.checkpoint.label == "CP0001"
        assert case.contact_phone == "13800000000" and case.reporter is None
        assert link.endswith(f"/t/{case.tracking_token}") and len(case.tracking_token) >= 20
        [photo] = s.scalars(select(Photo)).all()
        assert store_of(settings).exists(photo.upload_path)
    public = client.get(urlsplit(link).path)
    text = public.get_data(as_text=True)
    assert number in text and "已上报" in text
    assert "13800000000" not in text and "东门垃圾" not in text  # no personal data on the public page


def test_a_double_tap_makes_one_case(client, db, code):
    page = client.get(f"/q/{code}")
    tokens = form_token(page)
    for _ in range(2):
        data = tokens | {"description": "井盖没了", "photos": [(io.BytesIO(images.small_png()), "a.png")]}
        assert client.post(f"/q/{code}", data=data, content_type="multipart/form-data").status_code == 303
    assert count(db, Case) == 1 and count(db, Photo) == 1


@pytest.mark.parametrize(
    ("photos", "message"),
    [
        ([], "请拍摄或选择 1 至 9 张照片"),
        ([images.small_png()] * 10, "请拍摄或选择 1 至 9 张照片"),
        ([b"not an image"], "第 1 张照片：图片已损坏或不是图片"),
        ([images.small_png(), images.truncated_jpeg()], "第 2 张照片：图片已损坏或不是图片"),
        ([images.decompression_bomb()], "图片已损坏或不是图片"),
    ],
)
def test_bad_photos_are_refused_and_nothing_is_kept(client, db, code, settings, photos, message):
    response = post_report(client, code, photos=photos)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert count(db, Case) == 0 and count(db, Photo) == 0
    assert keys(settings, "uploads/") == []


def test_an_oversized_photo_is_refused(client, db, code):
    huge = images.photo_with_exif(100, 100) + b"\0" * (10 * 1024 * 1024)
    response = post_report(client, code, photos=[huge])
    assert response.status_code == 400 and "不能超过 10 MB" in response.get_data(as_text=True)
    assert count(db, Case) == 0


def test_without_the_csrf_token_nothing_happens(client, db, code):
    data = {"description": "x", "photos": [(io.BytesIO(images.small_png()), "a.png")]}
    response = client.post(f"/q/{code}", data=data, content_type="multipart/form-data")
    assert response.status_code == 400 and "页面已过期" in response.get_data(as_text=True)
    assert count(db, Case) == 0


def test_forged_and_unknown_codes_get_a_404_page(client, code):
    ident, version, mac = code.split("-")
    for bad in [f"{ident}-{version}-{mac[:-1]}{'a' if mac[-1] != 'a' else 'b'}", "CP0001", "zz-1-abcdefghij"]:
        page = client.get(f"/q/{bad}")
        assert page.status_code == 404 and "无效的二维码" in page.get_data(as_text=True)
        assert client.post(f"/q/{bad}", data={}).status_code == 400  # no CSRF token: the form has expired


def test_a_rotated_sign_says_it_was_replaced(client, db, code):
    with db.session() as s:
        s.scalar(select(Checkpoint)).key_version += 1
        s.commit()
    page = client.get(f"/q/{code}")
    assert page.status_code == 410 and "此二维码已更换" in page.get_data(as_text=True)


def test_too_many_reports_from_one_client_are_refused_clearly(client, db, code):
    for _ in range(5):
        assert post_report(client, code, photos=[images.small_png()]).status_code == 303
    refused = post_report(client, code, photos=[images.small_png()])
    assert refused.status_code == 429 and "提交太频繁" in refused.get_data(as_text=True)
    assert count(db, Case) == 5


def test_the_tracking_page_of_an_unknown_token_is_404(client):
    page = client.get("/t/not-a-real-token")
    assert page.status_code == 404 and "没有找到这个案件" in page.get_data(as_text=True)


def sign_in(client, username):
    page = client.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))[1]
    return client.post(
        "/console/login", data={"csrf_token": token, "username": username, "password": factories.PASSWORD}
    )


def test_a_signed_in_grid_worker_checks_in_instead_of_reporting(client, db, code):
    with db.session() as s:
        factories.staff(s, "wang", Role.GRID_WORKER, "G1", display_name="王网格员")
        s.commit()
    assert sign_in(client, "wang").status_code == 303
    page = client.get(f"/q/{code}")
    html = page.get_data(as_text=True)
    assert "签到" in html and "王网格员" in html and "在此处上报问题" in html
    assert count(db, CheckIn) == 0  # opening the page is not a check-in
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)[1]
    assert f'action="/q/{code}/check-in"' in html
    done = client.post(f"/q/{code}/check-in", data={"csrf_token": token})
    assert done.status_code == 200 and "已签到" in done.get_data(as_text=True)
    with db.session() as s:
        [check_in] = s.scalars(select(CheckIn)).all()
        assert (check_in.source, check_in.checkpoint.label) == ("page", "CP0001")
    assert "提交上报" in client.get(f"/q/{code}?report=1").get_data(as_text=True)


def test_a_check_in_needs_the_csrf_token_and_a_signed_in_staff_member(client, db, code):
    with db.session() as s:
        factories.staff(s, "wang", Role.GRID_WORKER, "G1")
        s.commit()
    anonymous = client.get(f"/q/{code}")
    token = form_token(anonymous)["csrf_token"]
    refused = client.post(f"/q/{code}/check-in", data={"csrf_token": token})
    assert refused.status_code == 303 and "/console/login" in refused.headers["Location"]
    assert sign_in(client, "wang").status_code == 303
    assert client.post(f"/q/{code}/check-in").status_code == 400  # no token: a forged cross-site POST
    assert client.post("/q/forged-code/check-in", data={"csrf_token": "x"}).status_code == 400
    assert count(db, CheckIn) == 0


def test_residents_do_not_check_in(client, db, code):
    assert "提交上报" in client.get(f"/q/{code}").get_data(as_text=True)
    bad = client.post("/console/login", data={"username": "nobody", "password": "x"})
    assert bad.status_code == 400  # no CSRF token, no sign-in attempt at all
    assert count(db, CheckIn) == 0


def test_wrong_staff_password_is_refused(client, db, code):
    with db.session() as s:
        factories.staff(s, "wang", Role.GRID_WORKER, "G1")
        s.commit()
    page = client.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))[1]
    response = client.post("/console/login", data={"csrf_token": token, "username": "wang", "password": "wrong-one"})
    assert response.status_code == 401 and "用户名或密码错误" in response.get_data(as_text=True)
    assert "提交上报" in client.get(f"/q/{code}").get_data(as_text=True)


WECHAT_BROWSER = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile MicroMessenger/8.0.50 NetType/WIFI"


def test_in_wechat_the_resident_is_known_by_web_authorisation(make_app, settings, fake_wechat, code, db):
    settings = settings.replace(wechat_api_base=fake_wechat.base_url, wechat_app_secret="real-secret")
    fake_wechat.apps[settings.wechat_app_id] = "real-secret"
    client = make_app(settings).test_client()
    first = client.get(f"/q/{code}", headers={"User-Agent": WECHAT_BROWSER})
    assert first.status_code == 302
    authorize = urlsplit(first.headers["Location"])
    query = parse_qs(authorize.query)
    assert authorize.netloc == "open.weixin.qq.com" and query["scope"] == ["snsapi_base"]
    assert query["appid"] == [settings.wechat_app_id] and query["redirect_uri"][0].endswith("/wechat/oauth")

    # WeChat sends the resident back with a code, which the server trades for the openid.
    fake_wechat.add_login_code("oauth-code-1", "oScanner_1", "unused")
    back = client.get("/wechat/oauth", query_string={"code": "oauth-code-1", "state": query["state"][0]})
    assert back.status_code == 302 and back.headers["Location"].endswith(f"/q/{code}")
    assert len(fake_wechat.calls("/sns/oauth2/access_token")) == 1

    assert post_report(client, code, photos=[images.small_png()]).status_code == 303
    with db.session() as s:
        case = s.scalar(select(Case))
        assert case.reporter.openid == "oScanner_1"
        assert [r.openid for r in case.followers] == ["oScanner_1"]  # told in WeChat as the case moves


def test_outside_wechat_or_without_credentials_there_is_no_detour(make_app, settings, code):
    assert make_app(settings).test_client().get(f"/q/{code}", headers={"User-Agent": WECHAT_BROWSER}).status_code == 200
    wired = make_app(settings.replace(wechat_app_secret="real-secret")).test_client()
    assert wired.get(f"/q/{code}", headers={"User-Agent": "Mozilla/5.0 (Android) Chrome/126"}).status_code == 200


def test_a_tampered_oauth_state_goes_nowhere(client):
    response = client.get("/wechat/oauth", query_string={"code": "x", "state": "https://evil.example/"})
    assert response.status_code == 404
