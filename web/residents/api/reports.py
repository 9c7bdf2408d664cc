"""A resident's report from the mini-program: photos, place, category; once per client request id."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select

from core.codes import Verdict
from core.errors import InvalidInput
from core.glossary import CaseSource, CoordSystem
from core.models import Case, Category, Resident
from core.services.checkpoints import resolve_code
from core.services.intake import MAX_PHOTOS, ReportInput, submit_report
from core.services.privacy_consents import (
    LOCATION,
    PHOTO_LOCATION,
    ConsentRequired,
    ConsentState,
    acknowledge,
    check_version,
    consent_state,
    report_record,
    require,
)
from core.settings import Settings
from media.imaging import exif_position
from web import ratelimit, uploads
from web.context import current_context, current_store, db_session
from web.errors import json_error, validation_error
from web.limits import body_limit, uploads_limit
from web.residents.api.auth import current_resident
from web.residents.api.base import ApiBlueprint
from web.residents.api.privacy import consent_required
from web.residents.api.schemas import ReportAnswerSchema, ReportSchema

blueprint = ApiBlueprint("mini_reports", __name__, url_prefix="/api/v1", description="上报问题")

# A resident reports a few problems at a time, not a flood (repeats of one request are not counted).
PER_RESIDENT = {"limit": 10, "window_seconds": 600}
EXIF_LABEL = "照片拍摄位置"
NO_PLACE = "请提供位置（lat、lng、coord_system），或扫描巡查点二维码上报，或选择使用照片拍摄位置（use_photo_location）"


def _answer(settings: Settings, number: str, token: str | None, status: int) -> tuple[dict[str, str], int]:
    return {"number": number, "tracking_url": f"{settings.public_base_url.rstrip('/')}/t/{token}"}, status


def _checkpoint_label(code: str) -> tuple[str | None, str | None]:
    """(the checkpoint's label, None) for a valid public code, else (None, why not)."""
    scanned = resolve_code(db_session(), current_context().settings, code)
    if scanned.verdict is Verdict.REPLACED:
        return None, "此二维码已更换，请扫描现场张贴的新二维码"
    if not scanned.valid or scanned.checkpoint is None:
        return None, "巡查点不存在：二维码无法识别"
    return scanned.checkpoint.label, None


def _consent_for(resident: Resident, form: dict[str, Any]) -> tuple[ConsentState, bool]:
    """(what the report is made under, whether it acknowledges the notice now); ConsentRequired when the
    notice or a scope the place needs is missing.

    A precise position needs `location`, a photo's EXIF position `photo_location`; a checkpoint's
    position needs neither. `privacy_version` acknowledges the current notice with the report (it
    is recorded with the case, in the same transaction); a stale one is refused.
    """
    settings = current_context().settings
    state = consent_state(db_session(), settings, resident)
    version: str | None = form.get("privacy_version")
    if version:
        check_version(settings, version)
    acknowledging = bool(version) and not state.acknowledged
    if acknowledging:
        state = replace(state, agreed_version=version, scopes=frozenset())
    needed = []
    if form.get("lat") is not None:
        needed.append(LOCATION)
    elif not form.get("checkpoint") and form["use_photo_location"]:
        needed.append(PHOTO_LOCATION)
    require(state, *needed)
    return state, acknowledging


def _category_problem(code: str) -> str | None:
    category = db_session().scalar(select(Category).where(Category.code == code))
    if category is None:
        return "问题类别不存在"
    if category.parent_id is None:
        return "请选择具体的小类，而不是大类"
    return None


@blueprint.route("/reports", methods=["POST"])
@body_limit(uploads_limit(MAX_PHOTOS))
@blueprint.resident_only
@blueprint.arguments(ReportSchema, location="multipart")
@blueprint.response(201, ReportAnswerSchema, description="已立案")
@blueprint.alt_response(
    200, schema=ReportAnswerSchema, description="同一 client_request_id 的重复提交：原案件", success=True
)
@blueprint.errors(413, 428, 429)
def report(form: dict[str, Any]) -> Any:
    """上报问题（multipart/form-data）：照片 1–9 张、位置、类别、描述。

    须已同意当前版本的《个人信息保护说明》（或随本次提交传 privacy_version），否则 428 consent_required。
    位置：lat/lng/coord_system（须已单独同意 location）；或扫码得到的 checkpoint；或 use_photo_location=true
    时取第一张照片 EXIF 中的 GPS（WGS-84，须已单独同意 photo_location）。缺少所需同意时 428，不保存任何内容。
    带 client_request_id 的重复提交返回原案件（200），不会重复立案。校验失败 400，不保存任何内容。
    """
    context = current_context()
    settings = context.settings
    resident = current_resident()
    request_id = form.get("client_request_id")
    intake_key = f"mp:{resident.id}:{request_id}" if request_id else None
    if intake_key:
        found = (
            db_session().execute(select(Case.number, Case.tracking_token).where(Case.intake_key == intake_key)).first()
        )
        if found is not None:
            return _answer(settings, found.number, found.tracking_token, 200)

    try:
        consent, acknowledging = _consent_for(resident, form)
    except ConsentRequired as exc:
        return consent_required(exc)

    problems: dict[str, str] = {}
    if problem := _category_problem(form["category"]):
        problems["category"] = problem
    checkpoint_label = None
    if form.get("checkpoint"):
        checkpoint_label, problem = _checkpoint_label(form["checkpoint"])
        if problem:
            problems["checkpoint"] = problem
    if problems:
        return validation_error(problems)
    if not ratelimit.hit(context.redis, "api-report", str(resident.id), **PER_RESIDENT):
        return json_error(429, "too_many_requests", "上报太频繁，请稍后再试")

    store = current_store()
    try:
        saved = uploads.save_photos(store, form["photos"])
    except uploads.UploadRejected as exc:
        return validation_error({"photos": str(exc)})
    report_input = ReportInput(
        description=form["description"].strip(),
        category_code=form["category"],
        checkpoint_label=checkpoint_label,
        anonymous=form["anonymous"],
        uploads=saved.paths,
    )
    if form.get("lat") is not None:
        report_input.lat, report_input.lng = form["lat"], form["lng"]
        report_input.coord_system = CoordSystem(form["coord_system"])
    elif checkpoint_label is None:
        place = exif_position(saved.first) if saved.first and form["use_photo_location"] else None
        if place is None:
            uploads.discard(store, saved.paths)
            if form["use_photo_location"]:
                return validation_error({"use_photo_location": "照片中没有可用的拍摄位置，请提供位置"})
            return validation_error({"lat": NO_PLACE})
        # EXIF GPS is WGS-84; the photo job strips it from the photo before anyone sees it.
        report_input.lat, report_input.lng = place
        report_input.coord_system = CoordSystem.WGS84
        report_input.location_label = EXIF_LABEL
    try:
        with context.uow() as uow:
            reporter = current_resident(uow.session)
            if acknowledging:
                acknowledge(uow.session, settings, reporter, version=form["privacy_version"], channel="miniprogram")
            report_input.privacy = report_record(consent)
            case, created = submit_report(
                uow.session,
                settings,
                resident=reporter,
                report=report_input,
                source=CaseSource.MINIPROGRAM,
                intake_key=intake_key,
            )
            uow.commit()
            number, token = case.number, case.tracking_token
    except InvalidInput as exc:
        uploads.discard(store, saved.paths)
        return json_error(400, exc.code, exc.message)
    except BaseException:
        uploads.discard(store, saved.paths)
        raise
    if not created:
        uploads.discard(store, saved.paths)  # the same request won a race: its photos stand
        return _answer(settings, number, token, 200)
    return _answer(settings, number, token, 201)
