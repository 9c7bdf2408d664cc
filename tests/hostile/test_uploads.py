"""Hostile uploads: bodies too big for their route, image bombs, too many files, floods of uploads and
sign-ins. Each is refused with a clear 4xx (413, 400, 429), its body unread where it is too big, and
nothing is stored — no row, no file."""

from __future__ import annotations

import io
import itertools

import pytest
from PIL import Image
from sqlalchemy import select

from core.grants import files as grant_files
from core.models import GrantApplication, GrantFile, Resident
from tests.support import grants as gh
from tests.support import images
from tests.support.hostile import RESIDENT_B

_codes = itertools.count()
MB = 1024 * 1024


class Unread(io.RawIOBase):
    """A request body that claims to be long and counts what is read of it."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        size = min(len(buffer), 64 * 1024)
        buffer[:size] = b"{" * size
        self.read_bytes += size
        return size


def _signed_in(client, fake_wechat) -> dict[str, str]:
    code = f"hostile-upload-{next(_codes)}"
    fake_wechat.add_login_code(code, "oMini_" + RESIDENT_B, "session-key")
    token = client.post("/api/v1/session", json={"code": code}).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def draft(app, world):
    """A draft application of resident B, in a round of the district."""
    database = app.extensions["gongzhi"].database
    with database.session() as s:
        resident = s.scalar(select(Resident).where(Resident.openid == RESIDENT_B))
        application = gh.application(s, gh.open_round(s), resident)
        s.commit()
        return application.id


def _assert_error(answer, status: int) -> None:
    assert answer.status_code == status, answer.get_data(as_text=True)[:300]
    error = answer.get_json()["error"]
    assert error["code"] and error["message"] and not error["message"].isascii()


@pytest.mark.parametrize(
    "path", ["/api/v1/session", "/api/v1/grants/applications", "/api/v1/grants/applications/1/withdraw"]
)
def test_a_50_mb_body_to_a_json_endpoint_is_413_unread(client, world, unchanged, path):
    body = Unread()
    answer = unchanged(
        lambda: client.post(
            path,
            headers={"Content-Type": "application/json"},
            environ_overrides={"wsgi.input": body, "CONTENT_LENGTH": str(50 * MB)},
        )
    )
    _assert_error(answer, 413)
    assert body.read_bytes == 0


def test_a_body_without_a_length_is_cut_off_at_the_json_limit(client, world, unchanged):
    body = Unread()
    answer = unchanged(
        lambda: client.post(
            "/api/v1/session",
            headers={"Content-Type": "application/json"},
            environ_overrides={
                "wsgi.input": body,
                "wsgi.input_terminated": True,
                "HTTP_TRANSFER_ENCODING": "chunked",
            },
        )
    )
    # werkzeug reads at most the limit: the cut-off JSON is refused (400), or the overflow itself (413).
    assert answer.status_code in (400, 413)
    assert body.read_bytes <= 2 * MB


def test_attachments_take_their_own_limit_not_100_mb(client, world, fake_wechat, draft, unchanged):
    headers = {**_signed_in(client, fake_wechat), "Content-Type": "multipart/form-data; boundary=x"}
    body = Unread()
    path = f"/api/v1/grants/applications/{draft}/attachments"
    overrides = {"wsgi.input": body, "CONTENT_LENGTH": str(60 * MB)}
    answer = unchanged(lambda: client.post(path, headers=headers, environ_overrides=overrides))
    _assert_error(answer, 413)
    assert body.read_bytes == 0


def test_a_photo_over_1_mb_still_fits_its_routes_limit(client, world, fake_wechat, draft):
    noisy = Image.effect_noise((1400, 1400), 80).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, "JPEG", quality=98)
    assert out.tell() > MB
    answer = client.post(
        f"/api/v1/grants/applications/{draft}/photos",
        data={"photos": [(io.BytesIO(out.getvalue()), "big.jpg")]},
        headers=_signed_in(client, fake_wechat),
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["photos_pending"] == 1


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height)).save(out, "PNG")
    return out.getvalue()


def test_a_png_bomb_is_refused_from_its_header(client, world, fake_wechat, draft, unchanged):
    headers = _signed_in(client, fake_wechat)
    answer = unchanged(
        lambda: client.post(
            f"/api/v1/grants/applications/{draft}/photos",
            data={"photos": [(io.BytesIO(_png(9000, 9000)), "bomb.png")]},
            headers=headers,
            content_type="multipart/form-data",
        )
    )
    _assert_error(answer, 400)


def test_no_more_files_than_the_cap_per_application(app, client, world, fake_wechat, draft, unchanged):
    database = app.extensions["gongzhi"].database
    with database.session() as s:
        for n in range(grant_files.MAX_FILES):
            s.add(GrantFile(application_id=draft, kind="attachment", path=f"grants/{draft}/{n}.pdf", name="x.pdf"))
        s.commit()
    headers = _signed_in(client, fake_wechat)
    answer = unchanged(
        lambda: client.post(
            f"/api/v1/grants/applications/{draft}/photos",
            data={"photos": [(io.BytesIO(images.small_png()), "one.png")]},
            headers=headers,
            content_type="multipart/form-data",
        )
    )
    _assert_error(answer, 400)
    assert f"最多 {grant_files.MAX_FILES} 个文件" in answer.get_json()["error"]["message"]


def test_grant_uploads_are_rate_limited_per_resident(client, world, fake_wechat, draft, unchanged, monkeypatch):
    from web.residents.api import grants

    monkeypatch.setitem(grants.UPLOADS_PER_RESIDENT, "limit", 2)
    headers = _signed_in(client, fake_wechat)

    def send():
        return client.post(
            f"/api/v1/grants/applications/{draft}/attachments",
            data={"files": [(io.BytesIO(b"not a pdf"), "a.pdf")]},
            headers=headers,
            content_type="multipart/form-data",
        )

    assert [send().status_code for _ in range(2)] == [400, 400]
    _assert_error(unchanged(send), 429)


def test_sign_ins_are_rate_limited_per_client(client, world, fake_wechat, unchanged, monkeypatch):
    from web.residents.api import session

    monkeypatch.setitem(session.PER_CLIENT, "limit", 2)
    for _ in range(2):
        _signed_in(client, fake_wechat)
    code = "hostile-upload-flood"
    fake_wechat.add_login_code(code, "oMini_flood", "session-key")
    answer = unchanged(lambda: client.post("/api/v1/session", json={"code": code}))
    _assert_error(answer, 429)


def test_a_draft_keeps_no_photo_when_the_report_is_refused(app, client, world, fake_wechat, draft, unchanged):
    headers = _signed_in(client, fake_wechat)
    answer = unchanged(
        lambda: client.post(
            f"/api/v1/grants/applications/{draft}/photos",
            data={"photos": [(io.BytesIO(images.small_png()), "a.png"), (io.BytesIO(b"GIF89a broken"), "b.gif")]},
            headers=headers,
            content_type="multipart/form-data",
        )
    )
    _assert_error(answer, 400)
    with app.extensions["gongzhi"].database.session() as s:
        assert s.get(GrantApplication, draft) is not None
