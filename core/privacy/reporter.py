"""Who reported a case, as each audience may know it: staff see a name or 匿名, the platform an opaque reference.

An anonymous report (`Case.anonymous`) still reaches its reporter with every notification; only the
people handling it, and the external platform, are told nothing about who sent it.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from core.models import Case
from core.privacy.contact import mask_phone
from core.settings import Settings

ANONYMOUS = "匿名"
# A resident who gave no nickname.
RESIDENT = "居民"


def reporter_for_staff(case: Case) -> dict[str, Any] | None:
    """The reporter as staff handling the case see them, or None when no resident reported it.

    `name` is 匿名 for an anonymous report, else the WeChat nickname (居民 without one);
    `contact_phone` is the number the resident left for call-backs, masked (the full number only through
    the audited reveal), never for an anonymous report.
    No openid, resident id or account phone is shown to anyone.
    """
    if case.anonymous:
        return {"anonymous": True, "name": ANONYMOUS, "contact_phone": None}
    if case.reporter is None and not case.contact_phone:
        return None
    name = (case.reporter.nickname if case.reporter is not None else None) or RESIDENT
    return {"anonymous": False, "name": name, "contact_phone": mask_phone(case.contact_phone) or None}


def reference_key(settings: Settings) -> bytes:
    """The key of reporter references: PLATFORM_REFERENCE_KEY, else one derived from SECRET_KEY."""
    if settings.platform_reference_key:
        return settings.platform_reference_key.encode()
    return hmac.new(settings.secret_key.encode(), b"gongzhi platform reporter reference", hashlib.sha256).digest()


def reporter_reference(settings: Settings, case: Case) -> str | None:
    """An opaque reference to the case's reporter, the same for every case of one resident.

    The platform can tell that two cases came from one person (repeat reports, call-back history)
    without learning who: an HMAC of the resident id, which only this service can link back.
    None for an anonymous report or a case no resident reported.
    """
    if case.anonymous or case.reporter_id is None:
        return None
    digest = hmac.new(reference_key(settings), f"resident:{case.reporter_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]
