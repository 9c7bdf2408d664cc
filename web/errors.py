"""Error answers: JSON under /api, a short Chinese page elsewhere; never a bare 500 for bad input."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from core.errors import Forbidden, ForbiddenTransition, GongzhiError, InvalidInput, NotFound
from web.public.open311 import render as open311_render

PAGE_TITLES = {
    400: "请求有误",
    403: "没有权限",
    404: "页面不存在",
    405: "不支持的操作",
    410: "已失效",
    413: "文件太大",
    415: "不支持的请求格式",
    429: "操作太频繁",
    500: "服务器出错了，请稍后再试",
    503: "服务暂时不可用，请稍后再试",
}
STATUS = {NotFound: 404, Forbidden: 403, InvalidInput: 400, ForbiddenTransition: 409}
# Open311 clients read errors in the specification's shape; werkzeug's English defaults are replaced.
OPEN311_PREFIX = "/open311/"
OPEN311_MESSAGES = {
    404: "没有这个接口：GeoReport v2 的地址以 .json 或 .xml 结尾，例如 /open311/v2/services.json",
    405: "这个接口不支持该请求方法",
    413: "请求太大",
    500: "服务器内部错误，请稍后再试",
}


# webargs' own words for a body that is not JSON at all, and the sentence we say instead.
_WEBARGS_WORDS = {"Invalid JSON body.": "请求体不是有效的 JSON"}


def json_error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": {"code": code, "message": message}}), status


def _as_lists(messages: Any) -> Any:
    """Validation messages with string keys and every leaf a list of strings (JSON, sortable)."""
    if isinstance(messages, dict):
        return {str(key): _as_lists(value) for key, value in messages.items()}
    if isinstance(messages, list | tuple):
        return [_WEBARGS_WORDS.get(item, item) if isinstance(item, str) else _as_lists(item) for item in messages]
    return [_WEBARGS_WORDS.get(str(messages), str(messages))]


def _first_message(messages: Any) -> str:
    if isinstance(messages, dict):
        return next((_first_message(value) for value in messages.values()), "")
    if isinstance(messages, list):
        return next((_first_message(value) for value in messages), "")
    return str(messages)


def validation_error(fields: dict[str, Any], status: int = 400) -> tuple[Response, int]:
    """The answer to input that fails validation: code "invalid", a Chinese sentence, and each field's problems."""
    fields = _as_lists(fields)
    named = [f"{name}：{_first_message(problems)}" for name, problems in fields.items() if not name.startswith("_")]
    general = [_first_message(problems) for name, problems in fields.items() if name.startswith("_")]
    message = "请求有误：" + "；".join(general + named) if general or named else "请求有误"
    return jsonify({"error": {"code": "invalid", "message": message, "fields": fields}}), status


def _webargs_fields(messages: dict[str, Any]) -> dict[str, Any]:
    """webargs nests problems under the location (json, query, multipart …); a client needs the names."""
    fields: dict[str, Any] = {}
    for location, problems in messages.items():
        if isinstance(problems, dict):
            fields.update(problems)
        else:
            fields[f"_{location}"] = problems
    return fields


def _sentence(exc: HTTPException) -> str:
    """Our own aborts carry a Chinese sentence; werkzeug's defaults are English, so say ours then."""
    if exc.description and not exc.description.isascii():
        return exc.description
    return PAGE_TITLES.get(exc.code or 500, "出错了")


def init_app(app: Flask) -> None:
    @app.errorhandler(OperationalError)
    def database_unavailable(exc: OperationalError):  # type: ignore[no-untyped-def]
        # The database went away (restart, failover, a dropped connection): the transaction was rolled
        # back whole, so the caller may simply try again. WeChat retries a callback on its own.
        app.logger.warning("database unavailable: %s", exc.orig or exc)
        message = PAGE_TITLES[503]
        if request.path.startswith(OPEN311_PREFIX):
            return open311_render.errors(open311_render.format_of(request.path), 503, message)
        if request.path.startswith("/api/"):
            response, status = json_error(503, "unavailable", message)
        elif request.path.startswith("/wechat"):
            response, status = Response(message, mimetype="text/plain"), 503
        else:
            response, status = Response(render_template("error.html", title=message, message=message)), 503
        response.headers["Retry-After"] = "5"
        return response, status

    @app.errorhandler(GongzhiError)
    def domain_error(exc: GongzhiError):  # type: ignore[no-untyped-def]
        status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
        if request.path.startswith(OPEN311_PREFIX):
            return open311_render.errors(open311_render.format_of(request.path), status, exc.message)
        return json_error(status, exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        if request.path.startswith(OPEN311_PREFIX):
            status = exc.code or 500
            message = OPEN311_MESSAGES.get(status) or exc.description or exc.name
            response = open311_render.errors(open311_render.format_of(request.path), status, message)
            for name, value in exc.get_headers():
                if name.lower() != "content-type":  # keeps Allow on 405
                    response.headers[name] = value
            return response
        if request.path.startswith("/api/"):
            data = getattr(exc, "data", None)  # what webargs attaches to a failed validation
            if isinstance(data, dict) and isinstance(data.get("messages"), dict):
                response, status = validation_error(_webargs_fields(data["messages"]), exc.code or 400)
                response.headers.update(data.get("headers") or {})
                return response, status
            return json_error(exc.code or 500, exc.name.lower().replace(" ", "_"), _sentence(exc))
        if request.path.startswith("/wechat"):
            return exc  # WeChat reads status codes, not pages
        title = PAGE_TITLES.get(exc.code or 500, "出错了")
        return render_template("error.html", title=title, message=_sentence(exc)), exc.code or 500
