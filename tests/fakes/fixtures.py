"""Pytest fixtures for the fakes.

To use them in every test, import them into tests/conftest.py:

    from tests.fakes.fixtures import fake_wechat, fake_wechat_remote  # noqa: F401

Until then a test module may import them the same way. Point the code under test at the fake with
`settings.replace(wechat_api_base=fake_wechat.base_url)`; the fake accepts the default
Settings().wechat_app_id / wechat_app_secret. A worker process reaches the same fake through that
base URL, and its control API through `FakeWeChatRemote(base_url)`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.settings import Settings
from tests.fakes.wechat_api import FakeWeChatAPI, FakeWeChatRemote


@pytest.fixture
def fake_wechat() -> Iterator[FakeWeChatAPI]:
    """A fresh fake WeChat API server on loopback, knowing the default app id and secret."""
    defaults = Settings()
    with FakeWeChatAPI(defaults.wechat_app_id, defaults.wechat_app_secret) as fake:
        yield fake


@pytest.fixture
def fake_wechat_remote(fake_wechat: FakeWeChatAPI) -> FakeWeChatRemote:
    """The same fake, driven over HTTP as another process would drive it."""
    return FakeWeChatRemote(fake_wechat.base_url)
