"""An S3 endpoint for tests (moto's server over real HTTP on loopback) and helpers to look into a store."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import boto3
from botocore.config import Config

from core.settings import Settings
from media.storage import Store, store_for
from tests.support.processes import free_port, wait_until

REGION = "us-east-1"
# moto accepts any credentials; these only have to look like a pair.
KEY_ID, SECRET = "test-key-id", "test-secret-key-not-real"


@dataclass(frozen=True)
class S3Location:
    """A fresh bucket on the test endpoint: the settings and the environment that point the service at it."""

    endpoint: str
    bucket: str
    prefix: str = "gongzhi"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    @property
    def settings(self) -> dict[str, object]:
        """Keyword arguments for Settings(...) / settings.replace(...)."""
        return {
            "storage_url": self.url,
            "s3_endpoint_url": self.endpoint,
            "s3_region": REGION,
            "s3_addressing_style": "path",  # 127.0.0.1 has no bucket subdomains
            "aws_access_key_id": KEY_ID,
            "aws_secret_access_key": SECRET,
        }

    @property
    def env(self) -> dict[str, str]:
        """The same as environment variables, for a command run as an operator would."""
        return {name.upper(): str(value) for name, value in self.settings.items()}

    def client(self):  # type: ignore[no-untyped-def]
        return raw_client(self.endpoint)


def raw_client(endpoint: str):  # type: ignore[no-untyped-def]
    """A plain boto3 client on the test endpoint, to look at the bucket past the store."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=Config(s3={"addressing_style": "path"}),
    )


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's S3 server in a thread of this process on a free loopback port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        client = raw_client(endpoint)
        wait_until(lambda: _answers(client), timeout=20, what="moto's S3 server to answer")
        yield endpoint
    finally:
        server.stop()


def _answers(client) -> bool:  # type: ignore[no-untyped-def]
    try:
        client.list_buckets()
    except Exception:
        return False
    return True


def new_bucket(endpoint: str) -> S3Location:
    location = S3Location(endpoint, f"gz-test-{uuid.uuid4().hex[:16]}")
    raw_client(endpoint).create_bucket(Bucket=location.bucket)
    return location


def store_of(settings: Settings) -> Store:
    """The store the service uses with these settings (the same object the app and the jobs use)."""
    return store_for(settings)


def keys(settings: Settings, prefix: str = "") -> list[str]:
    """The keys in the store under `prefix`, sorted."""
    return sorted(item.key for item in store_for(settings).list(prefix))
