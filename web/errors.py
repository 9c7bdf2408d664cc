"""Error answers: JSON under /api, a short Chinese page elsewhere; never a bare 500 for bad input."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from core.errors import Forbidden, ForbiddenTransition, GongzhiError, InvalidInput, NotFound

STATUS = {NotFound: 404, Forbidden: 403, InvalidInput: 400, ForbiddenTransition: 409}


def json_error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": {"code": code, "message": message}}), status


def init_app(app: Flask) -> None:
    @app.errorhandler(GongzhiError)
    def domain_error(exc: GongzhiError):  # type: ignore[no-untyped-def]
        status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
        return json_error(status, exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        if request.path.startswith("/api/"):
            return json_error(exc.code or 500, exc.name.lower().replace(" ", "_"), exc.description or exc.name)
        return exc
