"""Every bot test runs twice: in plain mode and in safe mode (消息加解密)."""

from __future__ import annotations

import pytest

from tests.support.wechat_crypto import TEST_AES_KEY
from tests.support.wechat_sender import WeChatSender


@pytest.fixture(params=["plain", "safe"])
def mode(request) -> str:
    return request.param


@pytest.fixture
def settings(settings, mode):
    return settings.replace(wechat_encoding_aes_key=TEST_AES_KEY if mode == "safe" else None)


@pytest.fixture
def wechat(client, settings):
    return WeChatSender.for_settings(client, settings)
