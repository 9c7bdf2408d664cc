"""CSRF protection for the HTML forms: a per-session token that every POST must send back."""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, abort, request, session

FIELD = "csrf_token"


def csrf_token() -> str:
    """This session's token, made on first use (templates call it for the hidden field)."""
    token = session.get(FIELD)
    if not token:
        token = session[FIELD] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Abort with 400 unless the form carries this session's token."""
    sent, expected = request.form.get(FIELD, ""), session.get(FIELD, "")
    if not expected or not hmac.compare_digest(sent, expected):
        abort(400, description="页面已过期，请返回刷新后重新提交。")


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token
