"""The staff API: sign in, the caller's queue, one case, and the moves of the case loop."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, request
from sqlalchemy import or_, select

from core.errors import InvalidInput
from core.glossary import CaseStatus, Role
from core.models import Case, Grid, StaffUser
from core.services import cases as case_service
from core.services.staff import SignInRefused, sign_in
from web.auth import issue_token, staff_required
from web.context import app_context, db_session
from web.errors import json_error

blueprint = Blueprint("staff_api", __name__, url_prefix="/api/v1/staff")
PAGE_SIZE = 50


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("请求体必须是 JSON 对象")
    return body


def case_json(case: Case, *, with_timeline: bool = False) -> dict[str, Any]:
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
        "possible_duplicates": list(case.possible_duplicates or []),
        "assignee": case.assignee.username if case.assignee else None,
        "deadline_at": case.deadline_at.isoformat() if case.deadline_at else None,
        "created_at": case.created_at.isoformat(),
    }
    if with_timeline:
        data["timeline"] = [
            {
                "action": e.action,
                "from": e.from_status.value if e.from_status else None,
                "to": e.to_status.value,
                "note": e.note,
                "by": e.actor_staff.username if e.actor_staff else None,
                "at": e.created_at.isoformat(),
                "data": e.data,
            }
            for e in case.events
        ]
    return data


@blueprint.post("/token")
def token():  # type: ignore[no-untyped-def]
    body = _json_body()
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise InvalidInput("请提供 username 和 password")
    settings = app_context().settings
    with app_context().uow() as uow:
        try:
            staff = sign_in(
                uow.session,
                username,
                password,
                max_failures=settings.login_max_failures,
                lock_seconds=settings.login_lock_seconds,
            )
        except SignInRefused as refused:
            uow.commit()  # the failure counts towards the lock-out
            return json_error(401, refused.code, refused.message)
        uow.commit()
    return {
        "token": issue_token(staff),
        "expires_in": app_context().settings.staff_token_max_age_seconds,
        "staff": {"username": staff.username, "name": staff.display_name, "role": staff.role.value},
    }


@blueprint.get("/cases")
@staff_required
def queue():  # type: ignore[no-untyped-def]
    staff = g.staff
    query = select(Case).order_by(Case.id.desc())
    if staff.role != Role.DISTRICT_CENTER:
        in_area = Case.grid_id.in_(select(Grid.id).where(Grid.path.startswith(staff.grid.path))) if staff.grid else None
        mine = Case.assignee_id == staff.id
        query = query.where(or_(in_area, mine) if in_area is not None else mine)
    if status := request.args.get("status"):
        try:
            query = query.where(Case.status == CaseStatus(status))
        except ValueError:
            raise InvalidInput(f"未知状态：{status}") from None
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        raise InvalidInput("page 必须是正整数") from None
    rows = db_session().scalars(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
    return {"page": page, "has_more": len(rows) > PAGE_SIZE, "cases": [case_json(c) for c in rows[:PAGE_SIZE]]}


@blueprint.get("/cases/<number>")
@staff_required
def show(number: str):  # type: ignore[no-untyped-def]
    case = case_service.find_case(db_session(), g.staff, number)
    return case_json(case, with_timeline=True)


@blueprint.post("/cases/<number>/actions")
@staff_required
def act(number: str):  # type: ignore[no-untyped-def]
    body = _json_body()
    action = body.get("action")
    if not isinstance(action, str):
        raise InvalidInput("请提供 action")
    with app_context().uow() as uow:
        staff = uow.session.get(StaffUser, g.staff.id)
        event = case_service.perform(uow.session, staff, number, action, body)
        uow.commit()
        return {"case": case_json(event.case, with_timeline=True), "event_id": event.id}
