"""Public checkpoint codes: the checkpoint's id and key version, sealed with an HMAC of SECRET_KEY.

A code reads `<id>-<version>-<mac>` (id and version in base 36, the MAC ten base-32 characters,
50 bits): short enough for a sparse, easily scanned QR, and impossible to guess, enumerate or
alter without the key. Rotating a checkpoint's key version makes every sign printed before it
recognisably old rather than merely wrong.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from enum import Enum

MAC_LENGTH = 10
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _ALPHABET[rest] + digits
        if number == 0:
            return digits


def _mac(secret: str, checkpoint_id: int, version: int) -> str:
    digest = hmac.new(secret.encode(), f"checkpoint:{checkpoint_id}:{version}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:MAC_LENGTH]


def make_code(secret: str, checkpoint_id: int, version: int) -> str:
    """The public code printed (as a URL) on a checkpoint's sign."""
    return f"{_base36(checkpoint_id)}-{_base36(version)}-{_mac(secret, checkpoint_id, version)}"


class Verdict(Enum):
    VALID = "valid"
    REPLACED = "replaced"  # a genuine code of an older sign: the checkpoint's code was rotated since
    FORGED = "forged"  # not made with our key, or no such checkpoint


@dataclass(frozen=True)
class ParsedCode:
    checkpoint_id: int
    version: int


def parse_code(secret: str, code: str) -> ParsedCode | None:
    """The id and version a code carries, if its MAC is ours; None for anything else."""
    parts = (code or "").strip().lower().split("-")
    if len(parts) != 3 or len(code) > 40:
        return None
    try:
        checkpoint_id, version = int(parts[0], 36), int(parts[1], 36)
    except ValueError:
        return None
    # As bytes: compare_digest refuses str with non-ASCII characters, which anyone may type.
    if not hmac.compare_digest(parts[2].encode(), _mac(secret, checkpoint_id, version).encode()):
        return None
    return ParsedCode(checkpoint_id, version)


def judge(parsed: ParsedCode | None, current_version: int | None) -> Verdict:
    """Whether a parsed code opens its checkpoint (current_version None: no such checkpoint)."""
    if parsed is None or current_version is None or parsed.version > current_version:
        return Verdict.FORGED
    return Verdict.VALID if parsed.version == current_version else Verdict.REPLACED
