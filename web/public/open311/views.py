"""The GeoReport v2 endpoints: read the request, call core.services.open311, shape and render (.json or .xml)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, request

from core.errors import Forbidden, GongzhiError, NotFound
from core.models.base import utcnow
from core.services import api_keys, open311
from web.context import current_context, db_session
from web.errors import ErrorShape
from web.public.open311 import forms, render, shapes

blueprint = Blueprint("open311", __name__, url_prefix="/open311/v2")
FMT = "<any(json, xml):fmt>"
# The service list and definitions change only with a new catalogue, loaded before a restart.
STARTED = utcnow()
CONTACT = "区网格化服务管理中心（共治）"
KEY_SERVICE = "提交诉求需要 API 密钥，请向区网格化服务管理中心申请；查询不需要密钥"
# werkzeug's English defaults, said instead in Chinese to clients of any path under /open311/.
MESSAGES = {
    404: "没有这个接口：GeoReport v2 的地址以 .json 或 .xml 结尾，例如 /open311/v2/services.json",
    405: "这个接口不支持该请求方法",
    413: "请求太大",
    500: "服务器内部错误，请稍后再试",
}


def _error(status: int, description: str) -> Response:
    return render.errors(render.format_of(request.path), status, description)


# Open311 clients read every error in the specification's shape, also on a wrong path or method.
ERROR_SHAPE = ErrorShape("/open311/", _error, MESSAGES)


def failure(fmt: str, exc: GongzhiError) -> Response:
    status = 404 if isinstance(exc, NotFound) else 403 if isinstance(exc, Forbidden) else 400
    return render.errors(fmt, status, exc.message)


def answers_errors(view: Callable[..., Response]) -> Callable[..., Response]:
    """Domain errors become the specification's error array, in the format asked for."""

    @wraps(view)
    def wrapped(fmt: str, **kwargs: Any) -> Response:
        try:
            return view(fmt, **kwargs)
        except GongzhiError as exc:
            return failure(fmt, exc)

    return wrapped


def _tz() -> ZoneInfo:
    return current_context().settings.tz


@blueprint.get(f"/discovery.{FMT}")
def discovery(fmt: str) -> Response:
    settings = current_context().settings
    changeset = shapes.w3c(STARTED, settings.tz)
    body = {
        "changeset": changeset,
        "contact": CONTACT,
        "key_service": KEY_SERVICE,
        "endpoints": [
            {
                "specification": shapes.SPECIFICATION,
                "url": settings.public_base_url.rstrip("/") + (blueprint.url_prefix or ""),
                "changeset": changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render.respond(fmt, body, "discovery")


@blueprint.get(f"/services.{FMT}")
@answers_errors
def services(fmt: str) -> Response:
    entries = [shapes.service_entry(category) for category in open311.services(db_session())]
    return render.respond(fmt, entries, "services", "service")


@blueprint.get(f"/services/<service_code>.{FMT}")
@answers_errors
def service_definition(fmt: str, service_code: str) -> Response:
    category = open311.find_service(db_session(), service_code)
    return render.respond(fmt, shapes.service_definition(category), "service_definition")


@blueprint.post(f"/requests.{FMT}")
@answers_errors
def post_request(fmt: str) -> Response:
    context = current_context()
    form = request.form
    with context.uow() as uow:
        key = api_keys.authenticate(uow.session, form.get("api_key") or request.args.get("api_key"))
        posted = forms.read_request(uow.session, form.to_dict(flat=False))
        case, _created = open311.submit_request(uow.session, context.settings, key, posted)
        uow.commit()
        receipt = shapes.receipt(case)
    return render.respond(fmt, [receipt], "service_requests", "request")


@blueprint.get(f"/requests.{FMT}")
@answers_errors
def requests(fmt: str) -> Response:
    session, tz = db_session(), _tz()
    query = forms.parse_query(session, request.args, tz)
    entries = [shapes.request_entry(case, tz) for case in open311.find_requests(session, query)]
    return render.respond(fmt, entries, "service_requests", "request")


@blueprint.get(f"/requests/<service_request_id>.{FMT}")
@answers_errors
def one_request(fmt: str, service_request_id: str) -> Response:
    case = open311.find_request(db_session(), service_request_id)
    return render.respond(fmt, [shapes.request_entry(case, _tz())], "service_requests", "request")


@blueprint.get(f"/tokens/<token>.{FMT}")
@answers_errors
def token(fmt: str, token: str) -> Response:
    case = open311.find_token(db_session(), token)
    return render.respond(fmt, [shapes.token_entry(case)], "service_requests", "request")
