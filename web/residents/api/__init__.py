"""The mini-program API under /api/v1 (flask-smorest), with its OpenAPI document at /api/v1/openapi.json."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from web.residents.api.base import SECURITY_SCHEME, ErrorSchema

OPENAPI_PATH = "/api/v1/openapi.json"


class GongzhiApi(Api):
    """flask-smorest's Api, documenting errors in our shape and leaving error handling to web.errors."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        # flask-smorest would answer every HTTPException of the whole app in its own shape;
        # web.errors already answers JSON under /api/ (with validation errors as 400 + fields)
        # and Chinese pages elsewhere.
        pass


def init_app(app: Flask) -> GongzhiApi:
    """Register the API's blueprints and serve its OpenAPI document."""
    app.config.update(
        API_TITLE="共治 API",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {
                "description": (
                    "共治小程序接口。居民用 wx.login() 的 code 调 POST /api/v1/session 换取令牌，"
                    "之后在 Authorization: Bearer <token> 中携带。错误一律为 "
                    '{"error": {"code", "message", "fields"?}}，message 为中文。'
                )
            },
        },
    )
    api = GongzhiApi(app)
    api.spec.components.security_scheme(
        SECURITY_SCHEME, {"type": "http", "scheme": "bearer", "description": "POST /api/v1/session 得到的居民令牌"}
    )
    from web.residents.api import cases, grants, me, notices, places, privacy, reports, session

    for module in (session, places, privacy, reports, cases, notices, grants, me):
        api.register_blueprint(module.blueprint)
    return api
