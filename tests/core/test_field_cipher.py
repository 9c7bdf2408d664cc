"""Contact details sealed: both ciphers round-trip, a wrong key or an altered value fails clearly, masking."""

from __future__ import annotations

import base64

import pytest

from core.errors import ConfigError
from core.privacy import crypto
from core.privacy.contact import mask_phone, phone_digits
from core.privacy.crypto import CipherError, FieldCipher, parse_key
from core.settings import Settings
from tests.support.sealed import KEY_A, KEY_B, PHONE, PHONE_RUN


@pytest.mark.parametrize("name", ["aes", "sm4"])
def test_each_cipher_round_trips_and_never_seals_the_same_way_twice(name):
    cipher = FieldCipher(name, parse_key(KEY_A))
    first, second = cipher.encrypt(PHONE), cipher.encrypt(PHONE)
    assert first != second  # a fresh nonce each time: equal numbers are not equal ciphertexts
    assert first.startswith(f"v1:{name}:{cipher.kid}:") and not PHONE_RUN.search(first)
    assert cipher.decrypt(first) == cipher.decrypt(second) == PHONE
    assert cipher.decrypt(cipher.encrypt("王小明 · 0551-6512 3456")) == "王小明 · 0551-6512 3456"


def test_the_two_ciphers_hash_with_their_own_hmac():
    aes, sm4 = FieldCipher("aes", parse_key(KEY_A)), FieldCipher("sm4", parse_key(KEY_A))
    assert aes.keyed_hash(PHONE) == aes.keyed_hash(PHONE) != aes.keyed_hash("13812345679")
    assert aes.keyed_hash(PHONE) != sm4.keyed_hash(PHONE)  # HMAC-SHA256 vs HMAC-SM3
    assert FieldCipher("aes", parse_key(KEY_B)).keyed_hash(PHONE) != aes.keyed_hash(PHONE)


def test_a_wrong_key_fails_clearly_and_names_no_value():
    sealed = FieldCipher("aes", parse_key(KEY_A)).encrypt(PHONE)
    with pytest.raises(CipherError) as raised:
        FieldCipher("aes", parse_key(KEY_B)).decrypt(sealed)
    assert "PERSONAL_DATA_KEY" in raised.value.message and sealed.split(":")[2] in raised.value.message
    assert PHONE not in raised.value.message and sealed not in raised.value.message


@pytest.mark.parametrize("name", ["aes", "sm4"])
def test_an_altered_value_or_header_is_refused(name):
    cipher = FieldCipher(name, parse_key(KEY_A))
    sealed = cipher.encrypt(PHONE)
    head, body = sealed.rsplit(":", 1)
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[15] ^= 1
    flipped = f"{head}:{base64.urlsafe_b64encode(bytes(raw)).decode().rstrip('=')}"
    other = "sm4" if name == "aes" else "aes"
    for altered in (flipped, sealed.replace(f"v1:{name}:", f"v1:{other}:"), f"{head}:AAAA", PHONE, "v2:" + sealed[3:]):
        with pytest.raises(CipherError):
            cipher.decrypt(altered)


def test_after_a_rotation_old_values_open_with_a_fallback_and_new_ones_use_the_new_key():
    old = FieldCipher("aes", parse_key(KEY_A))
    sealed = old.encrypt(PHONE)
    rotated = FieldCipher("aes", parse_key(KEY_B), (parse_key(KEY_A),))
    assert rotated.decrypt(sealed) == PHONE and not rotated.is_current(sealed)
    assert rotated.is_current(rotated.encrypt(PHONE)) and rotated.kid != old.kid
    assert old.keyed_hash(PHONE) in rotated.hash_candidates(PHONE)
    # A district moving to 国密 keeps its key: values sealed with AES under it still open.
    assert FieldCipher("sm4", parse_key(KEY_A)).decrypt(sealed) == PHONE


def test_keys_are_32_bytes_of_hex_or_base64():
    key = bytes(range(32))
    for written in (key.hex(), base64.b64encode(key).decode(), base64.urlsafe_b64encode(key).decode().rstrip("=")):
        assert parse_key(written) == key
    for bad in ("", "short", "ab" * 31, base64.b64encode(bytes(16)).decode(), "zz" * 32):
        with pytest.raises(ConfigError, match="32 random bytes"):
            parse_key(bad)
    with pytest.raises(ConfigError, match="PERSONAL_DATA_CIPHER"):
        FieldCipher("des", key)


def test_an_unconfigured_process_refuses_instead_of_using_a_default_key():
    saved = crypto._configured
    crypto._configured = None
    try:
        with pytest.raises(ConfigError, match="configure"):
            crypto.current()
    finally:
        crypto._configured = saved
    assert crypto.current() is saved


def test_the_development_key_is_not_secret_but_settings_register_the_key_as_one():
    settings = Settings(personal_data_key=KEY_A, personal_data_key_fallbacks=(KEY_B,))
    assert {KEY_A, KEY_B} <= set(settings.secret_values()) and KEY_A not in repr(settings)


@pytest.mark.parametrize(
    ("phone", "shown"),
    [
        ("13812345678", "138****5678"),
        ("+86 138-1234-5678", "138****5678"),
        ("0551-65123456", "0551****3456"),
        ("010 1234 5678", "010****5678"),  # 11 digits starting 0: a Beijing landline
        ("12345678", "12****78"),
        ("110", "****"),
        ("", ""),
        (None, ""),
    ],
)
def test_phones_are_masked_the_way_staff_see_them(phone, shown):
    assert mask_phone(phone) == shown


def test_matching_compares_the_last_eleven_digits():
    assert phone_digits("+86 138 1234 5678") == phone_digits("13812345678") == "13812345678"
    assert phone_digits(None) == ""
