"""Staff authentication: bearer tokens for the API, a session cookie for the pages and the console."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, redirect, request, session, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from core.models import StaffUser
from core.services.staff import SignInLimits
from web.context import current_context, db_session
from web.errors import json_error

SALT = "gongzhi.staff-token"


def client_address() -> str:
    """The address sign-in limits count by: the peer of this request (a proxy in front must pass it on)."""
    return request.remote_addr or "unknown"


def sign_in_limits() -> SignInLimits:
    settings = current_context().settings
    return SignInLimits(
        max_failures=settings.login_max_failures,
        lock_seconds=settings.login_lock_seconds,
        client_max_failures=settings.login_client_max_failures,
        client_window_seconds=settings.login_client_window_seconds,
    )


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_context().settings.secret_key, salt=SALT)


def issue_token(staff: StaffUser) -> str:
    # The hash's tail makes a token die with a password change.
    return _serializer().dumps({"sid": staff.id, "pw": staff.password_hash[-8:]})


def staff_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let the request through only with a valid staff token; the person is in `g.staff`."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return json_error(401, "unauthorized", "缺少令牌：请先通过 /api/v1/staff/token 登录")
        try:
            data = _serializer().loads(header[7:], max_age=current_context().settings.staff_token_max_age_seconds)
        except SignatureExpired:
            return json_error(401, "token_expired", "令牌已过期，请重新登录")
        except BadSignature:
            return json_error(401, "unauthorized", "令牌无效")
        staff = db_session().get(StaffUser, data.get("sid"))
        if staff is None or not staff.is_active or staff.password_hash[-8:] != data.get("pw"):
            return json_error(401, "unauthorized", "令牌无效")
        g.staff = staff
        return view(*args, **kwargs)

    return wrapper


def start_staff_session(staff: StaffUser) -> None:
    """Sign `staff` in for the pages: a fresh session, tied to the password like a token."""
    session.clear()  # nothing from before the sign-in carries over (session fixation)
    session["staff_id"] = staff.id
    session["staff_pw"] = staff.password_hash[-8:]
    session.permanent = False


def end_staff_session() -> None:
    session.clear()


def signed_in_staff() -> StaffUser | None:
    """The active staff member of this browser session, or None (also after a password change)."""
    staff_id = session.get("staff_id")
    staff = db_session().get(StaffUser, staff_id) if staff_id else None
    if staff is None or not staff.is_active or staff.password_hash[-8:] != session.get("staff_pw"):
        return None
    return staff


def page_staff_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let a page through only for signed-in staff (in `g.staff`); others go to the console sign-in."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        staff = signed_in_staff()
        if staff is None:
            return redirect(url_for("console_auth.login", next=request.full_path.rstrip("?")), code=303)
        g.staff = staff
        return view(*args, **kwargs)

    return wrapper
