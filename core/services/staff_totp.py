"""Two factors for staff: TOTP (RFC 6238, any authenticator app) and one-time recovery codes.

The secret is stored encrypted with a key derived from SECRET_KEY (changing SECRET_KEY means
enrolling again); recovery codes are stored as SHA-256 hashes (they are random, so a plain hash
suffices) and each works once. A code's time step is remembered, so a code seen once is not
accepted again.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time

import pyotp
from cryptography.fernet import Fernet, InvalidToken

from core.errors import InvalidInput
from core.models import StaffUser

ISSUER = "共治"
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: codes are read off paper
STEP_SECONDS = 30


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"gongzhi.staff-totp:" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(secret_key: str, value: str) -> str:
    """`value` encrypted for storage (or for a browser session) under a key derived from `secret_key`."""
    return _fernet(secret_key).encrypt(value.encode()).decode()


def unseal(secret_key: str, sealed: str) -> str | None:
    """The value `seal` stored, or None if it was not sealed with this key."""
    try:
        return _fernet(secret_key).decrypt(sealed.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// URI an authenticator app reads from a QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step (this one or a neighbour, for clocks a little off) whose code is `code`."""
    totp = pyotp.TOTP(secret)
    step = int(now) // STEP_SECONDS
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.at(candidate * STEP_SECONDS), code):
            return candidate
    return None


def _recovery_codes(staff: StaffUser) -> list[str]:
    codes = ["".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10)) for _ in range(RECOVERY_CODES)]
    staff.totp_recovery = [_hash(code) for code in codes]
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def enrol(staff: StaffUser, secret: str, *, secret_key: str, code: str | None, now: float | None = None) -> list[str]:
    """Turn two factors on for `staff` with `secret`; returns the recovery codes, shown this once.

    `code` must be the current code of an authenticator that read `secret` (the console's check);
    None only for the operator's command, which prints the secret for the person to enrol. Enrolling
    again replaces the secret and the recovery codes.
    """
    now = time.time() if now is None else now
    step = None
    if code is not None:
        step = _matching_step(secret, _normalise(code), now)
        if step is None:
            raise InvalidInput("动态验证码不正确，请确认手机时间准确后重试")
    staff.totp_secret = seal(secret_key, secret)
    staff.totp_last_step = step
    return _recovery_codes(staff)


def check(staff: StaffUser, code: str | None, *, secret_key: str, now: float | None = None) -> bool:
    """Whether `code` is the current TOTP code of `staff` not used before, or an unused recovery code
    (which is then used up). Callers commit, so the used step or code is remembered."""
    if not code or staff.totp_secret is None:
        return False
    code = _normalise(code)
    if code.isdigit() and len(code) == 6:
        secret = unseal(secret_key, staff.totp_secret)
        step = _matching_step(secret, code, time.time() if now is None else now) if secret else None
        if step is None or (staff.totp_last_step is not None and step <= staff.totp_last_step):
            return False
        staff.totp_last_step = step
        return True
    hashed = _hash(code)
    remaining = list(staff.totp_recovery or [])
    if hashed not in remaining:
        return False
    remaining.remove(hashed)
    staff.totp_recovery = remaining  # a new list, so the JSON column is written
    return True
