"""WeChat's safe mode (消息加解密) written from its specification, to test our wechatpy-based side against."""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import xml.etree.ElementTree as ET

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# A fixed 43-character EncodingAESKey, as the WeChat admin page generates them.
TEST_AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
BLOCK = 32  # WeChat pads to 32 bytes (PKCS#7 with a 32-byte block), not AES's 16


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


class SafeMode:
    def __init__(self, token: str, encoding_aes_key: str, app_id: str) -> None:
        self.token = token
        self.key = base64.b64decode(encoding_aes_key + "=")
        self.app_id = app_id

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, plain_xml: str) -> str:
        body = plain_xml.encode()
        data = os.urandom(16) + struct.pack(">I", len(body)) + body + self.app_id.encode()
        pad = BLOCK - len(data) % BLOCK
        data += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()

    def decrypt(self, encrypted: str) -> tuple[str, str]:
        """(the XML, the app id it was encrypted for)."""
        decryptor = self._cipher().decryptor()
        data = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
        data = data[: -data[-1]]
        length = struct.unpack(">I", data[16:20])[0]
        return data[20 : 20 + length].decode(), data[20 + length :].decode()

    def envelope(self, plain_xml: str, timestamp: str, nonce: str) -> tuple[str, str]:
        """(the POST body WeChat sends in safe mode, its msg_signature)."""
        encrypted = self.encrypt(plain_xml)
        body = (
            f"<xml><ToUserName><![CDATA[gh_3a1b2c4d5e6f]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        )
        return body, signature(self.token, timestamp, nonce, encrypted)

    def open_reply(self, reply_xml: str) -> str:
        """The plain XML inside an encrypted reply, after checking its signature and app id."""
        root = ET.fromstring(reply_xml)
        encrypted = root.findtext("Encrypt")
        expected = signature(self.token, root.findtext("TimeStamp"), root.findtext("Nonce"), encrypted)
        assert root.findtext("MsgSignature") == expected, "reply signature does not verify"
        plain, app_id = self.decrypt(encrypted)
        assert app_id == self.app_id, f"reply encrypted for {app_id}"
        return plain
