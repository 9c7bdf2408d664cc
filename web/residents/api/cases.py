"""A resident's own cases (reported or followed), open cases nearby, following, rating and reopening."""

from __future__ import annotations

from typing import Any

from flask import g
from sqlalchemy import select

from core.geo import Point
from core.glossary import CaseStatus, CoordSystem
from core.models import Case, Photo
from core.services import resident_cases
from core.services.nearby import RADIUS_M, nearby_open_cases
from web import ratelimit
from web.context import current_context, db_session
from web.errors import json_error
from web.residents.api.auth import current_resident
from web.residents.api.base import ApiBlueprint
from web.residents.api.present import case_detail, case_summary, nearby_case
from web.residents.api.schemas import (
    CaseDetailSchema,
    CaseListArgs,
    CasePageSchema,
    EvaluationSchema,
    NearbyArgs,
    NearbySchema,
    ReopenSchema,
)

# A resident follows a few cases a day at most; more is someone walking through case numbers.
FOLLOWS_PER_RESIDENT = {"limit": 10, "window_seconds": 3600}

blueprint = ApiBlueprint("mini_cases", __name__, url_prefix="/api/v1", description="我的案件与附近的案件")


def _detail(session: Any, case: Case, resident: Any) -> dict[str, Any]:
    photos = session.scalars(select(Photo).where(Photo.case_id == case.id, Photo.event_id.is_(None)).order_by(Photo.id))
    return case_detail(current_context().settings, case, resident, list(photos))


@blueprint.route("/cases")
@blueprint.resident_only
@blueprint.arguments(CaseListArgs, location="query")
@blueprint.response(200, CasePageSchema)
def list_cases(args: dict[str, Any]) -> Any:
    """我的案件：本人反映或关注的，按时间倒序分页。"""
    resident = current_resident()
    status = CaseStatus(args["status"]) if args.get("status") else None
    cases, total = resident_cases.my_cases_page(
        db_session(), resident, status=status, page=args["page"], per_page=args["per_page"]
    )
    return {
        "page": args["page"],
        "per_page": args["per_page"],
        "total": total,
        "cases": [case_summary(case, resident) for case in cases],
    }


@blueprint.route("/cases/nearby")
@blueprint.resident_only
@blueprint.arguments(NearbyArgs, location="query")
@blueprint.response(200, NearbySchema)
def nearby(args: dict[str, Any]) -> Any:
    """附近 200 米内尚未办结的同类案件（不含任何个人信息）；可关注其一，而不必重复上报。"""
    resident = current_resident()
    at = Point(args["lat"], args["lng"], CoordSystem(args["coord_system"]))
    found = nearby_open_cases(db_session(), at, category_code=args.get("category"))
    return {"radius_m": int(RADIUS_M), "cases": [nearby_case(item, resident) for item in found]}


@blueprint.route("/cases/<number>")
@blueprint.resident_only
@blueprint.response(200, CaseDetailSchema)
@blueprint.errors(404)
def show(number: str) -> Any:
    """一件本人反映或关注的案件：进度与照片。他人的案件一律 404。"""
    session = db_session()
    resident = current_resident()
    case = resident_cases.find_own_case(session, resident, number)
    return _detail(session, case, resident)


@blueprint.route("/cases/<number>/follow", methods=["POST"])
@blueprint.resident_only
@blueprint.response(200, CaseDetailSchema)
@blueprint.errors(404, 429)
def follow(number: str) -> Any:
    """关注一件尚未办结的案件（同一问题不必重复上报）：只见状态与进度。每人每小时至多 10 次；他人已办结的案件 404。"""
    context = current_context()
    # Every attempt counts, found or not: following is also a way to probe case numbers.
    if not ratelimit.hit(context.redis, "api-follow", str(g.resident_id), **FOLLOWS_PER_RESIDENT):
        return json_error(429, "too_many_requests", "关注太频繁，请一小时后再试")
    with context.uow() as uow:
        resident = current_resident(uow.session)
        case, _ = resident_cases.follow(uow.session, resident, number)
        uow.commit()
        return _detail(uow.session, case, resident)


@blueprint.route("/cases/<number>/evaluation", methods=["POST"])
@blueprint.resident_only
@blueprint.arguments(EvaluationSchema)
@blueprint.response(200, CaseDetailSchema)
@blueprint.errors(403, 404, 409)
def evaluate(body: dict[str, Any], number: str) -> Any:
    """评价已办结的案件：1–5 分和评语，仅反映人本人、仅一次。"""
    with current_context().uow() as uow:
        resident = current_resident(uow.session)
        event = resident_cases.evaluate(uow.session, resident, number, body["rating"], body["comment"])
        uow.commit()
        return _detail(uow.session, event.case, resident)


@blueprint.route("/cases/<number>/reopen", methods=["POST"])
@blueprint.resident_only
@blueprint.arguments(ReopenSchema)
@blueprint.response(200, CaseDetailSchema)
@blueprint.errors(403, 404, 409)
def reopen(body: dict[str, Any], number: str) -> Any:
    """没修好：办结后 7 天内退回重新处置，仅反映人本人（关注人 403）。"""
    with current_context().uow() as uow:
        resident = current_resident(uow.session)
        event = resident_cases.reopen(uow.session, resident, number, body["reason"])
        uow.commit()
        return _detail(uow.session, event.case, resident)
