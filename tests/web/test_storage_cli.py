"""`flask --app wsgi storage migrate --to s3://…`: a district on MEDIA_DIR moves to S3 without losing a photo,
and may run it again."""

from __future__ import annotations

from pathlib import Path

from core.glossary import PhotoStatus
from core.media_urls import media_path
from core.models import Attachment, Photo
from media.storage import open_store
from tests.support import factories
from tests.support.storage import raw_client

READY = "photos/2026/11/7-abcdef.jpg"
THUMB = "photos/2026/11/7-abcdef-thumb.jpg"
UPLOAD = "uploads/0f1e2d.jpg"
VOICE = "attachments/2026/11/3-voice.amr"
PDF = "grants/4/9a8b.pdf"
REST = "exports/2026-11.csv"  # no row refers to it; it moves all the same


def _district_on_disk(session, settings) -> dict[str, bytes]:
    files = {
        READY: b"\xff\xd8 clean photo",
        THUMB: b"\xff\xd8 thumb",
        UPLOAD: b"\xff\xd8 waiting for the worker",
        VOICE: b"#!AMR voice",
        PDF: b"%PDF-1.4 plan",
        REST: "编号,状态\n".encode(),
    }
    disk = open_store(None, settings)
    for key, data in files.items():
        disk.put(key, data)
    (Path(settings.media_dir) / "uploads" / ".tmp-half-written").write_bytes(b"half")
    case = factories.case(session, settings)
    session.add_all(
        [
            Photo(case_id=case.id, status=PhotoStatus.READY, path=READY, thumb_path=THUMB),
            Photo(case_id=case.id, upload_path=UPLOAD),
            Attachment(case_id=case.id, kind="voice", status=PhotoStatus.READY, path=VOICE),
        ]
    )
    session.commit()
    return files


def test_migrate_copies_everything_once_and_reports_what_it_did(session, settings, s3_store, make_app):
    files = _district_on_disk(session, settings)
    s3 = {**s3_store.settings, "storage_url": None}  # still on MEDIA_DIR; the S3 settings name the target
    app = make_app(settings.replace(**s3))
    cli = app.test_cli_runner()

    first = cli.invoke(args=["storage", "migrate", "--to", s3_store.url])
    assert first.exit_code == 0, first.output
    assert "已复制 6 个文件，跳过 0 个" in first.output and "数据库引用的 4 个文件都已在目标中" in first.output
    bucket = raw_client(s3_store.endpoint).list_objects_v2(Bucket=s3_store.bucket)["Contents"]
    assert sorted(item["Key"] for item in bucket) == sorted(f"{s3_store.prefix}/{key}" for key in files)
    target = open_store(s3_store.url, settings.replace(**s3_store.settings))
    assert all(target.read(key) == data for key, data in files.items())

    again = cli.invoke(args=["storage", "migrate", "--to", s3_store.url, "--verbose"])
    assert again.exit_code == 0, again.output
    assert "已复制 0 个文件，跳过 6 个" in again.output and f"skipped\t{READY}" in again.output

    # The same size with other bytes is another file: copied again.
    open_store(None, settings).put(REST, "编号,状态\r".encode())
    changed = cli.invoke(args=["storage", "migrate", "--to", s3_store.url])
    assert "已复制 1 个文件，跳过 5 个" in changed.output
    assert target.read(REST) == "编号,状态\r".encode()

    # Switched over: the web serves the migrated photo from the bucket.
    moved = make_app(settings.replace(**s3_store.settings, media_dir=str(Path(settings.media_dir) / "gone")))
    served = moved.test_client().get(media_path(settings, READY))
    assert served.status_code == 200 and served.data == files[READY]


def test_a_file_the_database_refers_to_that_is_nowhere_fails_the_run_naming_it(session, settings, s3_store, make_app):
    _district_on_disk(session, settings)
    Path(settings.media_dir, VOICE).unlink()
    app = make_app(settings.replace(**{**s3_store.settings, "storage_url": None}))
    answer = app.test_cli_runner().invoke(args=["storage", "migrate", "--to", s3_store.url])
    assert answer.exit_code == 1
    assert "已复制 5 个文件" in answer.output and f"数据库引用但两处都没有：{VOICE}" in answer.output


def test_migrate_refuses_a_target_that_is_no_store_or_the_source(settings, make_app):
    cli = make_app(settings).test_cli_runner()
    wrong = cli.invoke(args=["storage", "migrate", "--to", "ftp://elsewhere/media"])
    assert wrong.exit_code == 1 and "STORAGE_URL must be" in wrong.output
    same = cli.invoke(args=["storage", "migrate", "--to", f"file://{Path(settings.media_dir).resolve()}"])
    assert same.exit_code == 1 and "源存储与目标存储相同" in same.output
