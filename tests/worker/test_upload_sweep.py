"""The upload sweep deletes uploads no row refers to, once an hour old, in a directory and in a bucket
alike; it keeps what a case's or a grant's photo still waits on, is idempotent, logs each deletion, and
the cron enqueues it."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from core.models import Photo
from tests.support import factories
from tests.support import grants as gh
from tests.support.storage import keys, store_of
from worker.jobs.uploads import sweep_uploads


def _upload(media: Path, name: str, age_seconds: float) -> str:
    path = media / "uploads" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8 original with EXIF")
    then = time.time() - age_seconds
    os.utime(path, (then, then))
    return f"uploads/{name}"


def test_orphans_an_hour_old_go_and_everything_else_stays(session, job_runtime, caplog):
    media = Path(job_runtime.settings.media_dir)
    orphan = _upload(media, "orphan.jpg", 2 * 3600)
    fresh = _upload(media, "fresh.jpg", 60)  # a request may still be about to commit its row
    of_case = _upload(media, "case.jpg", 2 * 3600)
    of_grant = _upload(media, "grant.png", 2 * 3600)
    case = factories.case(session, job_runtime.settings)
    session.add(Photo(case_id=case.id, upload_path=of_case))
    from core.grants import files

    files.add_photos(session, gh.application(session, gh.open_round(session)).id, [(of_grant, "g.png")])
    outside = media / "photos" / "kept.jpg"
    outside.parent.mkdir(parents=True)
    outside.write_bytes(b"clean")
    os.utime(outside, (0, 0))
    session.commit()
    with caplog.at_level(logging.INFO, logger="worker.jobs.uploads"):
        assert sweep_uploads() == [orphan]
    assert "uploads/orphan.jpg" in caplog.text
    assert not (media / orphan).exists()
    assert all((media / p).exists() for p in (fresh, of_case, of_grant)) and outside.exists()
    assert sweep_uploads() == []  # idempotent
    assert sweep_uploads(now=time.time() + 2 * 3600) == [fresh]


@pytest.mark.each_store
def test_the_sweep_goes_by_the_stores_own_clock_and_the_rows(session, job_runtime, caplog):
    store = store_of(job_runtime.settings)
    orphan = store.put("uploads/orphan.jpg", b"\xff\xd8 original with EXIF")
    of_case = store.put("uploads/case.jpg", b"\xff\xd8 waiting for the worker")
    of_grant = store.put("uploads/grant.png", b"\x89PNG waiting for the worker")
    clean = store.put("photos/2026/11/kept.jpg", b"clean")
    case = factories.case(session, job_runtime.settings)
    session.add(Photo(case_id=case.id, upload_path=of_case))
    from core.grants import files

    files.add_photos(session, gh.application(session, gh.open_round(session)).id, [(of_grant, "g.png")])
    session.commit()
    assert sweep_uploads() == []  # all just written: a request may still be about to commit its row
    with caplog.at_level(logging.INFO, logger="worker.jobs.uploads"):
        assert sweep_uploads(now=time.time() + 2 * 3600) == [orphan]
    assert "uploads/orphan.jpg" in caplog.text
    assert keys(job_runtime.settings) == sorted([of_case, of_grant, clean])
    assert sweep_uploads(now=time.time() + 2 * 3600) == []  # idempotent


@pytest.mark.each_store
def test_no_upload_folder_is_nothing_to_do(job_runtime):
    assert sweep_uploads() == []


def test_the_cron_enqueues_the_upload_sweep(monkeypatch, settings):
    from worker import cron

    registered = []
    monkeypatch.setattr(cron.JsonCronScheduler, "start", lambda self: registered.extend(self._cron_jobs))
    monkeypatch.setattr(cron.logging, "basicConfig", lambda **_: None)

    class Rt:
        redis = None

    Rt.settings = settings
    cron.schedule_forever(Rt())  # type: ignore[arg-type]
    assert "sweep_uploads" in [job.func.__name__ for job in registered]
