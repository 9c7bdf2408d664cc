"""Subscribe-message consent (what wx.requestSubscribeMessage granted) and everything a resident was told."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from core.services.consents import MAX_TEMPLATE_ID, consents_of, notifications_of, record_consents
from web.context import current_context, db_session
from web.residents.api import fields as f
from web.residents.api.auth import current_resident
from web.residents.api.base import ApiBlueprint
from web.residents.api.schemas import PAGE_MAX, PER_PAGE_MAX

blueprint = ApiBlueprint("mini_notices", __name__, url_prefix="/api/v1", description="订阅消息与通知记录")

ANSWERS = ["accept", "reject", "ban", "filter"]  # what wx.requestSubscribeMessage reports per template
CHANNELS = {"mp_subscribe": "小程序订阅消息", "oa_template": "公众号模板消息", "oa_custom": "公众号客服消息"}


class SubscribeResultsSchema(f.ApiSchema):
    results = ma.fields.Dict(
        keys=f.String(validate=f.length(1, MAX_TEMPLATE_ID)),
        values=f.String(validate=f.one_of(ANSWERS)),
        required=True,
        validate=f.length(1, 20),
        metadata={"description": "wx.requestSubscribeMessage 的结果：模板 ID → accept/reject/ban/filter"},
    )


class ConsentSchema(ma.Schema):
    template_id = ma.fields.String(required=True)
    remaining = ma.fields.Integer(required=True, metadata={"description": "还可发送的次数（每次同意加一次）"})


class ConsentsSchema(ma.Schema):
    consents = ma.fields.List(ma.fields.Nested(ConsentSchema), required=True)


class NoticePageArgs(f.ApiSchema):
    page = f.Integer(load_default=1, validate=f.between(1, PAGE_MAX))
    per_page = f.Integer(load_default=20, validate=f.between(1, PER_PAGE_MAX))


class NoticeSchema(ma.Schema):
    case_number = ma.fields.String(required=True)
    channel = ma.fields.String(required=True, metadata={"description": "送达方式（中文）"})
    status = ma.fields.String(required=True, metadata={"description": "pending / sending / sent / failed"})
    content = ma.fields.String(required=True)
    sent_at = ma.fields.DateTime(allow_none=True, required=True)
    recorded_at = ma.fields.DateTime(required=True)


class NoticePageSchema(ma.Schema):
    page = ma.fields.Integer(required=True)
    per_page = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True)
    notifications = ma.fields.List(ma.fields.Nested(NoticeSchema), required=True)


def _consents(consents: list[Any]) -> dict[str, Any]:
    return {"consents": [{"template_id": c.template_id, "remaining": c.remaining} for c in consents]}


@blueprint.route("/subscriptions", methods=["POST"])
@blueprint.resident_only
@blueprint.arguments(SubscribeResultsSchema)
@blueprint.response(200, ConsentsSchema)
def subscribe(body: dict[str, Any]) -> Any:
    """记录订阅结果：每个「accept」允许该模板多发送一次进度通知。"""
    with current_context().uow() as uow:
        resident = current_resident(uow.session)
        consents = record_consents(uow.session, resident, body["results"])
        uow.commit()
        return _consents(consents)


@blueprint.route("/subscriptions")
@blueprint.resident_only
@blueprint.response(200, ConsentsSchema)
def subscriptions() -> Any:
    """本人各模板还可接收的订阅消息次数。"""
    return _consents(consents_of(db_session(), current_resident()))


@blueprint.route("/notifications")
@blueprint.resident_only
@blueprint.arguments(NoticePageArgs, location="query")
@blueprint.response(200, NoticePageSchema)
def notifications(args: dict[str, Any]) -> Any:
    """本人收到（或未能送达）的全部进度通知，按时间倒序。"""
    rows, total = notifications_of(db_session(), current_resident(), page=args["page"], per_page=args["per_page"])
    return {
        "page": args["page"],
        "per_page": args["per_page"],
        "total": total,
        "notifications": [
            {
                "case_number": number,
                "channel": CHANNELS.get(note.channel, note.channel),
                "status": note.status.value,
                "content": note.content,
                "sent_at": note.sent_at,
                "recorded_at": note.created_at,
            }
            for note, number in rows
        ],
    }
