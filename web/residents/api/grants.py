"""Micro-grants in the mini-program: rounds, the public list with support, one's own applications and reports."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import g
from sqlalchemy import select

from core.errors import Forbidden, NotFound
from core.glossary import PhotoStatus
from core.grants import applications as apps
from core.grants import committee, loop, progress
from core.grants.applications import ApplicationInput
from core.models import GrantApplication, GrantEvent, GrantFile, GrantRound, Resident
from core.services.intake import MAX_PHOTOS
from web import grant_files, ratelimit
from web.context import current_context, db_session
from web.errors import json_error, validation_error
from web.limits import body_limit, uploads_limit
from web.residents.api.auth import current_resident
from web.residents.api.base import ApiBlueprint
from web.residents.api.grant_schemas import (
    MAX_ATTACHMENTS,
    ApplicationContentSchema,
    ApplicationListSchema,
    ApplicationSchema,
    AttachmentsSchema,
    FilesSchema,
    NewApplicationSchema,
    ProgressReportSchema,
    PublicListSchema,
    RoundSchema,
    RoundsSchema,
    SupportAnswerSchema,
    WithdrawSchema,
)
from web.uploads import UploadRejected

blueprint = ApiBlueprint("mini_grants", __name__, url_prefix="/api/v1", description="微公益项目")

# Uploads to one's applications (photos, attachments, reports with photos): counted per resident,
# before the body is parsed.
UPLOADS_PER_RESIDENT = {"limit": 20, "window_seconds": 3600}


def _upload_rate_limited(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse (429) a resident's upload beyond UPLOADS_PER_RESIDENT, before their files are read."""

    @functools.wraps(view)
    def limited(*args: Any, **kwargs: Any) -> Any:
        redis = current_context().redis
        if not ratelimit.hit(redis, "grant-upload", str(g.resident_id), **UPLOADS_PER_RESIDENT):
            return json_error(429, "too_many_requests", "上传太频繁，请稍后再试")
        return view(*args, **kwargs)

    return limited


def _number(value: str) -> int:
    """A path's id; anything but a plain number that fits is no such thing (404)."""
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise NotFound("不存在")
    return int(value)


def _round(grant_round: GrantRound) -> dict[str, Any]:
    return {
        "id": grant_round.id,
        "name": grant_round.name,
        "description": grant_round.description,
        "categories": grant_round.categories,
        "budget_fen": grant_round.budget_fen,
        "cap_per_application_fen": grant_round.cap_per_application_fen,
        "category_caps": {k: int(v) for k, v in grant_round.category_caps.items()},
        "opens_at": grant_round.opens_at.isoformat(),
        "closes_at": grant_round.closes_at.isoformat(),
        "accepting": apps.window_open(grant_round) and grant_round.decisions_published_at is None,
        "sources": [{"name": s.name, "share_percent": s.share_bp / 100} for s in grant_round.sources],
    }


def _input(body: dict[str, Any], resident: Resident) -> ApplicationInput:
    team = []
    for person in body["team"]:
        entry = {k: v for k, v in person.items() if k != "me"}
        if person.get("me"):
            entry["resident_id"] = resident.id  # the link by which committee members are recused
        team.append(entry)
    return ApplicationInput(
        title=body["title"],
        category=body["category"],
        summary=body["summary"],
        beneficiaries=body["beneficiaries"],
        schedule=body["schedule"],
        group_name=body["group_name"],
        team=team,
        budget_lines=body["budget_lines"],
    )


def _detail(session: Any, application: GrantApplication) -> dict[str, Any]:
    settings = current_context().settings
    events = session.scalars(
        select(GrantEvent).where(GrantEvent.application_id == application.id).order_by(GrantEvent.id)
    )
    files = list(
        session.scalars(
            select(GrantFile)
            .where(GrantFile.application_id == application.id, GrantFile.report_id.is_(None))
            .order_by(GrantFile.id)
        )
    )
    ready = [file for file in files if file.status == PhotoStatus.READY]
    return {
        "id": application.id,
        "round_id": application.round_id,
        "title": application.title,
        "category": application.category,
        "summary": application.summary,
        "beneficiaries": application.beneficiaries,
        "schedule": application.schedule,
        "group_name": application.group_name,
        "team": application.team,
        "budget_lines": application.budget_lines,
        "requested_fen": application.requested_fen,
        "approved_fen": application.approved_fen,
        "status": application.status.value,
        "status_label": application.status.applicant_label,
        "editable": application.status in loop.EDITABLE,
        "photos": [grant_files.file_url(settings, file) for file in ready if file.kind == "photo"],
        "photos_pending": sum(1 for file in files if file.kind == "photo" and file.status == PhotoStatus.PENDING),
        "attachments": [
            {"name": file.name, "url": grant_files.file_url(settings, file)} for file in ready if file.kind != "photo"
        ],
        "timeline": [
            {
                "status": e.to_status.value,
                "status_label": e.to_status.applicant_label,
                "note": e.note,
                "at": e.created_at.isoformat(),
            }
            for e in events
        ],
        "reports": [
            {
                "sequence": r.sequence,
                "final": r.final,
                "due_on": r.due_on.isoformat(),
                "submitted_at": r.submitted_at.isoformat() if r.submitted_at else None,
            }
            for r in progress.reports(session, application.id)
        ],
    }


@blueprint.route("/grants/rounds")
@blueprint.resident_only
@blueprint.response(200, RoundsSchema)
def rounds() -> Any:
    """各期微公益项目（最新在前）：类别、预算、上限、申报时间、资金来源。"""
    found = db_session().scalars(select(GrantRound).order_by(GrantRound.id.desc()))
    return {"rounds": [_round(r) for r in found]}


@blueprint.route("/grants/rounds/<round_id>")
@blueprint.resident_only
@blueprint.response(200, RoundSchema)
@blueprint.errors(404)
def one_round(round_id: str) -> Any:
    """一期微公益项目。"""
    number = _number(round_id)
    grant_round = db_session().get(GrantRound, number)
    if grant_round is None:
        raise NotFound("该期项目不存在")
    return _round(grant_round)


@blueprint.route("/grants/rounds/<round_id>/applications")
@blueprint.resident_only
@blueprint.response(200, PublicListSchema)
@blueprint.errors(404)
def public_list(round_id: str) -> Any:
    """本期已提交的申请（公示，不含任何个人信息）与居民支持数；网页版见 /grants/<id>。"""
    number = _number(round_id)
    session = db_session()
    if session.get(GrantRound, number) is None:
        raise NotFound("该期项目不存在")
    shown = loop.UNDER_REVIEW | loop.FUNDED | {loop.S.DECLINED}
    found = session.scalars(
        select(GrantApplication)
        .where(GrantApplication.round_id == number, GrantApplication.status.in_(shown))
        .order_by(GrantApplication.id)
    )
    return {
        "applications": [
            {
                "id": a.id,
                "title": a.title,
                "category": a.category,
                "group_name": a.group_name,
                "summary": a.summary,
                "beneficiaries": a.beneficiaries,
                "requested_fen": a.requested_fen,
                "status": a.status.value,
                "status_label": a.status.applicant_label,
                "supports": committee.supports(session, a.id),
            }
            for a in found
        ]
    }


@blueprint.route("/grants/applications/<application_id>/support", methods=["POST"])
@blueprint.resident_only
@blueprint.response(200, SupportAnswerSchema)
@blueprint.errors(400, 404)
def support(application_id: str) -> Any:
    """支持一项公示中的申请：每位居民每项一次，重复支持不再计数。"""
    number = _number(application_id)
    with current_context().uow() as uow:
        application = uow.session.get(GrantApplication, number)
        if application is None or application.status == loop.S.DRAFT:
            raise NotFound("申请不存在")
        new = committee.support(uow.session, current_resident(uow.session), application)
        uow.commit()
        return {"supports": committee.supports(uow.session, number), "new": new}


@blueprint.route("/grants/applications", methods=["POST"])
@blueprint.resident_only
@blueprint.arguments(NewApplicationSchema)
@blueprint.response(201, ApplicationSchema)
@blueprint.errors(404)
def create(body: dict[str, Any]) -> Any:
    """起草一份申请（草稿）：预算合计由服务器计算，并按单项与类别上限检查。"""
    with current_context().uow() as uow:
        grant_round = uow.session.get(GrantRound, body["round_id"])
        if grant_round is None:
            raise NotFound("该期项目不存在")
        resident = current_resident(uow.session)
        application = apps.draft(uow.session, grant_round, _input(body, resident), resident=resident)
        uow.commit()
        return _detail(uow.session, application)


@blueprint.route("/grants/applications")
@blueprint.resident_only
@blueprint.response(200, ApplicationListSchema)
def mine() -> Any:
    """我的申请（最新在前）。"""
    session = db_session()
    resident = current_resident()
    found = session.scalars(
        select(GrantApplication)
        .where(GrantApplication.applicant_id == resident.id)
        .order_by(GrantApplication.id.desc())
    )
    return {"applications": [_detail(session, a) for a in found]}


@blueprint.route("/grants/applications/<application_id>")
@blueprint.resident_only
@blueprint.response(200, ApplicationSchema)
@blueprint.errors(404)
def show(application_id: str) -> Any:
    """我的一份申请：状态、进度、应交的报告。他人的申请 404。"""
    number = _number(application_id)
    session = db_session()
    return _detail(session, apps.own_application(session, current_resident(), number))


@blueprint.route("/grants/applications/<application_id>", methods=["PUT"])
@blueprint.resident_only
@blueprint.arguments(ApplicationContentSchema)
@blueprint.response(200, ApplicationSchema)
@blueprint.errors(403, 404)
def edit(body: dict[str, Any], application_id: str) -> Any:
    """修改申请：仅草稿，或评审委员会要求补充材料时。"""
    number = _number(application_id)
    with current_context().uow() as uow:
        resident = current_resident(uow.session)
        application = apps.own_application(uow.session, resident, number)
        apps.edit(uow.session, application, _input(body, resident))
        uow.commit()
        return _detail(uow.session, application)


def _move(application_id: int, action: str, note: str = "") -> Any:
    with current_context().uow() as uow:
        resident = current_resident(uow.session)
        application = apps.own_application(uow.session, resident, application_id)
        if action == "submit":
            apps.submit(uow.session, application, resident=resident)
        else:
            apps.withdraw(uow.session, application, resident=resident, note=note)
        uow.commit()
        return _detail(uow.session, application)


@blueprint.route("/grants/applications/<application_id>/submit", methods=["POST"])
@blueprint.resident_only
@blueprint.response(200, ApplicationSchema)
@blueprint.errors(404, 409)
def submit(application_id: str) -> Any:
    """提交草稿（须在申报时间内），或补充材料后重新提交。"""
    number = _number(application_id)
    return _move(number, "submit")


@blueprint.route("/grants/applications/<application_id>/withdraw", methods=["POST"])
@blueprint.resident_only
@blueprint.arguments(WithdrawSchema)
@blueprint.response(200, ApplicationSchema)
@blueprint.errors(404, 409)
def withdraw(body: dict[str, Any], application_id: str) -> Any:
    """撤回申请：立项之前随时可以。"""
    number = _number(application_id)
    return _move(number, "withdraw", body["reason"])


def _add_files(application_id: str, field: str, files: list[Any], save: Callable[..., Any]) -> Any:
    """Keep the applicant's files on their own application while it may still be changed."""
    number = _number(application_id)
    context = current_context()
    with context.uow() as uow:
        application = apps.own_application(uow.session, current_resident(uow.session), number)
        if application.status not in loop.EDITABLE:
            raise Forbidden(f"当前状态「{application.status.applicant_label}」下不能修改申请")
        try:
            save(uow.session, context.settings, application.id, files)
        except UploadRejected as exc:
            return validation_error({field: str(exc)})
        uow.commit()
        return _detail(uow.session, application)


@blueprint.route("/grants/applications/<application_id>/photos", methods=["POST"])
@body_limit(uploads_limit(MAX_PHOTOS))
@blueprint.resident_only
@_upload_rate_limited
@blueprint.arguments(FilesSchema, location="multipart")
@blueprint.response(200, ApplicationSchema)
@blueprint.errors(400, 403, 404, 413, 429)
def add_photos(form: dict[str, Any], application_id: str) -> Any:
    """为申请添加照片（multipart/form-data，photos 1–9 张）：仅在可修改时。"""
    return _add_files(application_id, "photos", form["photos"], grant_files.save_photos)


@blueprint.route("/grants/applications/<application_id>/attachments", methods=["POST"])
@body_limit(uploads_limit(MAX_ATTACHMENTS))
@blueprint.resident_only
@_upload_rate_limited
@blueprint.arguments(AttachmentsSchema, location="multipart")
@blueprint.response(200, ApplicationSchema)
@blueprint.errors(400, 403, 404, 413, 429)
def add_attachments(form: dict[str, Any], application_id: str) -> Any:
    """为申请添加 PDF 附件（multipart/form-data，files 1–5 个，如计划书、报价单）：仅在可修改时，不公开。"""
    return _add_files(application_id, "files", form["files"], grant_files.save_attachments)


@blueprint.route("/grants/applications/<application_id>/reports", methods=["POST"])
@body_limit(uploads_limit(MAX_PHOTOS))
@blueprint.resident_only
@_upload_rate_limited
@blueprint.arguments(ProgressReportSchema, location="multipart")
@blueprint.response(201, ApplicationSchema)
@blueprint.errors(400, 404, 413, 429)
def file_report(form: dict[str, Any], application_id: str) -> Any:
    """提交下一份进度报告（文字与照片；最后一份为结项报告）。"""
    number = _number(application_id)
    context = current_context()
    with context.uow() as uow:
        resident = current_resident(uow.session)
        application = apps.own_application(uow.session, resident, number)
        report = progress.file_report(uow.session, application, form["text"], resident=resident)
        try:
            grant_files.save_photos(uow.session, context.settings, application.id, form["photos"], report.id)
        except UploadRejected as exc:
            uow.rollback()
            return validation_error({"photos": str(exc)})
        uow.commit()
        return _detail(uow.session, application)
