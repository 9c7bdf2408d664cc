"""Hostile: a grant photo upload whose request fails after its files were kept (the database gone at the
commit) leaves an upload no row refers to; the sweep deletes it once it is an hour old, and only it."""

from __future__ import annotations

import io
import time

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from core.models import Resident
from tests.support import grants as gh
from tests.support import images
from tests.support.hostile import RESIDENT_B
from tests.support.storage import keys
from worker import runtime
from worker.jobs.uploads import sweep_uploads


@pytest.mark.each_store
def test_a_failed_upload_leaves_nothing_for_long(app, client, world, fake_wechat, settings, monkeypatch):
    database = app.extensions["gongzhi"].database
    with database.session() as s:
        resident = s.scalar(select(Resident).where(Resident.openid == RESIDENT_B))
        draft = gh.application(s, gh.open_round(s), resident).id
        s.commit()
    fake_wechat.add_login_code("leftover-code", "oMini_" + RESIDENT_B, "k")
    token = client.post("/api/v1/session", json={"code": "leftover-code"}).get_json()["token"]
    before = keys(settings)

    from sqlalchemy.orm import Session

    def lost(self):  # type: ignore[no-untyped-def]
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(Session, "commit", lost)
    answer = client.post(
        f"/api/v1/grants/applications/{draft}/photos",
        data={"photos": [(io.BytesIO(images.photo_with_exif(320, 240)), "a.jpg")]},
        headers={"Authorization": f"Bearer {token}"},
        content_type="multipart/form-data",
    )
    monkeypatch.undo()
    assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "unavailable"
    left = [key for key in keys(settings) if key not in before]
    assert [key.split("/")[0] for key in left] == ["uploads"]  # the upload, with nobody's row pointing at it

    context = app.extensions["gongzhi"]
    previous = runtime._current
    runtime.install(runtime.Runtime(settings=context.settings, database=context.database, redis=context.redis))
    try:
        assert sweep_uploads() == []  # too fresh: a request might still be about to commit
        assert sweep_uploads(now=time.time() + 2 * 3600) == left
    finally:
        runtime.install(previous)  # type: ignore[arg-type]
    assert keys(settings) == before
