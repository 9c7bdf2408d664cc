"""The staff API for patrols: check in, the check-ins, coverage, where one is and on duty, the WeChat binding."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from flask import Blueprint, g, request
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from core.audit import actions as A
from core.codes import Verdict
from core.errors import InvalidInput, NotFound
from core.geo import Point
from core.models import CheckIn, StaffUser
from core.models.base import utcnow
from core.services import patrol
from core.services.assignees import go_off_duty, record_position
from core.services.checkpoints import FORGED, SCENE_PREFIX, Scanned, resolve_code, resolve_scene, resolve_url
from web.context import current_context, db_session
from web.errors import json_error
from web.staff.audit import note
from web.staff.auth import staff_required

blueprint = Blueprint("patrol_api", __name__, url_prefix="/api/v1/staff")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("请求体必须是 JSON 对象")
    return body


def _day(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        if not _DAY.fullmatch(raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"日期格式应为 YYYY-MM-DD：{raw}") from None


def _resolve(session: Session, code: str) -> Scanned:
    """A sign's public code, its full URL, or its official-account scene `cp:<code>`."""
    settings = current_context().settings
    if "://" in code:
        return resolve_url(session, settings, code)
    if code.startswith(SCENE_PREFIX):
        return resolve_scene(session, settings, code) or FORGED
    return resolve_code(session, settings, code)


def check_in_json(check_in: CheckIn, staff: StaffUser) -> dict[str, Any]:
    checkpoint = check_in.checkpoint
    return {
        "id": check_in.id,
        "at": check_in.at.isoformat(),
        "source": check_in.source,
        "staff": {"username": staff.username, "name": staff.display_name},
        # "code" here is the printed label (CP0001): the field name is the staff API's, kept for its clients.
        "checkpoint": {"code": checkpoint.label, "name": checkpoint.name, "grid": checkpoint.grid.code},
        "location": (
            {"lat": check_in.lat, "lng": check_in.lng, "coord_system": check_in.coord_system.value}
            if check_in.lat is not None and check_in.coord_system
            else None
        ),
    }


@blueprint.post("/checkins")
@staff_required
def check_in():  # type: ignore[no-untyped-def]
    body = _json_body()
    code = body.get("code")
    if not isinstance(code, str) or not code.strip():
        raise InvalidInput("请提供 code：巡查点二维码上的编码或完整网址")
    with current_context().uow() as uow:
        scanned = _resolve(uow.session, code.strip())
        if scanned.verdict is Verdict.REPLACED:
            return json_error(410, "sign_replaced", "这个巡查点的二维码已经更换，请扫描现场张贴的新二维码")
        if not scanned.valid or scanned.checkpoint is None:
            raise NotFound("这不是本区巡查点的二维码")
        staff = uow.session.get_one(StaffUser, g.staff.id)
        now = utcnow()
        record = patrol.record_check_in(
            uow.session,
            staff,
            scanned.checkpoint,
            source="api",
            lat=body.get("lat"),
            lng=body.get("lng"),
            coord_system=body.get("coord_system"),
            now=now,
        )
        uow.commit()
        created = record.at == now
        return {"check_in": check_in_json(record, staff), "duplicate": not created}, 201 if created else 200


@blueprint.get("/checkins")
@staff_required
def list_check_ins():  # type: ignore[no-untyped-def]
    entries = patrol.check_ins(
        db_session(),
        g.staff,
        grid_code=request.args.get("grid") or None,
        username=request.args.get("staff") or None,
        day=_day(request.args.get("day")),
        tz=current_context().settings.tz,
    )
    note(A.CHECKINS_VIEW, detail={"channel": "api", "kind": "check_ins", "count": len(entries)})
    return {"check_ins": [check_in_json(e.check_in, e.staff) for e in entries]}


@blueprint.get("/coverage")
@staff_required
def grid_coverage():  # type: ignore[no-untyped-def]
    tz = current_context().settings.tz
    day = _day(request.args.get("day")) or datetime.now(tz).date()
    rows = patrol.coverage(db_session(), g.staff, day=day, tz=tz, grid_code=request.args.get("grid") or None)
    note(A.CHECKINS_VIEW, detail={"channel": "api", "kind": "coverage", "count": len(rows)})
    return {
        "day": day.isoformat(),
        "grids": [
            {
                "grid": row.grid_code,
                "name": row.name,
                "visited": row.visited,
                "total": row.total,
                "ratio": round(row.ratio, 4) if row.ratio is not None else None,
            }
            for row in rows
        ],
    }


@blueprint.post("/wechat-binding")
@staff_required
def wechat_binding():  # type: ignore[no-untyped-def]
    try:
        code = patrol.issue_binding_code(current_context().redis, g.staff)
    except RedisError:
        return json_error(503, "unavailable", "暂时无法生成绑定码，请稍后再试")
    return {
        "code": code,
        "expires_in": patrol.BINDING_TTL_SECONDS,
        "instruction": f"在公众号中发送「绑定 {code}」",
    }


@blueprint.post("/position")
@staff_required
def position():  # type: ignore[no-untyped-def]
    """Where the caller is now (the app reports it while on patrol), and optionally whether on duty.

    A position is kept only while on duty; `{"on_duty": false}` (no position needed) ends the duty and
    forgets the last position.
    """
    body = _json_body()
    on_duty = body.get("on_duty")
    if on_duty is not None and not isinstance(on_duty, bool):
        raise InvalidInput("on_duty 必须是 true 或 false")
    where = patrol.parse_position(body.get("lat"), body.get("lng"), body.get("coord_system"))
    if where is None and on_duty is not False:
        raise InvalidInput("请提供坐标 lat、lng 和坐标系 coord_system")
    with current_context().uow() as uow:
        staff = uow.session.get_one(StaffUser, g.staff.id)
        if where is None:
            go_off_duty(staff)
        else:
            record_position(staff, Point(*where), on_duty=on_duty)
        uow.commit()
        located_at = staff.last_located_at
        return {"on_duty": staff.on_duty, "located_at": located_at.isoformat() if located_at else None}
