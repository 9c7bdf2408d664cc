"""Error answers: JSON under /api, a face's own shape where it asks (Open311), a short Chinese page elsewhere."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from core.errors import Forbidden, ForbiddenTransition, GongzhiError, InvalidInput, NotFound
from core.privacy.crypto import CipherError
from media.storage import StoreUnavailable

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
STORE_UNAVAILABLE = "照片或文件暂时无法保存，请稍后再试"
STATUS = {NotFound: 404, Forbidden: 403, InvalidInput: 400, ForbiddenTransition: 409}
SHAPES = "gongzhi.error_shapes"
UNREADABLE = "此记录中的个人信息无法解密（密钥配置有误，或数据在数据库中被改动），已记入日志，请联系系统管理员。"


@dataclass(frozen=True)
class ErrorShape:
    """A face whose clients read every error under `prefix` in a shape of their own (Open311's array).

    `answer(status, sentence)` writes the error; `messages` replace werkzeug's English defaults.
    """

    prefix: str
    answer: Callable[[int, str], Response]
    messages: Mapping[int, str]


def shape_errors(app: Flask, shape: ErrorShape) -> None:
    """Answer every error under `shape.prefix` in that face's shape, even for a path that matches nothing."""
    app.extensions.setdefault(SHAPES, []).append(shape)


def _shape() -> ErrorShape | None:
    return next((s for s in current_app.extensions.get(SHAPES, ()) if request.path.startswith(s.prefix)), None)


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


def _unavailable(message: str) -> Any:
    """503 with `message` in the shape of whoever asked, and a hint to try again in a few seconds."""
    shape = _shape()
    if shape is not None:
        return shape.answer(503, message)
    if request.path.startswith("/api/"):
        response, status = json_error(503, "unavailable", message)
    elif request.path.startswith("/wechat"):
        response, status = Response(message, mimetype="text/plain"), 503
    else:
        response, status = Response(render_template("error.html", title=message, message=message)), 503
    response.headers["Retry-After"] = "5"
    return response, status


def init_app(app: Flask) -> None:
    @app.errorhandler(OperationalError)
    def database_unavailable(exc: OperationalError):  # type: ignore[no-untyped-def]
        # The database went away (restart, failover, a dropped connection): the transaction was rolled
        # back whole, so the caller may simply try again. WeChat retries a callback on its own.
        app.logger.warning("database unavailable: %s", exc.orig or exc)
        return _unavailable(PAGE_TITLES[503])

    @app.errorhandler(StoreUnavailable)
    def store_unavailable(exc: StoreUnavailable):  # type: ignore[no-untyped-def]
        # The store (a disk, or S3) did not take a file: the request kept nothing (uploads are stored
        # before the case is committed, and removed again on failure), so the caller may try again.
        app.logger.warning("store unavailable: %s", exc)
        return _unavailable(STORE_UNAVAILABLE)

    @app.errorhandler(CipherError)
    def unreadable_personal_data(exc: CipherError):  # type: ignore[no-untyped-def]
        # A stored contact detail no configured key opens, or one altered in the database: say so
        # plainly, log which key id (never the value), and show nothing of the record.
        app.logger.error("personal data unreadable: %s", exc.message)
        message = UNREADABLE
        shape = _shape()
        if shape is not None:
            return shape.answer(500, message)
        if request.path.startswith("/api/"):
            return json_error(500, "personal_data_unreadable", message)
        return render_template("error.html", title="个人信息无法解密", message=message), 500

    @app.errorhandler(GongzhiError)
    def domain_error(exc: GongzhiError):  # type: ignore[no-untyped-def]
        status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
        shape = _shape()
        if shape is not None:
            return shape.answer(status, exc.message)
        return json_error(status, exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        shape = _shape()
        if shape is not None:
            status = exc.code or 500
            message = shape.messages.get(status) or exc.description or exc.name
            response = shape.answer(status, message)
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
