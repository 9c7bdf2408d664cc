"""The privacy notice for the mini-program, and a resident's agreement to it and to the separate consents."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, jsonify

from core.privacy_notice import SCOPES, notice_text, notice_url
from core.services.privacy_consents import ConsentRequired, ConsentState, consent_state, record_consent
from web.context import current_context, db_session
from web.residents.api import fields as f
from web.residents.api.auth import current_resident
from web.residents.api.base import ApiBlueprint

blueprint = ApiBlueprint("mini_privacy", __name__, url_prefix="/api/v1", description="个人信息保护说明与同意")

VERSION_MAX = 32


class ScopeSchema(ma.Schema):
    code = ma.fields.String(required=True)
    description = ma.fields.String(required=True)


class PrivacyNoticeSchema(ma.Schema):
    version = ma.fields.String(required=True, metadata={"description": "说明的版本；同意时原样传回"})
    url = ma.fields.String(required=True, metadata={"description": "说明的网页"})
    text = ma.fields.String(required=True, metadata={"description": "说明全文（纯文本）"})
    scopes = ma.fields.List(
        ma.fields.Nested(ScopeSchema), required=True, metadata={"description": "可单独同意的范围及其含义"}
    )


class ConsentBodySchema(f.ApiSchema):
    version = f.String(
        required=True, validate=f.length(1, VERSION_MAX), metadata={"description": "所阅读说明的版本（GET /privacy）"}
    )
    scopes = f.List(
        f.String(validate=f.length(1, VERSION_MAX)),
        load_default=list,
        validate=f.validate.Length(max=len(SCOPES), error=f"最多 {len(SCOPES)} 项"),
        metadata={
            "description": "单独同意的范围：" + "、".join(SCOPES) + "；空列表 = 仅确认已阅读说明。"
            "每次提交取代上一次，少选即撤回"
        },
    )


class ConsentStateSchema(ma.Schema):
    version = ma.fields.String(required=True, metadata={"description": "当前说明的版本"})
    agreed = ma.fields.Boolean(required=True, metadata={"description": "是否已同意当前版本"})
    agreed_version = ma.fields.String(allow_none=True, required=True, metadata={"description": "最近一次同意的版本"})
    scopes = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "当前有效的单独同意"})
    agreed_at = ma.fields.DateTime(allow_none=True, required=True)


def consent_required(exc: ConsentRequired) -> tuple[Response, int]:
    """428 in the API's error shape, saying which notice version and scopes are still to be agreed."""
    error = {"code": exc.code, "message": exc.message, "version": exc.version, "scopes": exc.scopes}
    return jsonify({"error": error}), 428


def _state(state: ConsentState) -> dict[str, Any]:
    return {
        "version": state.current_version,
        "agreed": state.acknowledged,
        "agreed_version": state.agreed_version,
        "scopes": sorted(state.scopes),
        "agreed_at": state.agreed_at,
    }


@blueprint.route("/privacy")
@blueprint.response(200, PrivacyNoticeSchema)
def notice() -> Any:
    """个人信息保护说明：版本、网页地址与全文；上报前须同意当前版本。"""
    settings = current_context().settings
    return {
        "version": settings.privacy_notice_version,
        "url": notice_url(settings),
        "text": notice_text(settings),
        "scopes": [{"code": code, "description": text} for code, text in SCOPES.items()],
    }


@blueprint.route("/privacy/consents")
@blueprint.resident_only
@blueprint.response(200, ConsentStateSchema)
def my_consent() -> Any:
    """本人对当前说明的同意情况与有效的单独同意。"""
    return _state(consent_state(db_session(), current_context().settings, current_resident()))


@blueprint.route("/privacy/consents", methods=["POST"])
@blueprint.resident_only
@blueprint.arguments(ConsentBodySchema)
@blueprint.response(201, ConsentStateSchema, description="已记录")
@blueprint.errors(400)
def agree(body: dict[str, Any]) -> Any:
    """同意当前版本的说明，并给出（或撤回）单独同意。版本过期 400 stale_version，未知范围 400。"""
    context = current_context()
    with context.uow() as uow:
        resident = current_resident(uow.session)
        version, scopes = body["version"], body["scopes"]
        record_consent(uow.session, context.settings, resident, version=version, scopes=scopes, channel="miniprogram")
        state = consent_state(uow.session, context.settings, resident)
        uow.commit()
        return _state(state), 201
