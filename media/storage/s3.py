"""The store in an S3-compatible bucket (AWS, MinIO, Aliyun OSS, Tencent COS, Huawei OBS) through boto3."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from core.settings import Settings
from media.storage.base import ObjectInfo, ObjectMissing, StoredObject, StoreUnavailable, check_key

_MISSING = {"404", "NoSuchKey", "NotFound"}


def _config(settings: Settings) -> Config:
    # OSS, COS and OBS refuse the CRC checksums boto3 adds to every request since 1.36 (and their
    # answers carry none to validate): ask for checksums only where an operation requires one.
    return Config(
        region_name=settings.s3_region,
        signature_version="s3v4",
        s3={"addressing_style": settings.s3_addressing_style},
        connect_timeout=settings.storage_timeout_seconds,
        read_timeout=settings.storage_timeout_seconds,
        retries={"max_attempts": 3, "mode": "standard"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )


def _client(settings: Settings, endpoint_url: str | None) -> Any:
    session = boto3.session.Session(
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key,
        aws_session_token=settings.aws_session_token,
    )
    return session.client("s3", endpoint_url=endpoint_url, config=_config(settings))


def content_disposition(name: str) -> str:
    """`attachment` with the file's name, readable by every browser (RFC 6266: ASCII fallback and UTF-8)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name) or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


class S3Store:
    """Objects in `bucket` under `prefix/`; a key is the path after the prefix."""

    def __init__(self, bucket: str, prefix: str, settings: Settings) -> None:
        if not bucket:
            raise ValueError("STORAGE_URL s3://bucket/prefix names no bucket")
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.client = _client(settings, settings.s3_endpoint_url)
        # Presigned URLs are for browsers, which may reach the store at another address than the servers.
        public = settings.s3_public_endpoint_url
        self.public_client = _client(settings, public) if public else self.client

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _failed(self, exc: Exception) -> StoreUnavailable:
        code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
        return StoreUnavailable(f"object store {self.describe()} failed: {code}")

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)
        except (BotoCoreError, ClientError) as exc:
            raise self._failed(exc) from exc
        return key

    def open(self, key: str) -> StoredObject:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise ObjectMissing(key) from None
            raise self._failed(exc) from exc
        except BotoCoreError as exc:
            raise self._failed(exc) from exc
        info = ObjectInfo(key, answer["ContentLength"], answer["LastModified"], answer.get("ETag", "").strip('"'))
        return StoredObject(answer["Body"], info)

    def read(self, key: str) -> bytes:
        found = self.open(key)
        try:
            return bytes(found.stream.read())
        except BotoCoreError as exc:
            raise self._failed(exc) from exc
        finally:
            found.stream.close()

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            answer = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise self._failed(exc) from exc
        except BotoCoreError as exc:
            raise self._failed(exc) from exc
        return ObjectInfo(key, answer["ContentLength"], answer["LastModified"], answer.get("ETag", "").strip('"'))

    def exists(self, key: str) -> bool:
        return self.stat(key) is not None

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise self._failed(exc) from exc

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix + prefix)
        try:
            for page in pages:
                for item in page.get("Contents", ()):
                    key = item["Key"][len(self.prefix) :]
                    yield ObjectInfo(key, item["Size"], item["LastModified"], item.get("ETag", "").strip('"'))
        except (BotoCoreError, ClientError) as exc:
            raise self._failed(exc) from exc

    def presigned_url(
        self, key: str, seconds: int, content_type: str | None = None, download_name: str | None = None
    ) -> str | None:
        params = {"Bucket": self.bucket, "Key": self._key(key)}
        if content_type:
            params["ResponseContentType"] = content_type
        if download_name:
            params["ResponseContentDisposition"] = content_disposition(download_name)
        try:
            url = self.public_client.generate_presigned_url("get_object", Params=params, ExpiresIn=seconds)
        except BotoCoreError as exc:  # no credentials found: nothing can be signed
            raise self._failed(exc) from exc
        return str(url)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def digest(self, key: str) -> str:
        """The object's ETag: the MD5 of its bytes for an object put whole, as every store here does."""
        info = self.stat(key)
        if info is None:
            raise ObjectMissing(key)
        return info.etag or ""


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()
