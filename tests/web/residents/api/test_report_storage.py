"""A photo's whole way through the store, on disk and on S3: upload → photo job → /media (bytes or a
presigned redirect) → the sweep — with the web and the job sharing nothing but the store."""

from __future__ import annotations

import time

import pytest
import requests
from sqlalchemy import select

from core.glossary import PhotoStatus
from core.models import Case, Photo
from tests.support import images
from tests.support.api import post_report
from tests.support.storage import keys, store_of
from worker import runtime
from worker.jobs.photos import fetch_photo
from worker.jobs.uploads import sweep_uploads

pytestmark = [pytest.mark.usefixtures("catalogue"), pytest.mark.each_store]


@pytest.fixture
def jobs(app, api_settings, tmp_path):
    """Jobs run here with a MEDIA_DIR of their own, as on another machine: only the store is shared."""
    context = app.extensions["gongzhi"]
    settings = api_settings
    if settings.storage_url:  # on S3 the worker's disk is not the web's
        settings = settings.replace(media_dir=str(tmp_path / "worker-disk"))
    previous = runtime._current
    runtime.install(runtime.Runtime(settings=settings, database=context.database, redis=context.redis))
    yield runtime.current()
    runtime.install(previous)  # type: ignore[arg-type]


def test_an_upload_is_processed_served_and_its_leftovers_swept(
    client, db, resident_headers, api_settings, make_app, jobs, store_kind
):
    response = post_report(client, resident_headers, photos=[images.photo_with_exif(1200, 900)])
    assert response.status_code == 201, response.get_json()
    number = response.get_json()["number"]
    with db.session() as s:
        photo = s.scalar(select(Photo))
        upload = photo.upload_path
    if upload is not None:  # the embedded queue may have processed it already
        assert keys(api_settings, "uploads/") == [upload]
        assert fetch_photo(photo.id) == "ready"
    with db.session() as s:
        photo = s.scalar(select(Photo))
        assert photo.status == PhotoStatus.READY and photo.upload_path is None
    store = store_of(api_settings)
    assert keys(api_settings, "uploads/") == []  # the original, EXIF and all, is gone
    assert store.exists(photo.thumb_path)
    clean = store.read(photo.path)
    assert clean[:2] == b"\xff\xd8" and b"TestPhone" not in clean

    detail = client.get(f"/api/v1/cases/{number}", headers=resident_headers).get_json()
    url = detail["photos"][0]["url"].removeprefix(api_settings.public_base_url)
    served = client.get(url)
    assert served.status_code == 200 and served.data == clean and served.mimetype == "image/jpeg"
    assert served.headers["Content-Length"] == str(len(clean))

    redirecting = make_app(api_settings.replace(media_redirect=True)).test_client()
    answer = redirecting.get(url)
    if store_kind == "s3":
        assert answer.status_code == 302 and answer.headers["Cache-Control"] == "no-store"
        fetched = requests.get(answer.headers["Location"], timeout=10)
        assert fetched.status_code == 200 and fetched.content == clean
        assert fetched.headers["Content-Type"] == "image/jpeg"
        # Pages let images come from the store, since /media now sends the browser there.
        policy = redirecting.get("/").headers["Content-Security-Policy"]
        assert api_settings.s3_endpoint_url in policy
    else:  # a directory cannot presign: the app streams the file itself
        assert answer.status_code == 200 and answer.data == clean
    # The token still decides: a forged one is 404 whichever way the bytes would go.
    assert redirecting.get(url[:-3] + "xyz").status_code == 404

    orphan = store.put("uploads/left-by-a-crash.jpg", images.photo_with_exif(64, 48))
    assert sweep_uploads() == []
    assert sweep_uploads(now=time.time() + 2 * 3600) == [orphan]
    assert keys(api_settings) == sorted([photo.path, photo.thumb_path])
    with db.session() as s:
        assert s.scalar(select(Case.number)) == number
