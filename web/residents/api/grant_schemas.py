"""Schemas of the micro-grant API (web/residents/api/grants.py): requests validated in Chinese, answers documented."""

from __future__ import annotations

import marshmallow as ma

from core.grants.applications import MAX_LINES, MAX_TEAM
from core.services.intake import MAX_PHOTOS
from web.residents.api import fields as f

MAX_ATTACHMENTS = 5
MAX_FEN = 10**11  # a billion yuan: far above any round, below what the database holds

# --- requests -------------------------------------------------------------------------------


class TeamMemberSchema(f.ApiSchema):
    name = f.String(required=True, validate=f.length(1, 32), metadata={"description": "姓名"})
    role = f.String(load_default="", validate=f.length(high=32), metadata={"description": "分工，如 队长、会计"})
    phone = f.String(validate=f.length(high=32), metadata={"description": "电话（不公开；用于评审回避）"})
    me = f.Boolean(load_default=False, metadata={"description": "此人即申请人本人"})


class BudgetLineSchema(f.ApiSchema):
    item = f.String(required=True, validate=f.length(1, 64), metadata={"description": "名目"})
    quantity = f.Integer(required=True, strict=True, validate=f.between(1, 1_000_000))
    unit_price_fen = f.Integer(
        required=True, strict=True, validate=f.between(0, MAX_FEN), metadata={"description": "单价（分）"}
    )


class ApplicationContentSchema(f.ApiSchema):
    title = f.String(required=True, validate=f.length(1, 64), metadata={"description": "项目名称"})
    category = f.String(required=True, validate=f.length(1, 32), metadata={"description": "项目类别（见本期类别）"})
    summary = f.String(load_default="", validate=f.length(high=4000), metadata={"description": "项目简介"})
    beneficiaries = f.String(load_default="", validate=f.length(high=2000), metadata={"description": "受益人群"})
    schedule = f.String(load_default="", validate=f.length(high=2000), metadata={"description": "实施计划"})
    group_name = f.String(load_default="", validate=f.length(high=64), metadata={"description": "申请团队或组织名称"})
    team = f.List(
        f.Nested(TeamMemberSchema), load_default=list, validate=f.validate.Length(max=MAX_TEAM, error="团队人数过多")
    )
    budget_lines = f.List(
        f.Nested(BudgetLineSchema),
        required=True,
        validate=f.validate.Length(min=1, max=MAX_LINES, error=f"预算 1–{MAX_LINES} 项"),
    )


class NewApplicationSchema(ApplicationContentSchema):
    round_id = f.Integer(required=True, strict=True, validate=f.between(1, 2**31 - 1))


class WithdrawSchema(f.ApiSchema):
    reason = f.String(load_default="", validate=f.length(high=500))


class FilesSchema(f.ApiSchema):
    photos = f.List(
        f.Upload(),
        required=True,
        validate=f.validate.Length(min=1, max=MAX_PHOTOS, error=f"请上传 1 至 {MAX_PHOTOS} 张照片"),
    )


class AttachmentsSchema(f.ApiSchema):
    files = f.List(
        f.Upload(),
        required=True,
        validate=f.validate.Length(min=1, max=MAX_ATTACHMENTS, error=f"请上传 1 至 {MAX_ATTACHMENTS} 个附件"),
        metadata={"description": "PDF 附件 1–5 个，每个不超过 10 MB（计划书、报价单等；不公开）"},
    )


class ProgressReportSchema(f.ApiSchema):
    text = f.String(required=True, validate=f.length(1, 4000), metadata={"description": "进度情况"})
    photos = f.List(
        f.Upload(), load_default=list, validate=f.validate.Length(max=MAX_PHOTOS, error=f"最多 {MAX_PHOTOS} 张照片")
    )


# --- answers --------------------------------------------------------------------------------


class SourceSchema(ma.Schema):
    name = ma.fields.String(required=True)
    share_percent = ma.fields.Float(required=True)


class RoundSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    categories = ma.fields.List(ma.fields.String(), required=True)
    budget_fen = ma.fields.Integer(required=True)
    cap_per_application_fen = ma.fields.Integer(required=True)
    category_caps = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True)
    opens_at = ma.fields.String(required=True)
    closes_at = ma.fields.String(required=True)
    accepting = ma.fields.Boolean(required=True, metadata={"description": "现在是否在申报时间内"})
    sources = ma.fields.List(ma.fields.Nested(SourceSchema), required=True)


class RoundsSchema(ma.Schema):
    rounds = ma.fields.List(ma.fields.Nested(RoundSchema), required=True)


class PublicApplicationSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    category = ma.fields.String(required=True)
    group_name = ma.fields.String(required=True)
    summary = ma.fields.String(required=True)
    beneficiaries = ma.fields.String(required=True)
    requested_fen = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True)
    status_label = ma.fields.String(required=True)
    supports = ma.fields.Integer(required=True)


class PublicListSchema(ma.Schema):
    applications = ma.fields.List(ma.fields.Nested(PublicApplicationSchema), required=True)


class SupportAnswerSchema(ma.Schema):
    supports = ma.fields.Integer(required=True)
    new = ma.fields.Boolean(required=True, metadata={"description": "本次是否新增了支持（已支持过为 false）"})


class EventSchema(ma.Schema):
    status = ma.fields.String(required=True)
    status_label = ma.fields.String(required=True)
    note = ma.fields.String(required=True)
    at = ma.fields.String(required=True)


class ReportDueSchema(ma.Schema):
    sequence = ma.fields.Integer(required=True)
    final = ma.fields.Boolean(required=True)
    due_on = ma.fields.String(required=True)
    submitted_at = ma.fields.String(allow_none=True, required=True)


class AttachmentSchema(ma.Schema):
    name = ma.fields.String(required=True)
    url = ma.fields.String(required=True)


class ApplicationSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    round_id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    category = ma.fields.String(required=True)
    summary = ma.fields.String(required=True)
    beneficiaries = ma.fields.String(required=True)
    schedule = ma.fields.String(required=True)
    group_name = ma.fields.String(required=True)
    team = ma.fields.List(ma.fields.Dict(), required=True)
    budget_lines = ma.fields.List(ma.fields.Dict(), required=True)
    requested_fen = ma.fields.Integer(required=True)
    approved_fen = ma.fields.Integer(allow_none=True, required=True)
    status = ma.fields.String(required=True)
    status_label = ma.fields.String(required=True)
    editable = ma.fields.Boolean(required=True)
    photos = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "照片网址（已处理好的）"})
    photos_pending = ma.fields.Integer(
        required=True, metadata={"description": "正在处理的照片张数（处理好后出现在 photos 中）"}
    )
    attachments = ma.fields.List(ma.fields.Nested(AttachmentSchema), required=True)
    timeline = ma.fields.List(ma.fields.Nested(EventSchema), required=True)
    reports = ma.fields.List(ma.fields.Nested(ReportDueSchema), required=True)


class ApplicationListSchema(ma.Schema):
    applications = ma.fields.List(ma.fields.Nested(ApplicationSchema), required=True)
