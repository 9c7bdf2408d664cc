"""Both stores keep, list, stream and remove files alike; the S3 one speaks to S3-compatible stores as they need."""

from __future__ import annotations

import pytest
import requests

from core.errors import ConfigError
from core.settings import Settings
from media.storage import ObjectMissing, open_store, store_for
from media.storage.s3 import S3Store, content_disposition

# Presigning needs credentials, though it sends nothing.
KEYS = {"aws_access_key_id": "AKID-example", "aws_secret_access_key": "example-secret"}


@pytest.fixture(params=["file", "s3"])
def store(request, tmp_path):
    if request.param == "file":
        return open_store(f"file://{tmp_path / 'store'}", Settings())
    location = request.getfixturevalue("s3_store")
    return open_store(location.url, Settings(**location.settings))


def test_a_file_is_kept_read_listed_and_removed(store):
    assert store.put("photos/2026/11/1-ab.jpg", b"clean photo", "image/jpeg") == "photos/2026/11/1-ab.jpg"
    store.put("uploads/raw.jpg", b"raw")
    assert store.read("photos/2026/11/1-ab.jpg") == b"clean photo"
    opened = store.open("photos/2026/11/1-ab.jpg")
    with opened.stream as stream:
        assert stream.read() == b"clean photo"
    assert opened.info.size == len(b"clean photo")
    assert store.exists("uploads/raw.jpg") and not store.exists("uploads/other.jpg")
    assert [i.key for i in store.list("uploads/")] == ["uploads/raw.jpg"]
    assert sorted(i.key for i in store.list()) == ["photos/2026/11/1-ab.jpg", "uploads/raw.jpg"]
    store.put("uploads/raw.jpg", b"replaced whole")
    assert store.read("uploads/raw.jpg") == b"replaced whole"
    store.delete("uploads/raw.jpg")
    store.delete("uploads/raw.jpg")  # already gone: nothing happens
    assert not store.exists("uploads/raw.jpg") and store.stat("uploads/raw.jpg") is None
    with pytest.raises(ObjectMissing):
        store.open("uploads/raw.jpg")


def test_a_presigned_link_serves_the_object_over_http_with_the_type_and_name_asked(s3_store):
    store = open_store(s3_store.url, Settings(**s3_store.settings))
    store.put("grants/1/plan.pdf", b"%PDF-1.4 plan", "application/pdf")
    url = store.presigned_url("grants/1/plan.pdf", 60, content_type="application/pdf", download_name="计划书.pdf")
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200 and answer.content == b"%PDF-1.4 plan"
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.headers["Content-Disposition"] == content_disposition("计划书.pdf")
    assert "X-Amz-Expires=60" in url and "X-Amz-Signature=" in url


def test_the_file_store_makes_no_presigned_link(tmp_path):
    assert open_store(f"file://{tmp_path}", Settings()).presigned_url("a.jpg", 60) is None


def test_requests_carry_no_checksums_that_oss_cos_and_obs_refuse(s3_store):
    store = open_store(s3_store.url, Settings(**s3_store.settings))
    assert isinstance(store, S3Store)
    sent: list[dict[str, str]] = []
    # botocore's own event hook: every request as it leaves, after signing.
    store.client.meta.events.register("before-send.s3", lambda request, **_: sent.append(dict(request.headers)))
    store.put("uploads/a.jpg", b"\xff\xd8 photo", "image/jpeg")
    store.read("uploads/a.jpg")
    assert len(sent) == 2
    for headers in sent:
        names = {name.lower() for name in headers}
        assert not [n for n in names if n.startswith("x-amz-checksum") or n == "x-amz-sdk-checksum-algorithm"]
        assert "x-amz-trailer" not in names


def test_virtual_hosted_addressing_is_the_default_and_puts_the_bucket_in_the_host():
    settings = Settings(s3_endpoint_url="https://oss-cn-hangzhou.aliyuncs.com", s3_region="cn-hangzhou", **KEYS)
    store = open_store("s3://gongzhi-media/district", settings)
    url = store.presigned_url("photos/a.jpg", 60)
    assert url.startswith("https://gongzhi-media.oss-cn-hangzhou.aliyuncs.com/district/photos/a.jpg?")
    path_style = open_store("s3://gongzhi-media", settings.replace(s3_addressing_style="path"))
    assert path_style.presigned_url("a.jpg", 60).startswith("https://oss-cn-hangzhou.aliyuncs.com/gongzhi-media/a.jpg?")


def test_presigned_links_may_name_the_address_browsers_use():
    settings = Settings(
        s3_endpoint_url="http://minio.internal:9000",
        s3_public_endpoint_url="https://files.example.cn",
        s3_addressing_style="path",
        s3_region="us-east-1",
        **KEYS,
    )
    assert (
        open_store("s3://media", settings).presigned_url("a.jpg", 60).startswith("https://files.example.cn/media/a.jpg")
    )


def test_one_store_per_process_and_settings(tmp_path):
    settings = Settings(media_dir=str(tmp_path))
    assert store_for(settings) is store_for(settings)
    assert store_for(settings) is not store_for(settings.replace(media_dir=str(tmp_path / "other")))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STORAGE_URL": "ftp://host/media"}, "STORAGE_URL must be file:///path or s3://bucket/prefix"),
        ({"STORAGE_URL": "s3:///prefix"}, "names no bucket"),
        ({"STORAGE_URL": "file://relative/media"}, "absolute path"),
        ({"S3_ADDRESSING_STYLE": "subdomain"}, "S3_ADDRESSING_STYLE must be virtual or path"),
    ],
)
def test_a_wrong_storage_setting_stops_the_service_naming_it(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_settings_read_the_store_and_keep_the_secret_out_of_repr():
    settings = Settings.from_env(
        {
            "STORAGE_URL": "s3://media/prod",
            "S3_ENDPOINT_URL": "https://cos.ap-shanghai.myqcloud.com",
            "AWS_ACCESS_KEY_ID": "AKID-example",
            "AWS_SECRET_ACCESS_KEY": "secret-not-for-logs",
            "MEDIA_REDIRECT": "true",
        }
    )
    assert settings.storage_url == "s3://media/prod" and settings.media_redirect
    assert settings.s3_addressing_style == "virtual"
    assert "secret-not-for-logs" not in repr(settings) and "secret-not-for-logs" in settings.secret_values()


def test_production_with_a_storage_url_needs_no_media_dir():
    env = {
        "APP_ENV": "production",
        "SECRET_KEY": "k" * 40,
        "DATABASE_URL": "postgresql://db/gongzhi",
        "REDIS_URL": "redis://redis:6379/0",
        "PUBLIC_BASE_URL": "https://gongzhi.example.cn",
        "WECHAT_TOKEN": "token-of-the-account",
        "WECHAT_APP_ID": "wx1",
        "WECHAT_APP_SECRET": "s",
        "PERSONAL_DATA_KEY": "ab" * 32,
    }
    with pytest.raises(ConfigError, match="MEDIA_DIR"):
        Settings.from_env(env)
    assert Settings.from_env(env | {"STORAGE_URL": "s3://media"}).storage_url == "s3://media"
