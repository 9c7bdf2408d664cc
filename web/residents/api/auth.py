"""Resident bearer tokens for the mini-program: signed, expiring, and apart from staff tokens."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.models import Resident
from web.context import current_context, db_session
from web.errors import json_error

# Not the staff tokens' salt: a staff token is no resident token, nor the other way round.
SALT = "gongzhi.resident-token"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_context().settings.signing_keys, salt=SALT)


def issue_token(resident: Resident) -> str:
    """A token naming the resident; it says nothing else and carries no WeChat secret."""
    return _serializer().dumps({"rid": resident.id})


def require_resident(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let the request through only with a valid resident token; the resident's id is in `g.resident_id`."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return json_error(401, "unauthorized", "缺少令牌：请先通过 /api/v1/session 登录")
        try:
            data = _serializer().loads(
                header[7:].strip(), max_age=current_context().settings.resident_token_max_age_seconds
            )
        except SignatureExpired:
            return json_error(401, "token_expired", "登录已过期，请重新登录")
        except BadSignature:
            return json_error(401, "unauthorized", "令牌无效，请重新登录")
        resident_id = data.get("rid") if isinstance(data, dict) else None
        resident = db_session().get(Resident, resident_id) if isinstance(resident_id, int) else None
        # An erased resident's tokens die with their data: signing in again makes a new resident.
        if resident is None or resident.erased_at is not None:
            return json_error(401, "unauthorized", "令牌无效，请重新登录")
        g.resident_id = resident_id
        return view(*args, **kwargs)

    return wrapper


def current_resident(session: Session | None = None) -> Resident:
    """The signed-in resident, loaded in `session` (default: the request's read session)."""
    resident = (session or db_session()).get(Resident, g.resident_id)
    if resident is None:  # removed since the token was checked
        raise NotFound("居民不存在，请重新登录")
    return resident
