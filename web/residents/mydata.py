"""The page behind the bot's 「我的数据」: a resident's copy of their data, by a short-lived signed link."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template

from core.models import Resident
from core.privacy.export import export_resident
from core.privacy.links import MAX_AGE_SECONDS, resident_of
from web.context import current_context

blueprint = Blueprint("my_data", __name__)

SECTIONS = (
    ("resident", "居民信息"),
    ("cases_reported", "我上报的案件"),
    ("cases_followed", "我关注的案件"),
    ("notifications", "收到的通知"),
    ("consents", "同意记录"),
    ("subscriptions", "订阅消息授权"),
    ("grant_applications", "微公益项目申请"),
)


@blueprint.get("/me/data/<token>")
def show(token: str) -> Any:
    """Everything held about the resident the link names, as GET /api/v1/me/data gives it; never cached."""
    context = current_context()
    resident_id = resident_of(context.settings, token) if len(token) <= 256 else None
    if resident_id is None:
        abort(404, description="链接无效或已过期，请在公众号中重新发送「我的数据」。")
    with context.uow() as uow:
        resident = uow.session.get(Resident, resident_id)
        if resident is None or resident.erased_at is not None:
            abort(404, description="链接无效或已过期，请在公众号中重新发送「我的数据」。")
        data = export_resident(uow.session, context.settings, resident, channel="page")
        uow.commit()
    body = render_template("my_data.html", data=data, sections=SECTIONS, minutes=MAX_AGE_SECONDS // 60)
    return body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache", "Referrer-Policy": "no-referrer"}
