"""Error answers: JSON under /api, a short Chinese page elsewhere; never a bare 500 for bad input."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from core.errors import Forbidden, ForbiddenTransition, GongzhiError, InvalidInput, NotFound
from web.open311 import render as open311_render

PAGE_TITLES = {
    400: "请求有误",
    403: "没有权限",
    404: "页面不存在",
    405: "不支持的操作",
    410: "已失效",
    413: "文件太大",
    429: "操作太频繁",
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


def json_error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": {"code": code, "message": message}}), status


def init_app(app: Flask) -> None:
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
            return json_error(exc.code or 500, exc.name.lower().replace(" ", "_"), exc.description or exc.name)
        if request.path.startswith("/wechat"):
            return exc  # WeChat reads status codes, not pages
        title = PAGE_TITLES.get(exc.code or 500, "出错了")
        # Our own aborts carry a Chinese sentence; werkzeug's defaults are English, so use ours then.
        message = exc.description if exc.description and not exc.description.isascii() else title
        return render_template("error.html", title=title, message=message), exc.code or 500
