"""Contact phone numbers: the digits matching compares, the keyed hash stored for it, and the masked form shown."""

from __future__ import annotations

import re

from core.privacy import crypto

# Mainland mobile numbers have 11 digits; matching compares the last 11, so "+86 138-1234-5678"
# and "13812345678" are the same person.
MATCH_DIGITS = 11


def phone_digits(phone: str | None) -> str:
    """The digits of `phone` that identify it (at most the last 11); "" for none."""
    return re.sub(r"\D", "", phone or "")[-MATCH_DIGITS:]


def phone_hash(phone: str | None) -> str | None:
    """The keyed hash stored beside an encrypted phone, for matching without opening it; None for none."""
    digits = phone_digits(phone)
    return crypto.current().keyed_hash(digits) if digits else None


def phone_matches(phone: str | None, stored_hash: str | None) -> bool:
    """Whether `phone` is the number whose keyed hash is `stored_hash` (under any key still known)."""
    digits = phone_digits(phone)
    return bool(digits and stored_hash) and stored_hash in crypto.current().hash_candidates(digits)


def mask_phone(phone: str | None) -> str:
    """A number as staff see it: 138****5678 for a mobile, 0551****4567 for a landline, **** for short ones.

    Only digits are kept; the first three (a mobile's carrier prefix; a landline's area code up to
    four) and the last four stay, everything between becomes four stars whatever its length.
    """
    digits = re.sub(r"\D", "", phone or "")
    if not digits:
        return ""
    if len(digits) == MATCH_DIGITS + 2 and digits.startswith("861"):
        digits = digits[2:]  # +86 in front of a mobile
    if len(digits) == MATCH_DIGITS and digits.startswith("1"):
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) >= 10 and digits.startswith("0"):
        head = 3 if digits[1] in "12" else 4  # 010 and 02x are the three-digit area codes
        return f"{digits[:head]}****{digits[-4:]}"
    if len(digits) >= 8:
        return f"{digits[:2]}****{digits[-2:]}"
    return "****"
