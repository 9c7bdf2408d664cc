"""Console case pages: the queues, one case with its map and timeline, and the moves allowed now."""

from __future__ import annotations

import functools
from typing import Any

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, request, url_for
from sqlalchemy import or_, select

from core.audit import actions as A
from core.errors import GongzhiError, InvalidInput
from core.geo import Point
from core.glossary import CaseStatus, CoordSystem, PhotoStatus, Role, Tier
from core.media_urls import media_path
from core.models import Case, Category, Grid, Photo, StaffUser
from core.privacy.anonymise import redacted_ids, shown_note
from core.privacy.contact import mask_phone
from core.privacy.reporter import reporter_for_staff
from core.services import cases as case_service
from core.services import queues
from core.services.assignees import suggest_assignees
from core.services.intake import MAX_PHOTOS
from web import uploads
from web.context import current_context, current_store, db_session
from web.csrf import check_csrf
from web.errors import STATUS
from web.limits import body_limit, uploads_limit
from web.staff import contact
from web.staff.audit import list_detail, note, viewed_case
from web.staff.auth import page_staff_required
from web.staff.console.maps import case_map_svg

blueprint = Blueprint("console_cases", __name__, url_prefix="/console")
FILTERS = ("status", "tier", "grid", "category")


@blueprint.app_template_filter("local")
def local_time(value: Any, fmt: str = "%m-%d %H:%M") -> str:
    """A UTC timestamp in the district's time zone, the way staff read times."""
    return value.astimezone(current_context().settings.tz).strftime(fmt) if value else ""


@blueprint.app_template_filter("mask_phone")
def masked_phone(value: Any) -> str:
    """A phone number as staff see it on every page: 138****5678."""
    return mask_phone(str(value) if value else None)


def _area_grids(staff: StaffUser) -> list[Grid]:
    query = select(Grid).order_by(Grid.path)
    if staff.role != Role.DISTRICT_CENTER:
        if staff.grid is None:
            return []
        query = query.where(Grid.path.startswith(staff.grid.path, autoescape=True))
    return list(db_session().scalars(query.limit(500)))


@blueprint.get("/")
@page_staff_required
def queue() -> Any:
    args = request.args
    default_view = "mine" if g.staff.role in (Role.GRID_WORKER, Role.DEPARTMENT) else "new"
    filters: dict[str, Any] = {name: args.get(name) or None for name in FILTERS}
    wanted = queues.QueueFilter(
        view=args.get("view", default_view),
        page=args.get("page", 1, type=int) or 1,
        **filters,
    )
    try:
        found = queues.queue(db_session(), g.staff, wanted)
    except InvalidInput as error:
        flash(error.message, "error")
        return redirect(url_for("console_cases.queue"), code=303)
    note(A.CASE_LIST, detail=list_detail("console", wanted.view, found.page, len(found.cases)))
    kept = {name: getattr(wanted, name) for name in FILTERS if getattr(wanted, name)}
    categories = db_session().scalars(
        select(Category).where(Category.parent_id.is_(None)).order_by(Category.sort_order)
    )
    return render_template(
        "console/queue.html",
        found=found,
        wanted=wanted,
        kept=kept,
        views=queues.VIEWS,
        statuses=list(CaseStatus),
        tiers=list(Tier),
        grids=_area_grids(g.staff),
        categories=list(categories),
    )


def _assignee_choices(staff: StaffUser) -> list[StaffUser]:
    """People a dispatcher may name: field staff and centers in their area, and every department unit."""
    query = select(StaffUser).where(StaffUser.is_active.is_(True), StaffUser.role != Role.COMMITTEE)
    if staff.role != Role.DISTRICT_CENTER and staff.grid is not None:
        inside = StaffUser.grid_id.in_(staff.grid.subtree_ids())
        query = query.where(
            or_(inside, StaffUser.role.in_((Role.DEPARTMENT, Role.DISTRICT_CENTER, Role.STREET_CENTER)))
        )
    return list(db_session().scalars(query.order_by(StaffUser.role, StaffUser.username).limit(300)))


def _case_page(case: Case, *, error: str | None = None, status: int = 200, revealed_phone: str | None = None) -> Any:
    # `revealed_phone`: the full call-back number in place of the masked one (「查看完整号码」).
    settings = current_context().settings
    session = db_session()
    moves = case_service.available_moves(g.staff, case)
    photos = session.scalars(select(Photo).where(Photo.case_id == case.id).order_by(Photo.id)).all()
    point = (
        Point(case.lat, case.lng, case.coord_system)
        if case.lat is not None and case.lng is not None and case.coord_system is not None
        else None
    )
    grid = case.grid
    system = grid.coord_system if grid else point.system if point else CoordSystem.GCJ02
    title = f"{grid.name if grid else '网格外'}与案件位置"
    drawing = case_map_svg(grid.boundary if grid else None, system, point, title=title)
    wants_people = any(m in moves for m in ("dispatch", "escalate", "reassign"))
    return (
        render_template(
            "console/case.html",
            case=case,
            masked_phone=None if case.anonymous else mask_phone(case.contact_phone),
            revealed_phone=revealed_phone,
            reporter=reporter_for_staff(case),
            note_of=functools.partial(shown_note, redacted=redacted_ids(case.events)),
            moves=[(name, case_service.MOVES[name]) for name in moves],
            error=error,
            map_svg=drawing,
            before=[p for p in photos if p.event_id is None],
            after=[p for p in photos if p.event_id is not None],
            photo_src=lambda p: media_path(settings, p.thumb_path or p.path) if p.status == PhotoStatus.READY else None,
            photo_full=lambda p: media_path(settings, p.path) if p.status == PhotoStatus.READY and p.path else None,
            suggestions=suggest_assignees(session, case, within=g.staff.grid) if "dispatch" in moves else [],
            choices=_assignee_choices(g.staff) if wants_people else [],
            tiers=list(Tier),
            default_tier=case.tier or (case.category.default_tier if case.category else None) or Tier.COMMUNITY,
        ),
        status,
    )


@blueprint.get("/cases/<number>")
@page_staff_required
def case_page(number: str) -> Any:
    return _case_page(viewed_case(number, channel="console"))


def _form_params() -> dict[str, Any]:
    params: dict[str, Any] = {key: request.form.get(key) for key in request.form if key != "csrf_token"}
    if "passed" in params:
        params["passed"] = {"yes": True, "no": False}.get(params["passed"] or "")
    return params


@blueprint.post("/cases/<number>/<action>")
@body_limit(uploads_limit(MAX_PHOTOS))  # a handling with after-photos
@page_staff_required
def act(number: str, action: str) -> Any:
    check_csrf()
    store = current_store()
    params = _form_params()
    files = [f for f in request.files.getlist("photos") if f.filename] if action == "handle" else []
    try:
        saved = uploads.save_photos(store, files)
    except uploads.UploadRejected as rejected:
        return _case_page(case_service.find_case(db_session(), g.staff, number), error=str(rejected), status=400)
    params["photos"] = saved.paths
    try:
        with current_context().uow() as uow:
            staff = uow.session.get_one(StaffUser, g.staff.id)
            event = case_service.perform(uow.session, staff, number, action, params)
            label = case_service.MOVES[action].label
            uow.commit()
            new_status = event.to_status.label
    except GongzhiError as error:
        uploads.discard(store, saved.paths)
        case = case_service.find_case(db_session(), g.staff, number)  # NotFound stays a 404
        code = next((s for cls, s in STATUS.items() if isinstance(error, cls)), 400)
        return _case_page(case, error=error.message, status=code)
    except BaseException:
        uploads.discard(store, saved.paths)
        raise
    flash(f"已{label}：案件 {number} 现为「{new_status}」", "ok")
    return redirect(url_for("console_cases.case_page", number=number), code=303)


REFUSALS = {
    "forbidden": (403, "您无权查看该案件的联系电话"),
    "rate_limited": (429, "查看完整号码太频繁，请一小时后再试"),
}


@blueprint.post("/cases/<number>/phone/reveal")
@page_staff_required
def reveal_phone(number: str) -> Any:
    """「查看完整号码」: the case page once more with the full number, audited; never a GET."""
    check_csrf()
    outcome = contact.reveal(g.staff, number)
    if outcome.refused is not None:
        status, sentence = REFUSALS[outcome.refused]
        abort(status, description=sentence)
    body, status = _case_page(case_service.find_case(db_session(), g.staff, number), revealed_phone=outcome.phone)
    return contact.not_kept(make_response(body, status))
