"""A district's own governance platform: signing, the body of a pushed case, and the push records.

The contract is docs/platform-api.md. Both directions are signed the same way: HMAC-SHA256 with
PLATFORM_SECRET over `<timestamp>.<raw body>`, sent as `X-Gongzhi-Signature: sha256=<hex>` beside
`X-Gongzhi-Timestamp: <unix seconds>`. The moves the platform reports back are in
core/services/platform_events.py; the HTTP call out is worker/jobs/platform.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import outbox
from core.db import insert_or_ignore
from core.errors import InvalidInput, NotFound
from core.glossary import PhotoStatus
from core.media_urls import URL_MAX_AGE_SECONDS, media_url
from core.models import Case, Photo, PlatformPush
from core.privacy.masking import mask_text
from core.privacy.reporter import ANONYMOUS, reporter_reference
from core.services.privacy_consents import PLATFORM_SHARING, consent_state
from core.settings import Settings

SIGNATURE_HEADER = "X-Gongzhi-Signature"
TIMESTAMP_HEADER = "X-Gongzhi-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_PREFIX = "sha256="
# A signed request older or newer than this is refused, so a captured request cannot be replayed later.
REPLAY_WINDOW_SECONDS = 300

PENDING, SENT, FAILED = "pending", "sent", "failed"


class SignatureRefused(Exception):
    """A request whose signature is missing, wrong or outside the replay window (answered 401)."""


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The hex HMAC-SHA256 of `<timestamp>.<body>` under `secret`."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The two headers that sign `body` at `timestamp`."""
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: SIGNATURE_PREFIX + sign(secret, timestamp, body)}


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float,
    window: int = REPLAY_WINDOW_SECONDS,
) -> None:
    """Raise SignatureRefused unless `signature` signs `body` at `timestamp`, within `window` of `now`."""
    if not timestamp or not signature:
        raise SignatureRefused(f"缺少签名：请带上 {TIMESTAMP_HEADER} 和 {SIGNATURE_HEADER}")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureRefused(f"{TIMESTAMP_HEADER} 必须是 Unix 时间（秒）")
    if abs(now - int(timestamp)) > window:
        raise SignatureRefused(f"签名时间与服务器时间相差超过 {window} 秒，请求已过期")
    expected = SIGNATURE_PREFIX + sign(secret, timestamp, body)
    if not hmac.compare_digest(signature.strip().encode("utf-8", "replace"), expected.encode("ascii")):
        raise SignatureRefused("签名不正确")


def canonical_json(data: Any) -> bytes:
    """The bytes we send: UTF-8 JSON, Chinese unescaped, no spaces (the signature covers exactly these)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def idempotency_key(case: Case) -> str:
    """The key of a case's push: a case is accepted once, so it is pushed under one key for good."""
    return f"{case.number}:accepted"


def _local(moment: datetime | None, tz: tzinfo) -> str | None:
    return moment.astimezone(tz).isoformat(timespec="seconds") if moment else None


def photo_links(session: Session, case: Case, settings: Settings) -> list[dict[str, str]]:
    """Signed links to the case's reported photos that are processed (no EXIF), valid URL_MAX_AGE_SECONDS."""
    photos = session.scalars(
        select(Photo)
        .where(Photo.case_id == case.id, Photo.event_id.is_(None), Photo.status == PhotoStatus.READY)
        .order_by(Photo.id)
    ).all()
    return [
        {"url": media_url(settings, photo.path), "thumbnail_url": media_url(settings, photo.thumb_path or photo.path)}
        for photo in photos
        if photo.path
    ]


def shared_reference(session: Session, settings: Settings, case: Case) -> str | None:
    """The reporter reference the platform may have for `case`: only with the reporter's `platform_sharing`.

    The platform is the district's own statutory system, so the case itself is pushed without consent
    (PIPL art. 13(3)); what links cases of one person together is sent only when the reporter agreed,
    under the current notice, at the time of the push. None otherwise (and for an anonymous report).
    """
    reporter = case.reporter
    if reporter is None or reporter_reference(settings, case) is None:
        return None
    if not consent_state(session, settings, reporter).allows(PLATFORM_SHARING):
        return None
    return reporter_reference(settings, case)


def push_body(
    case: Case, key: str, tz: tzinfo, photos: Sequence[dict[str, str]] = (), *, reference: str | None = None
) -> dict[str, Any]:
    """What the platform receives for an accepted case (schema `push-request` in docs/platform-api.md).

    No personal data of the reporter is sent: no openid, name, phone or resident id, only `reference`
    (shared_reference: opaque, stable per resident, None when anonymous or not consented). The
    description and location label pass core.privacy.masking. `photos` are photo_links().
    """
    location = None
    if case.lat is not None and case.lng is not None and case.coord_system is not None:
        location = {
            "lat": case.lat,
            "lng": case.lng,
            "coord_system": case.coord_system.value,
            "label": mask_text(case.location_label or ""),
        }
    return {
        "idempotency_key": key,
        "number": case.number,
        "source": case.source.value,
        "category": {"code": case.category.code, "name": case.category.name} if case.category else None,
        "description": mask_text(case.description or ""),
        "location": location,
        "grid": {"code": case.grid.code, "name": case.grid.name} if case.grid else None,
        "tier": case.tier.value if case.tier else None,
        "routing_note": case.routing_note,
        "reporter": {"anonymous": case.anonymous, "label": ANONYMOUS if case.anonymous else None, "ref": reference},
        "photos": list(photos),
        "photo_links_expire_in": URL_MAX_AGE_SECONDS,
        "created_at": _local(case.created_at, tz),
        "accepted_at": _local(case.accepted_at, tz),
    }


def queue_push(session: Session, case: Case, *, attempts_before: int = 0) -> None:
    """Ask the worker to push `case` again (after the caller's commit), with a new round of tries.

    The first push is queued by case_loop.transition when the case is accepted.
    """
    outbox.add(session, outbox.CASE_PLATFORM_PUSH, {"case_id": case.id, "attempts_before": attempts_before})


def push_for(session: Session, case: Case) -> PlatformPush:
    """The case's push record, made on first use; concurrent jobs share one row through its unique key."""
    key = idempotency_key(case)
    insert_or_ignore(
        session,
        PlatformPush,
        {"case_id": case.id, "idempotency_key": key, "status": PENDING, "attempts": 0},
        ["idempotency_key"],
    )
    return session.scalars(select(PlatformPush).where(PlatformPush.idempotency_key == key)).one()


def retry_push(session: Session, push_id: int) -> PlatformPush:
    """Send a failed push again (the console's 重试): a new round of tries with the same idempotency key."""
    push = session.scalars(select(PlatformPush).where(PlatformPush.id == push_id).with_for_update()).one_or_none()
    if push is None:
        raise NotFound("没有这条推送记录")
    if push.status == SENT:
        raise InvalidInput(f"案件 {push.case.number} 已推送成功，无需重试")
    push.status = PENDING
    queue_push(session, push.case, attempts_before=push.attempts)
    return push


def unsettled_pushes(session: Session, limit: int = 200) -> Sequence[PlatformPush]:
    """Pushes not (yet) received by the platform, failed ones first, for the console."""
    query = (
        select(PlatformPush)
        .where(PlatformPush.status.in_((FAILED, PENDING)))
        .order_by((PlatformPush.status == FAILED).desc(), PlatformPush.id.desc())
        .limit(limit)
    )
    return session.scalars(query).all()
