"""scripts/backup.sh and scripts/restore.sh: a district's cases and photos come back whole in a new, empty database."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import Database
from core.glossary import PhotoStatus
from core.media_urls import media_path
from core.models import Case, Photo
from core.models.base import utcnow
from media.demo_images import draw_scene
from media.imaging import process_photo
from media.storage import store_for
from tests.support import factories
from tests.support.backends import scratch_postgres

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
pytestmark = [pytest.mark.slow, pytest.mark.real_services("postgres")]


def run(script: str, *args: str, database_url: str, media_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "DATABASE_URL": database_url, "MEDIA_DIR": str(media_dir)}
    return subprocess.run([str(SCRIPTS / script), *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def district(session, settings):
    """Four cases, each with one or two ready photos (a picture and its thumbnail) under MEDIA_DIR."""
    grids = factories.grid_tree(session)
    made = []
    for n in range(4):
        case = factories.case(
            session, settings, grid=grids["G1"], reporter=factories.resident(session, f"o-backup-{n}")
        )
        for k in range(1 + n % 2):
            processed = process_photo(draw_scene(n * 2 + k))
            digest = hashlib.sha256(processed.jpeg).hexdigest()
            base = f"photos/2026/12/{case.id}-{k}-{digest[:12]}"
            photo = Photo(
                case_id=case.id,
                status=PhotoStatus.READY,
                path=store_for(settings).put(f"{base}.jpg", processed.jpeg, "image/jpeg"),
                thumb_path=store_for(settings).put(f"{base}-thumb.jpg", processed.thumbnail, "image/jpeg"),
                width=processed.width,
                height=processed.height,
                sha256=digest,
                processed_at=utcnow(),
            )
            session.add(photo)
        made.append(case.number)
    session.commit()
    return made


def test_a_backup_restores_into_an_empty_database_with_every_case_and_photo(
    district, settings, database_url, tmp_path, make_app
):
    backups = tmp_path / "backups"
    done = run("backup.sh", str(backups), database_url=database_url, media_dir=Path(settings.media_dir))
    assert done.returncode == 0, done.stderr
    backup = Path(done.stdout.splitlines()[-1])
    assert backup.parent == backups and {p.name for p in backup.iterdir()} == {
        "database.dump",
        "media.tar.gz",
        "SHA256SUMS",
    }

    restored_media = tmp_path / "restored-media"
    with scratch_postgres() as new_url:
        done = run("restore.sh", str(backup), database_url=new_url, media_dir=restored_media)
        assert done.returncode == 0, done.stderr

        database = Database(new_url)
        try:
            with database.session() as s:
                assert sorted(s.scalars(select(Case.number))) == sorted(district)
                photos = s.scalars(select(Photo)).all()
        finally:
            database.dispose()
        assert len(photos) == 6
        for photo in photos:
            assert hashlib.sha256((restored_media / photo.path).read_bytes()).hexdigest() == photo.sha256

        restored = settings.replace(database_url=new_url, media_dir=str(restored_media))
        client = make_app(restored).test_client()
        for photo in photos:
            for path in (photo.path, photo.thumb_path):
                served = client.get(media_path(restored, path))
                assert served.status_code == 200 and served.data == (restored_media / path).read_bytes()

        # Restoring again would mix two copies: the non-empty database and photo directory are refused.
        again = run("restore.sh", str(backup), database_url=new_url, media_dir=tmp_path / "other-media")
        assert again.returncode != 0 and "empty database" in again.stderr
        client.application.extensions["gongzhi"].database.dispose()


def test_a_damaged_backup_is_refused_before_anything_is_touched(district, settings, database_url, tmp_path):
    done = run("backup.sh", str(tmp_path / "b"), database_url=database_url, media_dir=Path(settings.media_dir))
    backup = Path(done.stdout.splitlines()[-1])
    with (backup / "media.tar.gz").open("ab") as fh:
        fh.write(b"\0")
    with scratch_postgres() as new_url:
        done = run("restore.sh", str(backup), database_url=new_url, media_dir=tmp_path / "m")
        assert done.returncode != 0 and "damaged" in done.stderr
    assert not (tmp_path / "m").exists()
