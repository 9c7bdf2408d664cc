"""The resident's rights over their own data: a copy (GET /me/data) and erasure (DELETE /me)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g

from core.privacy.erasure import erase_resident
from core.privacy.export import export_resident
from web.context import current_context
from web.residents.api.auth import current_resident
from web.residents.api.base import ApiBlueprint

blueprint = ApiBlueprint("mini_me", __name__, url_prefix="/api/v1", description="个人信息：查阅复制与注销")


class MyDataSchema(ma.Schema):
    resident = ma.fields.Dict(required=True, metadata={"description": "居民信息：openid、unionid、昵称、手机号、位置"})
    cases_reported = ma.fields.List(
        ma.fields.Dict(), required=True, metadata={"description": "本人上报的案件，含本人填写的内容与照片链接"}
    )
    cases_followed = ma.fields.List(ma.fields.Dict(), required=True, metadata={"description": "本人关注的他人案件"})
    notifications = ma.fields.List(ma.fields.Dict(), required=True)
    consents = ma.fields.List(ma.fields.Dict(), required=True, metadata={"description": "个人信息处理同意记录"})
    subscriptions = ma.fields.List(ma.fields.Dict(), required=True, metadata={"description": "订阅消息授权"})
    grant_applications = ma.fields.List(ma.fields.Dict(), required=True)


class ErasedSchema(ma.Schema):
    erased = ma.fields.Boolean(required=True)
    message = ma.fields.String(required=True)
    cases = ma.fields.Integer(required=True, metadata={"description": "转为匿名反映的案件数"})


@blueprint.route("/me/data")
@blueprint.resident_only
@blueprint.response(200, MyDataSchema)
def my_data() -> Any:
    """本人的全部个人信息副本（个人信息保护法第四十五条）：居民信息、上报与关注的案件、通知、同意记录、订阅与微公益申请。"""
    context = current_context()
    with context.uow() as uow:
        data = export_resident(uow.session, context.settings, current_resident(uow.session), channel="api")
        uow.commit()
    return data


@blueprint.route("/me", methods=["DELETE"])
@blueprint.resident_only
@blueprint.response(200, ErasedSchema)
def erase_me() -> Any:
    """注销：删除 openid、unionid、手机号、昵称和位置，取消关注、同意、订阅与草稿；上报过的案件转为匿名反映并保留。

    注销后本令牌失效；同一微信再次登录将是一位新的居民。
    """
    with current_context().uow() as uow:
        erasure = erase_resident(uow.session, g.resident_id)
        uow.commit()
    return {"erased": True, "message": "您的个人信息已删除，账号已注销。", "cases": erasure.cases}
