"""Field encryption of personal data: AES-256-GCM or SM4-GCM (国密), with a keyed hash for matching.

A stored value reads `v1:<cipher>:<key id>:<base64url(nonce | ciphertext | tag)>`; the header is
authenticated with it, so a value cannot be moved to another cipher or key id unnoticed. The key id
names which key sealed it, so `PERSONAL_DATA_KEY` can rotate: old rows open with a key listed in
`PERSONAL_DATA_KEY_FALLBACKS` until `flask --app wsgi privacy rekey` has sealed them again.

Every process configures the cipher once at start (`configure`, from its settings); using it
unconfigured is an error, never a silent default.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as c_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.errors import ConfigError, GongzhiError
from core.settings import Settings

VERSION = "v1"
CIPHERS = ("aes", "sm4")
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_HINT = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


class CipherError(GongzhiError):
    """A stored value that cannot be opened: unknown key id, tampered, or not sealed at all.

    The message names the problem and the key id, never the value.
    """


def parse_key(raw: str, name: str = "PERSONAL_DATA_KEY") -> bytes:
    """32 key bytes from 64 hex digits or base64 (standard or URL-safe); anything else is a ConfigError."""
    text = raw.strip()
    key: bytes | None = None
    if len(text) == 2 * KEY_BYTES:
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = None
    if key is None:
        try:
            key = base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            key = None
    if key is None or len(key) != KEY_BYTES:
        raise ConfigError(f"{name} must be {KEY_BYTES} random bytes in hex or base64; make one with {KEY_HINT}")
    return key


@dataclass(frozen=True)
class _Key:
    kid: str
    enc: bytes
    mac: bytes


def _derive(master: bytes, cipher: str) -> _Key:
    # Separate keys for sealing and hashing; under 国密 the derivation itself uses SM3.
    algorithm: hashes.HashAlgorithm = hashes.SM3() if cipher == "sm4" else hashes.SHA256()

    def hkdf(info: bytes, length: int) -> bytes:
        return HKDF(algorithm=algorithm, length=length, salt=None, info=b"gongzhi/personal-data/" + info).derive(master)

    kid = hashlib.sha256(b"gongzhi/personal-data/kid:" + master).hexdigest()[:8]
    return _Key(kid=kid, enc=hkdf(b"enc", 16 if cipher == "sm4" else 32), mac=hkdf(b"mac", 32))


class FieldCipher:
    """Seals and opens single values, and makes keyed hashes for matching without opening."""

    def __init__(self, cipher: str, key: bytes, fallbacks: tuple[bytes, ...] = ()) -> None:
        if cipher not in CIPHERS:
            raise ConfigError(f"PERSONAL_DATA_CIPHER must be one of {', '.join(CIPHERS)}, not {cipher!r}")
        self.cipher = cipher
        self._current = _derive(key, cipher)
        # Values sealed before a rotation (the fallbacks), or before a district switched to 国密 (the
        # other cipher), still open; new values are sealed only under the current key and cipher.
        self._keys: dict[str, _Key] = {}
        for master in (key, *fallbacks):
            for name in CIPHERS:
                derived = self._current if (master, name) == (key, cipher) else _derive(master, name)
                self._keys.setdefault(f"{name}:{derived.kid}", derived)

    @classmethod
    def from_settings(cls, settings: Settings) -> FieldCipher:
        return cls(
            settings.personal_data_cipher,
            parse_key(settings.personal_data_key),
            tuple(parse_key(k, "PERSONAL_DATA_KEY_FALLBACKS") for k in settings.personal_data_key_fallbacks),
        )

    @property
    def kid(self) -> str:
        """The current key's id, as it appears in values it seals."""
        return self._current.kid

    def header(self) -> str:
        return f"{VERSION}:{self.cipher}:{self._current.kid}"

    def encrypt(self, plain: str) -> str:
        """`plain` sealed under the current key and cipher, with a fresh random nonce."""
        header = self.header()
        nonce = os.urandom(NONCE_BYTES)
        sealed = _seal(self.cipher, self._current.enc, nonce, plain.encode(), header.encode())
        return f"{header}:{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"

    def decrypt(self, stored: str) -> str:
        """The plain value of `stored`; CipherError if it is not ours, its key is unknown, or it was altered."""
        parts = stored.split(":")
        if len(parts) != 4 or parts[0] != VERSION or parts[1] not in CIPHERS:
            raise CipherError("存储的个人信息不是加密格式（未加密的旧数据？请先运行迁移）")
        _, cipher, kid, body = parts
        key = self._keys.get(f"{cipher}:{kid}")
        if key is None:
            raise CipherError(f"个人信息的密钥 {kid}（{cipher}）不在 PERSONAL_DATA_KEY 或其 FALLBACKS 中")
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            raise CipherError(f"个人信息密文已损坏（密钥 {kid}）") from None
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise CipherError(f"个人信息密文已损坏（密钥 {kid}）")
        try:
            plain = _open(cipher, key.enc, raw[:NONCE_BYTES], raw[NONCE_BYTES:], f"{VERSION}:{cipher}:{kid}".encode())
        except InvalidTag:
            raise CipherError(f"个人信息密文校验失败，可能被篡改（密钥 {kid}）") from None
        return plain.decode()

    def is_current(self, stored: str) -> bool:
        """Whether `stored` is sealed under the current cipher and key (rekey leaves it alone)."""
        return stored.startswith(self.header() + ":")

    def keyed_hash(self, value: str) -> str:
        """HMAC-SHA256 (aes) or HMAC-SM3 (sm4) of `value` under the current key: equal values, equal hashes."""
        mac = c_hmac.HMAC(self._current.mac, hashes.SM3() if self.cipher == "sm4" else hashes.SHA256())
        mac.update(value.encode())
        return mac.finalize().hex()

    def hash_candidates(self, value: str) -> set[str]:
        """`value`'s keyed hash under every key this cipher knows: a hash stored before a rotation still
        matches until rekey has written it again under the current key."""
        found = {self.keyed_hash(value)}
        for name_kid, key in self._keys.items():
            algorithm = hashes.SM3() if name_kid.startswith("sm4:") else hashes.SHA256()
            mac = c_hmac.HMAC(key.mac, algorithm)
            mac.update(value.encode())
            found.add(mac.finalize().hex())
        return found


def _seal(cipher: str, key: bytes, nonce: bytes, plain: bytes, aad: bytes) -> bytes:
    if cipher == "aes":
        return AESGCM(key).encrypt(nonce, plain, aad)
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    return encryptor.update(plain) + encryptor.finalize() + encryptor.tag


def _open(cipher: str, key: bytes, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    if cipher == "aes":
        return AESGCM(key).decrypt(nonce, sealed, aad)
    body, tag = sealed[:-TAG_BYTES], sealed[-TAG_BYTES:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(aad)
    return decryptor.update(body) + decryptor.finalize()


_configured: FieldCipher | None = None


def configure(settings: Settings) -> FieldCipher:
    """Set this process's cipher from `settings` (app factory, worker start, CLI, tests)."""
    global _configured
    _configured = FieldCipher.from_settings(settings)
    return _configured


def current() -> FieldCipher:
    """This process's cipher; a ConfigError if nothing configured it (never a silent default key)."""
    if _configured is None:
        raise ConfigError("personal-data cipher used before configure(settings) was called in this process")
    return _configured


def current_or_from_env() -> FieldCipher:
    """The configured cipher, else one from the environment's settings (a migration run by alembic alone)."""
    return _configured if _configured is not None else FieldCipher.from_settings(Settings.from_env())
