"""Console pages 微公益: rounds and their committee, each application with scoring (committee) and moves (staff)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from core.audit import actions as A
from core.errors import Forbidden, GongzhiError, InvalidInput, NotFound
from core.glossary import PhotoStatus, Role
from core.grants import applications, committee, decisions, loop, money, progress
from core.grants import rounds as grant_rounds
from core.grants.terms import Decision, MemberKind
from core.models import GrantApplication, GrantEvent, GrantFile, GrantMember, GrantRound, Grid, StaffUser
from web import grant_files
from web.context import current_context, db_session
from web.csrf import check_csrf
from web.staff.audit import note
from web.staff.auth import page_staff_required
from web.staff.console import grant_forms

blueprint = Blueprint("console_grants", __name__, url_prefix="/console")
NAV = ("console_grants.rounds", "微公益")
# Who runs the fund (each within its area: core/grants/rounds.py): opens rounds, seats the committee,
# moves applications, pays.
MANAGERS = grant_rounds.MANAGERS
# The top-bar link: those who run the fund and the committee (others would find no round of theirs).
NAV_ROLES = MANAGERS | {Role.COMMITTEE}


def _manager() -> bool:
    return g.staff.role in MANAGERS


def _require_manager() -> None:
    if not _manager():
        abort(403)


def _me(session: Any) -> StaffUser:
    staff: StaffUser = session.get(StaffUser, g.staff.id)
    return staff


def _visible_rounds(session: Any) -> list[GrantRound]:
    """The rounds of the staff member's area (a manager), or those they sit on (a committee member)."""
    query = select(GrantRound).where(grant_rounds.visible_to(_me(session))).order_by(GrantRound.id.desc())
    return list(session.scalars(query))


def _seat(session: Any, round_id: int) -> GrantMember | None:
    query = select(GrantMember).where(GrantMember.round_id == round_id, GrantMember.staff_id == g.staff.id)
    return session.scalar(query)


def _act(success: str, back: str, work: Callable[[Any], None]) -> Any:
    """Run `work` in a unit of work: flash its success, or the domain's reason; back to `back`."""
    check_csrf()
    try:
        with current_context().uow() as uow:
            work(uow.session)
            uow.commit()
        flash(success, "ok")
    except NotFound:
        abort(404)  # a round outside the staff member's area, or none: the same answer
    except GongzhiError as error:
        flash(error.message, "error")
    return redirect(back, code=303)


@blueprint.get("/grants")
@page_staff_required
def rounds() -> Any:
    session = db_session()
    me = _me(session)
    return render_template(
        "console/grants/rounds.html",
        rounds=_visible_rounds(session),
        manager=_manager(),
        staff_grid=me.grid if me.role != Role.DISTRICT_CENTER else None,
        tz=current_context().settings.tz,
    )


@blueprint.post("/grants")
@page_staff_required
def open_round() -> Any:
    _require_manager()

    def work(session: Any) -> None:
        staff = _me(session)
        code = request.form.get("grid", "").strip()
        grid = session.scalar(select(Grid).where(Grid.code == code)) if code else None
        if code and grid is None:
            raise InvalidInput(f"网格 {code} 不存在")
        data = grant_forms.round_input(request.form.to_dict(), current_context().settings.tz)
        grant_rounds.open_round(session, data, staff=staff, grid=grid)

    return _act("已开启新一期项目", url_for("console_grants.rounds"), work)


@blueprint.get("/grants/<int:round_id>")
@page_staff_required
def round_page(round_id: int) -> Any:
    session = db_session()
    try:
        grant_round = grant_rounds.visible_round(session, _me(session), round_id)
    except NotFound:
        exists = session.get(GrantRound, round_id) is not None
        note(A.GRANT_APPLICATION_LIST, A.TARGET_GRANT_ROUND, round_id, result="denied" if exists else "failed")
        abort(404)
    found = session.scalars(
        select(GrantApplication)
        .where(GrantApplication.round_id == round_id, GrantApplication.status != loop.S.DRAFT)
        .order_by(GrantApplication.id)
    )
    rows = []
    for application in found:
        eligible, scored, average = committee.tally(session, application)
        rows.append((application, eligible, scored, average, committee.supports(session, application.id)))
    note(A.GRANT_APPLICATION_LIST, A.TARGET_GRANT_ROUND, round_id, detail={"count": len(rows)})
    members = [(m, session.get(StaffUser, m.staff_id)) for m in grant_round.members]
    candidates = session.scalars(select(StaffUser).where(StaffUser.role == Role.COMMITTEE).order_by(StaffUser.username))
    return render_template(
        "console/grants/round.html",
        round=grant_round,
        rows=rows,
        members=members,
        candidates=list(candidates),
        kinds=list(MemberKind),
        manager=_manager(),
        committed=sum(a.approved_fen or 0 for a, *_ in rows),
        tz=current_context().settings.tz,
    )


@blueprint.post("/grants/<int:round_id>/members")
@page_staff_required
def seat_member(round_id: int) -> Any:
    _require_manager()

    def work(session: Any) -> None:
        grant_round = grant_rounds.managed_round(session, _me(session), round_id)
        staff = session.scalar(select(StaffUser).where(StaffUser.username == request.form.get("username", "")))
        if staff is None:
            raise InvalidInput("没有这个账号")
        resident = request.form.get("resident_id", "").strip()
        kind = MemberKind(request.form.get("kind", MemberKind.EXPERT.value))
        grant_rounds.seat_member(
            session,
            grant_round,
            staff,
            kind,
            resident_id=int(resident) if resident.isdigit() else None,
            phone=request.form.get("phone", "").strip() or None,
        )

    return _act("已加入评审委员会", url_for("console_grants.round_page", round_id=round_id), work)


@blueprint.post("/grants/<int:round_id>/applications")
@page_staff_required
def enter_application(round_id: int) -> Any:
    """Staff type in an application brought on paper (no WeChat applicant, so nobody is messaged)."""
    _require_manager()

    def work(session: Any) -> None:
        staff = _me(session)
        grant_round = grant_rounds.managed_round(session, staff, round_id)
        application = applications.draft(
            session, grant_round, grant_forms.application_input(request.form.to_dict()), staff=staff
        )
        if request.form.get("submit"):
            applications.submit(session, application, staff=staff)

    return _act("已录入申请", url_for("console_grants.round_page", round_id=round_id), work)


@blueprint.post("/grants/<int:round_id>/publish")
@page_staff_required
def publish(round_id: int) -> Any:
    _require_manager()

    def work(session: Any) -> None:
        staff = _me(session)
        decisions.publish(session, grant_rounds.managed_round(session, staff, round_id), staff=staff)

    return _act("评审结果已公布，申请人将收到通知", url_for("console_grants.round_page", round_id=round_id), work)


def _application(session: Any, application_id: int, *, audited: bool = False) -> GrantApplication:
    """An application of a round the staff member runs or sits on; 404 for any other.

    `audited`: this is a view of it; the view, or its refusal, goes in the access log.
    """
    application = session.get(GrantApplication, application_id)
    target = (A.GRANT_APPLICATION_VIEW, A.TARGET_GRANT_APPLICATION, application_id)
    if application is None:
        if audited:
            note(*target, result="failed")
        abort(404)
    try:
        grant_rounds.visible_round(session, _me(session), application.round_id)
    except NotFound:
        if audited:
            note(*target, result="denied")
        abort(404)
    if audited:
        note(*target, detail={"round": application.round_id})
    return application


@blueprint.get("/grants/applications/<int:application_id>")
@page_staff_required
def application_page(application_id: int) -> Any:
    session = db_session()
    application = _application(session, application_id, audited=True)
    seat = _seat(session, application.round_id)
    events = session.scalars(
        select(GrantEvent).where(GrantEvent.application_id == application.id).order_by(GrantEvent.id)
    )
    eligible, scored, average = committee.tally(session, application)
    settings = current_context().settings
    files = session.scalars(
        select(GrantFile)
        .where(GrantFile.application_id == application.id, GrantFile.status == PhotoStatus.READY)
        .order_by(GrantFile.id)
    )
    return render_template(
        "console/grants/application.html",
        files=[(file, grant_files.file_url(settings, file)) for file in files],
        a=application,
        seat=seat,
        board=committee.board(session, seat, application) if seat else None,
        events=list(events),
        eligible=eligible,
        scored=scored,
        average=average if _manager() else None,
        supports=committee.supports(session, application.id),
        balances=money.balances(session, application) if application.approved_fen else [],
        reports=progress.reports(session, application.id),
        manager=_manager(),
        S=loop.S,
        decidable=application.status in decisions.DECIDABLE,
        tz=current_context().settings.tz,
    )


ACTIONS: dict[str, tuple[str, Callable[[Any, GrantApplication, StaffUser], Any]]] = {
    "review": ("已提交评审委员会", lambda s, a, st: applications.start_review(s, a, staff=st)),
    "ask_info": (
        "已请申请人补充材料",
        lambda s, a, st: applications.ask_for_information(s, a, staff=st, note=request.form.get("note", "")),
    ),
    "withdraw": (
        "已撤回",
        lambda s, a, st: applications.withdraw(s, a, staff=st, note=request.form.get("note", "")),
    ),
    "approve": (
        "已记录资助决定（待公布）",
        lambda s, a, st: decisions.record(
            s,
            a,
            Decision.APPROVE,
            staff=st,
            amount_fen=grant_forms.fen(request.form.get("amount", ""), "资助金额"),
            note=request.form.get("note", ""),
        ),
    ),
    "decline": (
        "已记录不予资助（待公布）",
        lambda s, a, st: decisions.record(s, a, Decision.DECLINE, staff=st, note=request.form.get("note", "")),
    ),
    "disburse": (
        "已记录拨款",
        lambda s, a, st: money.disburse(
            s,
            a,
            int(request.form.get("source_id", "0") or 0),
            grant_forms.fen(request.form.get("amount", ""), "拨款金额"),
            staff=st,
            note=request.form.get("note", ""),
        ),
    ),
    "complete": (
        "已验收结项",
        lambda s, a, st: progress.accept_completion(s, a, staff=st, note=request.form.get("note", "")),
    ),
}


@blueprint.post("/grants/applications/<int:application_id>/<action>")
@page_staff_required
def act(application_id: int, action: str) -> Any:
    back = url_for("console_grants.application_page", application_id=application_id)
    if action in ("score", "conflict"):
        return _committee_act(application_id, action, back)
    _require_manager()
    if action not in ACTIONS:
        abort(404)
    success, run = ACTIONS[action]

    def work(session: Any) -> None:
        staff = _me(session)
        run(session, grant_rounds.managed_application(session, staff, application_id), staff)

    return _act(success, back, work)


def _committee_act(application_id: int, action: str, back: str) -> Any:
    def work(session: Any) -> None:
        application = _application(session, application_id)
        seat = _seat(session, application.round_id)
        if seat is None:
            raise Forbidden("您不是本期评审委员会成员")
        if action == "conflict":
            grant_rounds.declare_conflict(session, seat, application, request.form.get("reason", ""))
        else:
            marks = grant_forms.scores(request.form.to_dict(), application.round.rubric)
            committee.submit_scores(session, seat, application, marks, request.form.get("comment", ""))

    return _act("已提交评分" if action == "score" else "已申报利益冲突并回避", back, work)
