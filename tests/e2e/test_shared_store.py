"""Two hosts that share no disk: the web takes a sign-page photo into S3 and a real worker process, with a
MEDIA_DIR of its own, processes it there; the web then serves the clean copy from the bucket."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from core.glossary import PhotoStatus
from core.media_urls import media_path
from core.models import Photo
from core.services.checkpoints import public_code
from tests.support import factories, images
from tests.support.processes import wait_until
from tests.support.storage import keys, store_of

pytestmark = [pytest.mark.real_services]


def test_a_photo_taken_by_one_host_is_processed_by_another_through_the_bucket(
    make_app, settings, s3_store, start_worker, tmp_path
):
    web_settings = settings.replace(**s3_store.settings, media_dir=str(tmp_path / "web-disk"))
    worker_settings = web_settings.replace(media_dir=str(tmp_path / "worker-disk"))
    app = make_app(web_settings)
    client = app.test_client()
    database = app.extensions["gongzhi"].database
    with database.session() as s:
        code = public_code(web_settings, factories.gate_checkpoint(s))
        s.commit()
    start_worker(worker_settings)

    page = client.get(f"/q/{code}").get_data(as_text=True)
    form = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page)[1],
        "submission": re.search(r'name="submission" value="([^"]+)"', page)[1],
        "privacy_version": re.search(r'name="privacy_version" value="([^"]+)"', page)[1],
        "description": "东门垃圾堆了三天",
        "photos": [(io.BytesIO(images.photo_with_exif(1600, 1200)), "a.jpg")],
    }
    assert client.post(f"/q/{code}", data=form, content_type="multipart/form-data").status_code == 303

    def processed() -> Photo | None:
        with database.session() as s:
            photo = s.scalar(select(Photo))
            return photo if photo is not None and photo.status != PhotoStatus.PENDING else None

    photo = wait_until(processed, timeout=60, what="the worker to process the photo from the bucket")
    assert photo.status == PhotoStatus.READY, photo.error
    assert keys(web_settings) == sorted([photo.path, photo.thumb_path])  # the upload is gone from the bucket
    for disk in ("web-disk", "worker-disk"):  # neither host kept a file of its own
        folder = tmp_path / disk
        assert not folder.exists() or not [p for p in Path(folder).rglob("*") if p.is_file()]
    served = client.get(media_path(web_settings, photo.path))
    assert served.status_code == 200 and served.data == store_of(web_settings).read(photo.path)
    assert b"TestPhone" not in served.data
