"""The staff API: sign in, the caller's queue, one case, who is nearest, and the moves of the case loop."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, request
from sqlalchemy import select

from core.audit import Actor, record
from core.audit import actions as A
from core.errors import InvalidInput
from core.glossary import PhotoStatus, Role
from core.media_urls import media_url
from core.models import Case, Photo, StaffUser
from core.privacy.anonymise import redacted_ids, shown_note
from core.privacy.contact import mask_phone
from core.privacy.reporter import reporter_for_staff
from core.services import cases as case_service
from core.services.assignees import suggest_assignees
from core.services.intake import MAX_PHOTOS
from core.services.queues import QueueFilter, queue
from core.services.staff import SignInRefused, TooManyAttempts, end_all_sessions, sign_in
from web import uploads
from web.context import current_context, current_store, db_session
from web.errors import json_error
from web.limits import body_limit, uploads_limit
from web.staff.audit import list_detail, note, note_refused_sign_in, viewed_case
from web.staff.auth import client_address, issue_token, sign_in_limits, staff_required

blueprint = Blueprint("staff_api", __name__, url_prefix="/api/v1/staff")


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("请求体必须是 JSON 对象")
    return body


def _minutes(start: Any, end: Any) -> float | None:
    return round((end - start).total_seconds() / 60, 1) if start and end else None


def case_json(case: Case, *, staff: StaffUser | None = None, with_timeline: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": case.number,
        "status": case.status.value,
        "status_label": case.status.label,
        "source": case.source.value,
        "description": case.description,
        "category": case.category.code if case.category else None,
        "location": (
            {"lat": case.lat, "lng": case.lng, "coord_system": case.coord_system.value, "label": case.location_label}
            if case.lat is not None and case.coord_system
            else None
        ),
        "grid": case.grid.code if case.grid else None,
        "tier": case.tier.value if case.tier else None,
        "routing_note": case.routing_note,
        # Masked; the full number only through POST …/phone/reveal, which is audited.
        "contact_phone": None if case.anonymous else mask_phone(case.contact_phone) or None,
        "possible_duplicates": list(case.possible_duplicates or []),
        "assignee": case.assignee.username if case.assignee else None,
        "assisting": list(case.assisting_units or []),
        "deadline_at": case.deadline_at.isoformat() if case.deadline_at else None,
        "overdue": case.overdue_at is not None,
        "created_at": case.created_at.isoformat(),
        "minutes_to_dispatch": _minutes(case.created_at, case.dispatched_at),
        "minutes_to_handle": _minutes(case.dispatched_at, case.handled_at),
    }
    if staff is not None:
        data["moves"] = case_service.available_moves(staff, case)
    if with_timeline:
        # One case opened by its handler: who reported it (匿名 for an anonymous report) and the
        # call-back number they left. Never in queue listings, never an openid or resident id.
        data["reporter"] = reporter_for_staff(case)
        redacted = redacted_ids(case.events)
        data["timeline"] = [
            {
                "action": e.action,
                "from": e.from_status.value if e.from_status else None,
                "to": e.to_status.value,
                "note": shown_note(e, redacted),
                "by": e.actor_staff.username if e.actor_staff else None,
                "at": e.created_at.isoformat(),
                "data": e.data,
            }
            for e in case.events
        ]
        settings = current_context().settings
        photos = db_session().scalars(select(Photo).where(Photo.case_id == case.id).order_by(Photo.id)).all()
        data["photos"] = [
            {
                "stage": "after" if photo.event_id else "before",
                "status": photo.status.value,
                "url": media_url(settings, photo.path) if photo.status == PhotoStatus.READY and photo.path else None,
            }
            for photo in photos
        ]
    return data


@blueprint.post("/token")
def token():  # type: ignore[no-untyped-def]
    body = _json_body()
    username, password, totp = body.get("username"), body.get("password"), body.get("totp")
    if not isinstance(username, str) or not isinstance(password, str):
        raise InvalidInput("请提供 username 和 password")
    if totp is not None and not isinstance(totp, str):
        raise InvalidInput("totp 必须是字符串（6 位动态验证码或恢复码）")
    context = current_context()
    with context.uow() as uow:
        try:
            staff = sign_in(
                uow.session,
                context.redis,
                username,
                password,
                client=client_address(),
                limits=sign_in_limits(),
                second_factor=totp,
                secret_key=context.settings.secret_key,
            )
        except TooManyAttempts as refused:
            note_refused_sign_in("api", refused)
            return json_error(429, refused.code, refused.message)
        except SignInRefused as refused:
            uow.rollback()
            note_refused_sign_in("api", refused)
            return json_error(401, refused.code, refused.message)
        actor = Actor.of_staff(staff, client_address())

        def signed_in(result: str = "ok", reason: str | None = None) -> None:
            detail = {"channel": "api", "reason": reason} if reason else {"channel": "api"}
            record(uow.session, actor, A.STAFF_SIGN_IN, A.TARGET_STAFF, staff.id, result=result, detail=detail)
            uow.commit()

        if staff.role == Role.AUDITOR:
            # The auditor works in the console alone; a token would open nothing (web/staff/audit.py).
            signed_in("denied", "role")
            return json_error(403, "forbidden", "审计管理员只能在工作台查看审计日志，不能使用工作人员接口")
        if context.settings.staff_totp_required and staff.totp_secret is None:
            signed_in("denied", "totp_enrolment")
            return json_error(
                403, "totp_enrolment_required", "本系统要求两步验证：请先登录工作台，在「账号安全」中绑定验证器"
            )
        signed_in()
    return {
        "token": issue_token(staff),
        "expires_in": current_context().settings.staff_token_max_age_seconds,
        "staff": {"username": staff.username, "name": staff.display_name, "role": staff.role.value},
    }


@blueprint.delete("/token")
@staff_required
def sign_out_everywhere():  # type: ignore[no-untyped-def]
    """Void every token and console session of the caller ("sign out everywhere")."""
    with current_context().uow() as uow:
        staff = uow.session.get(StaffUser, g.staff.id)
        assert staff is not None
        end_all_sessions(staff)
        uow.commit()
    return "", 204


def _page_number(raw: str | None) -> int:
    try:
        return int(raw or 1)
    except ValueError:
        raise InvalidInput("page 必须是正整数") from None


@blueprint.get("/cases")
@staff_required
def cases():  # type: ignore[no-untyped-def]
    args = request.args
    wanted = QueueFilter(
        view=args.get("view", "all"),
        status=args.get("status"),
        tier=args.get("tier"),
        grid=args.get("grid"),
        category=args.get("category"),
        page=_page_number(args.get("page")),
    )
    found = queue(db_session(), g.staff, wanted)
    note(A.CASE_LIST, detail=list_detail("api", wanted.view, found.page, len(found.cases)))
    return {"page": found.page, "has_more": found.has_more, "cases": [case_json(c) for c in found.cases]}


@blueprint.get("/cases/<number>")
@staff_required
def show(number: str):  # type: ignore[no-untyped-def]
    case = viewed_case(number, channel="api")
    return case_json(case, staff=g.staff, with_timeline=True)


@blueprint.get("/cases/<number>/suggestions")
@staff_required
def suggestions(number: str):  # type: ignore[no-untyped-def]
    """The on-duty field workers nearest to the case, for the dispatcher."""
    session = db_session()
    case = case_service.find_case(session, g.staff, number)
    nearest = suggest_assignees(session, case, within=g.staff.grid)
    return {
        "suggestions": [
            {
                "username": s.staff.username,
                "name": s.staff.display_name,
                "role": s.staff.role.value,
                "grid": s.staff.grid.code if s.staff.grid else None,
                "distance_m": round(s.distance_m),
                "located_at": s.located_at.isoformat(),
            }
            for s in nearest
        ]
    }


def _action_params() -> dict[str, Any]:
    """The move's parameters: a JSON body, or a multipart form (a handling with after-photos)."""
    if request.mimetype != "multipart/form-data":
        return _json_body()
    params: dict[str, Any] = {key: request.form.get(key) for key in request.form}
    if "passed" in params:
        params["passed"] = {"true": True, "false": False}.get(str(params["passed"]).lower(), params["passed"])
    if "assisting" in params:
        params["assisting"] = request.form.getlist("assisting")
    return params


@blueprint.post("/cases/<number>/actions")
@body_limit(uploads_limit(MAX_PHOTOS))  # a handling with after-photos
@staff_required
def act(number: str):  # type: ignore[no-untyped-def]
    params = _action_params()
    action = params.get("action")
    if not isinstance(action, str):
        raise InvalidInput("请提供 action")
    files = [f for f in request.files.getlist("photos") if f.filename]
    if files and action != "handle":
        raise InvalidInput("只有处置（handle）可以附照片")
    store = current_store()
    try:
        saved = uploads.save_photos(store, files)
    except uploads.UploadRejected as rejected:
        raise InvalidInput(str(rejected)) from None
    params["photos"] = saved.paths
    try:
        with current_context().uow() as uow:
            staff = uow.session.get_one(StaffUser, g.staff.id)
            event = case_service.perform(uow.session, staff, number, action, params)
            uow.commit()
            return {"case": case_json(event.case, staff=staff, with_timeline=True), "event_id": event.id}
    except BaseException:
        uploads.discard(store, saved.paths)  # a refused move keeps no photo
        raise
