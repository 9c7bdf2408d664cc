"""POST /platform/events: the district's own platform reports the moves it made on a pushed case.

Signed like the pushes (core/services/platform.py), idempotent by event id, applied in each case's
sequence order (core/services/platform_events.py). The contract is docs/platform-api.md.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, jsonify, request
from sqlalchemy.exc import IntegrityError

from core.errors import InvalidInput, NotFound
from core.models import PlatformEvent
from core.services import platform, platform_events
from web.context import current_context
from web.errors import json_error

blueprint = Blueprint("platform_api", __name__, url_prefix="/platform")
BODY_MAX = 64 * 1024


def _event_json(row: PlatformEvent) -> dict[str, Any]:
    return {"event_id": row.event_id, "sequence": row.sequence, "status": row.status, "error": row.error}


@blueprint.post("/events")
def events() -> Any:
    settings = current_context().settings
    if not settings.platform_secret:
        return json_error(404, "not_found", "未启用平台对接（PLATFORM_SECRET 未设置）")
    if (request.content_length or 0) > BODY_MAX:
        return json_error(413, "too_large", f"请求体不能超过 {BODY_MAX // 1024} KB")
    raw = request.get_data(cache=True)
    if len(raw) > BODY_MAX:
        return json_error(413, "too_large", f"请求体不能超过 {BODY_MAX // 1024} KB")
    try:
        platform.verify(
            settings.platform_secret,
            request.headers.get(platform.TIMESTAMP_HEADER),
            request.headers.get(platform.SIGNATURE_HEADER),
            raw,
            time.time(),
        )
    except platform.SignatureRefused as refused:
        return json_error(401, "bad_signature", str(refused))
    try:
        body = platform_events.check_body(request.get_json(force=True, silent=True))
    except InvalidInput as invalid:
        return json_error(400, "invalid", invalid.message)
    with current_context().uow() as uow:
        try:
            outcome = platform_events.apply_event(uow.session, body)
            uow.commit()
        except NotFound as missing:
            return json_error(404, "not_found", missing.message)
        except platform_events.EventConflict as conflict:
            return json_error(409, "conflict", conflict.message)
        except IntegrityError:
            # A twin of this event id was stored by a concurrent request for another case number.
            return json_error(409, "conflict", f"事件 {body['event_id']} 已收到过，内容与这次不同")
        event, case = outcome.event, outcome.case
        answer = {
            "event_id": event.event_id,
            "status": "duplicate" if outcome.duplicate else event.status,
            "event_status": event.status,
            "error": event.error,
            "case_number": case.number,
            "case_status": case.status.value,
            "processed": [_event_json(row) for row in outcome.processed],
        }
    return jsonify(answer), 200
