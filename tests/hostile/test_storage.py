"""The store under attack or down: keys that climb out are refused, a missing file is a 404, and a store
that does not answer refuses a report clearly and keeps no case, no photo, no file."""

from __future__ import annotations

import io
import os
import re

import pytest
from sqlalchemy import select

from core.glossary import PhotoStatus
from core.grants import files as grant_files
from core.models import GrantFile, Photo, Resident
from media.storage import BadKey, StoreUnavailable, open_store
from tests.support import grants as gh
from tests.support import images
from tests.support.api import post_report
from tests.support.hostile import RESIDENT_B
from tests.support.processes import free_port
from tests.support.storage import store_of
from worker import runtime
from worker.jobs.photos import fetch_photo

HOSTILE_KEYS = [
    "../outside.txt",
    "photos/../../outside.txt",
    "/etc/passwd",
    "uploads/../../../outside.txt",
    "uploads//a.jpg",
    "uploads/./a.jpg",
    "uploads\\..\\..\\outside.txt",
    "uploads/a\x00.jpg",
    "",
    "..",
]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_a_key_that_is_no_plain_relative_path_is_refused_by_the_file_store(tmp_path, settings, key):
    store = open_store(f"file://{tmp_path / 'store'}", settings)
    for attempt in (
        lambda: store.put(key, b"planted"),
        lambda: store.read(key),
        lambda: store.stat(key),
        lambda: store.delete(key),
    ):
        with pytest.raises(BadKey):
            attempt()
    assert not (tmp_path / "outside.txt").exists()


def test_a_symbolic_link_out_of_the_store_is_not_followed(tmp_path, settings):
    root = tmp_path / "store"
    (root / "photos").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("not for you")
    os.symlink(tmp_path, root / "photos" / "escape")
    store = open_store(f"file://{root}", settings)
    with pytest.raises(BadKey):
        store.read("photos/escape/secret.txt")
    with pytest.raises(BadKey):
        store.put("photos/escape/planted.txt", b"x")
    assert [item.key for item in store.list()] == []  # the link is no file of the store


@pytest.mark.parametrize("key", HOSTILE_KEYS[:4])
def test_the_s3_store_refuses_the_same_keys(s3_store, settings, key):
    store = open_store(s3_store.url, settings.replace(**s3_store.settings))
    with pytest.raises(BadKey):
        store.put(key, b"planted")
    assert list(store.list()) == []


@pytest.mark.each_store
def test_a_ready_grant_photo_whose_file_is_gone_is_a_404(app, client, settings, world):
    database = app.extensions["gongzhi"].database
    with database.session() as s:
        application = gh.application(s, gh.open_round(s))
        [row] = grant_files.add_photos(s, application.id, [("uploads/x.jpg", "x.jpg")])
        row.status, row.path, row.upload_path = PhotoStatus.READY, f"grants/{application.id}/gone.jpg", None
        s.commit()
        row_id = row.id
    from web.grant_files import file_url

    with database.session() as s:
        url = file_url(settings, s.get(GrantFile, row_id)).removeprefix(settings.public_base_url)
    assert client.get(url).status_code == 404
    store_of(settings).put(f"grants/{application.id}/gone.jpg", b"\xff\xd8 back")
    assert client.get(url).status_code == 200


def _dead_store(settings, kind: str, tmp_path):
    if kind == "s3":  # nothing listens on the port: every request is refused at once
        return settings.replace(
            storage_url="s3://gone/media",
            s3_endpoint_url=f"http://127.0.0.1:{free_port()}",
            s3_addressing_style="path",
            s3_region="us-east-1",
            aws_access_key_id="k",
            aws_secret_access_key="s",
            storage_timeout_seconds=1.0,
        )
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("MEDIA_DIR points at a file: nothing can be written under it")
    return settings.replace(storage_url=None, media_dir=str(blocked))


def _token(client, fake_wechat, code: str) -> dict[str, str]:
    fake_wechat.add_login_code(code, "oMini_" + RESIDENT_B, "session-key")
    return {"Authorization": f"Bearer {client.post('/api/v1/session', json={'code': code}).get_json()['token']}"}


@pytest.mark.parametrize("kind", ["s3", "file"])
def test_a_store_that_is_down_refuses_a_report_clearly_and_keeps_no_case(
    app, settings, world, unchanged, make_app, fake_wechat, tmp_path, kind
):
    down = make_app(_dead_store(settings, kind, tmp_path)).test_client()
    headers = _token(down, fake_wechat, f"down-{kind}")
    answer = unchanged(lambda: post_report(down, headers))
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    error = answer.get_json()["error"]
    assert error["code"] == "unavailable" and "暂时无法保存" in error["message"]
    assert "127.0.0.1" not in error["message"] and "gone" not in error["message"]

    page = down.get(f"/q/{world.code}").get_data(as_text=True)
    form = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page)[1],
        "submission": re.search(r'name="submission" value="([^"]+)"', page)[1],
        "privacy_version": re.search(r'name="privacy_version" value="([^"]+)"', page)[1],
        "description": "东门垃圾堆了三天",
        "photos": [(io.BytesIO(images.photo_with_exif(800, 600)), "a.jpg")],
    }
    scanned = unchanged(lambda: down.post(f"/q/{world.code}", data=form, content_type="multipart/form-data"))
    assert scanned.status_code == 503 and "暂时无法保存" in scanned.get_data(as_text=True)


def test_a_store_that_goes_down_before_the_photo_job_leaves_the_photo_pending_for_a_retry(
    app, client, settings, world, make_app, fake_wechat, tmp_path
):
    headers = _token(client, fake_wechat, "before-job")
    assert post_report(client, headers).status_code == 201
    context = app.extensions["gongzhi"]
    with context.database.session() as s:
        photo_id = s.scalar(select(Photo.id))
        assert s.scalar(select(Resident.id).where(Resident.openid == RESIDENT_B))
    previous = runtime._current
    down = _dead_store(settings, "s3", tmp_path)
    runtime.install(runtime.Runtime(settings=down, database=context.database, redis=context.redis))
    try:
        with pytest.raises(StoreUnavailable):  # raised, so rq tries again; not "failed for good"
            fetch_photo(photo_id)
    finally:
        runtime.install(previous)  # type: ignore[arg-type]
    with context.database.session() as s:
        photo = s.get(Photo, photo_id)
        if photo.status == PhotoStatus.PENDING:  # (the embedded queue may have processed it meanwhile)
            assert photo.error is None and store_of(settings).exists(photo.upload_path)
