"""What the mini-program API takes and gives: one schema validates each request and documents it and its answer."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from core.glossary import CaseStatus, CoordSystem
from core.services.intake import MAX_DESCRIPTION, MAX_PHOTOS
from core.services.resident_cases import COMMENT_MAX
from web.residents.api import fields as f

SYSTEMS = [system.value for system in CoordSystem]
# A wx.login code is a short token of letters and digits; anything longer is not one.
LOGIN_CODE_MAX = 128
CATEGORY_MAX = 16
CHECKPOINT_MAX = 40
REQUEST_ID = r"^[A-Za-z0-9_.:-]{1,64}$"
PER_PAGE_MAX = 50
PAGE_MAX = 10_000


# --- requests -------------------------------------------------------------------------------


class LoginSchema(f.ApiSchema):
    code = f.String(
        required=True, validate=f.length(1, LOGIN_CODE_MAX), metadata={"description": "wx.login() 得到的 code"}
    )


class CheckpointQuerySchema(f.ApiSchema):
    q = f.String(
        required=True,
        validate=f.length(1, 512),
        metadata={"description": "扫码得到的巡查点二维码网址（小程序 onLoad 的 q 参数，已解码）"},
    )


class PositionFields(f.ApiSchema):
    lat = f.Float(validate=f.between(-90, 90), metadata={"description": "纬度"})
    lng = f.Float(validate=f.between(-180, 180), metadata={"description": "经度"})
    coord_system = f.String(
        validate=f.one_of(SYSTEMS), metadata={"description": "坐标系：gcj02（微信、高德、腾讯地图）或 wgs84（GPS）"}
    )

    @ma.validates_schema
    def _all_or_none(self, data: dict[str, Any], **_kwargs: object) -> None:
        given = [name for name in ("lat", "lng", "coord_system") if data.get(name) is not None]
        if given and len(given) < 3:
            missing = {
                name: ["位置需同时提供 lat、lng 和 coord_system"]
                for name in ("lat", "lng", "coord_system")
                if name not in given
            }
            raise ma.ValidationError(missing)


class ReportSchema(PositionFields):
    photos = f.List(
        f.Upload(),
        required=True,
        validate=f.validate.Length(min=1, max=MAX_PHOTOS, error=f"请上传 1 至 {MAX_PHOTOS} 张照片"),
        metadata={"description": f"照片 1–{MAX_PHOTOS} 张，每张不超过 10 MB（JPEG、PNG、WebP、GIF）"},
    )
    category = f.String(
        required=True, validate=f.length(1, CATEGORY_MAX), metadata={"description": "问题小类的编码，见 /categories"}
    )
    description = f.String(
        load_default="", validate=f.length(high=MAX_DESCRIPTION), metadata={"description": "问题描述"}
    )
    checkpoint = f.String(
        validate=f.length(1, CHECKPOINT_MAX), metadata={"description": "巡查点的公开编码（扫码上报时）"}
    )
    anonymous = f.Boolean(load_default=False, metadata={"description": "匿名上报：工作人员看不到反映人"})
    client_request_id = f.String(
        validate=f.matching(REQUEST_ID, "应为 1–64 个字母、数字或 _.:-"),
        metadata={"description": "客户端为这次提交生成的唯一编号；重试时带上同一编号，不会重复立案"},
    )
    privacy_version = f.String(
        validate=f.length(1, 32),
        metadata={
            "description": "居民在提交页确认已阅读的《个人信息保护说明》版本（GET /privacy）；未曾同意当前版本时必填"
        },
    )
    use_photo_location = f.Boolean(
        load_default=False,
        metadata={
            "description": "无 lat/lng 和 checkpoint 时，用第一张照片 EXIF 中的拍摄位置；须已单独同意 photo_location"
        },
    )


class CaseListArgs(f.ApiSchema):
    status = f.String(
        validate=f.one_of([status.value for status in CaseStatus]), metadata={"description": "只看这一状态"}
    )
    page = f.Integer(load_default=1, validate=f.between(1, PAGE_MAX))
    per_page = f.Integer(load_default=20, validate=f.between(1, PER_PAGE_MAX))


class NearbyArgs(f.ApiSchema):
    lat = f.Float(required=True, validate=f.between(-90, 90))
    lng = f.Float(required=True, validate=f.between(-180, 180))
    coord_system = f.String(required=True, validate=f.one_of(SYSTEMS))
    category = f.String(validate=f.length(1, CATEGORY_MAX), metadata={"description": "只看这一类（大类含其下小类）"})


class EvaluationSchema(f.ApiSchema):
    rating = f.Integer(
        required=True, strict=True, validate=f.between(1, 5), metadata={"description": "1–5，5 为最满意"}
    )
    comment = f.String(load_default="", validate=f.length(high=COMMENT_MAX))


class ReopenSchema(f.ApiSchema):
    reason = f.String(load_default="", validate=f.length(high=COMMENT_MAX), metadata={"description": "哪里没修好"})


# --- answers --------------------------------------------------------------------------------


class TokenSchema(ma.Schema):
    token = ma.fields.String(required=True, metadata={"description": "放在 Authorization: Bearer <token> 中"})
    expires_in = ma.fields.Integer(required=True, metadata={"description": "有效秒数"})


class SubCategorySchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.String(allow_none=True)
    time_limit_hours = ma.fields.Integer(allow_none=True)


class CategorySchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    children = ma.fields.List(ma.fields.Nested(SubCategorySchema), required=True)


class CategoriesSchema(ma.Schema):
    categories = ma.fields.List(ma.fields.Nested(CategorySchema), required=True)


class PositionSchema(ma.Schema):
    lat = ma.fields.Float(required=True)
    lng = ma.fields.Float(required=True)
    coord_system = ma.fields.String(required=True, validate=ma.validate.OneOf(SYSTEMS))


class CheckpointSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "公开编码，上报时作为 checkpoint 传回"})
    name = ma.fields.String(required=True)
    grid = ma.fields.String(required=True, metadata={"description": "所在网格的名称"})
    position = ma.fields.Nested(PositionSchema, required=True)


class ReportAnswerSchema(ma.Schema):
    number = ma.fields.String(required=True, metadata={"description": "案件编号，如 GZ20261121-000042"})
    tracking_url = ma.fields.String(required=True, metadata={"description": "公开的进度页面"})


class CategoryRefSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)


class CaseSummarySchema(ma.Schema):
    number = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    status_label = ma.fields.String(required=True)
    category = ma.fields.Nested(CategoryRefSchema, allow_none=True, required=True)
    place = ma.fields.String(allow_none=True, required=True, metadata={"description": "巡查点名称（如有）"})
    reported_at = ma.fields.DateTime(required=True)
    is_reporter = ma.fields.Boolean(required=True, metadata={"description": "是否为本人反映（否则为关注）"})


class CasePageSchema(ma.Schema):
    page = ma.fields.Integer(required=True)
    per_page = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True)
    cases = ma.fields.List(ma.fields.Nested(CaseSummarySchema), required=True)


class TimelineEntrySchema(ma.Schema):
    at = ma.fields.DateTime(required=True)
    status_label = ma.fields.String(required=True)
    text = ma.fields.String(required=True)


class PhotoSchema(ma.Schema):
    url = ma.fields.String(required=True, metadata={"description": "处理后的照片（签名网址，数小时内有效）"})
    thumb_url = ma.fields.String(required=True)
    width = ma.fields.Integer(allow_none=True)
    height = ma.fields.Integer(allow_none=True)


class CaseDetailSchema(CaseSummarySchema):
    description = ma.fields.String(
        allow_none=True, required=True, metadata={"description": "问题描述（仅反映人本人可见）"}
    )
    position = ma.fields.Nested(
        PositionSchema, allow_none=True, required=True, metadata={"description": "位置（仅反映人本人可见）"}
    )
    rating = ma.fields.Integer(allow_none=True, required=True)
    can_evaluate = ma.fields.Boolean(required=True)
    can_reopen = ma.fields.Boolean(required=True)
    timeline = ma.fields.List(ma.fields.Nested(TimelineEntrySchema), required=True)
    photos = ma.fields.List(ma.fields.Nested(PhotoSchema), required=True)
    photos_pending = ma.fields.Integer(required=True, metadata={"description": "尚在处理中的照片张数"})


class NearbyCaseSchema(ma.Schema):
    number = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    status_label = ma.fields.String(required=True)
    category = ma.fields.Nested(CategoryRefSchema, allow_none=True, required=True)
    distance_m = ma.fields.Integer(required=True, metadata={"description": "距离（米）"})
    position = ma.fields.Nested(
        PositionSchema, required=True, metadata={"description": "按查询所用坐标系给出，取整到约 100 米"}
    )
    following = ma.fields.Boolean(required=True, metadata={"description": "本人是否已反映或关注"})


class NearbySchema(ma.Schema):
    radius_m = ma.fields.Integer(required=True)
    cases = ma.fields.List(ma.fields.Nested(NearbyCaseSchema), required=True)
