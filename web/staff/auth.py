"""Staff authentication: bearer tokens for the API, a session cookie for the pages and the console.

Both carry the account's token_version: raising it (password change, disabling, "sign out
everywhere") voids them all at once. A console session also ends after CONSOLE_IDLE_MINUTES
without a request and CONSOLE_MAX_HOURS after sign-in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, redirect, request, session, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from core.models import StaffUser
from core.services.staff import SignInLimits
from web.context import current_context, db_session
from web.errors import json_error
from web.staff.audit import client_address as client_address
from web.staff.audit import refuse_auditor_api, refuse_auditor_page

SALT = "gongzhi.staff-token"
# Pages a session that still has to enrol a second factor (STAFF_TOTP_REQUIRED) may open.
ENROLMENT_ENDPOINTS = frozenset({"console_account.page", "console_account.totp", "console_auth.logout"})


def _now() -> float:
    return time.time()


def sign_in_limits() -> SignInLimits:
    settings = current_context().settings
    return SignInLimits(
        max_failures=settings.login_max_failures,
        lock_seconds=settings.login_lock_seconds,
        client_max_failures=settings.login_client_max_failures,
        client_window_seconds=settings.login_client_window_seconds,
    )


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_context().settings.signing_keys, salt=SALT)


def issue_token(staff: StaffUser) -> str:
    return _serializer().dumps({"sid": staff.id, "tv": staff.token_version})


def token_staff() -> StaffUser | Any:
    """The staff member of this request's bearer token, or the JSON 401 refusing it."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return json_error(401, "unauthorized", "缺少令牌：请先通过 /api/v1/staff/token 登录")
    try:
        data = _serializer().loads(header[7:], max_age=current_context().settings.staff_token_max_age_seconds)
    except SignatureExpired:
        return json_error(401, "token_expired", "令牌已过期，请重新登录")
    except BadSignature:
        return json_error(401, "unauthorized", "令牌无效")
    staff = db_session().get(StaffUser, data.get("sid")) if isinstance(data, dict) else None
    if staff is None or not staff.is_active or staff.token_version != data.get("tv"):
        return json_error(401, "unauthorized", "令牌无效或已失效，请重新登录")
    return staff


def staff_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let the request through only with a valid staff token; the person is in `g.staff`.

    An auditor's token opens nothing here (403): they read the access log in the console alone.
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        staff = token_staff()
        if not isinstance(staff, StaffUser):
            return staff
        g.staff = staff
        refused = refuse_auditor_api(staff)
        if refused is not None:
            return refused
        return view(*args, **kwargs)

    return wrapper


def start_staff_session(staff: StaffUser, *, must_enrol: bool = False) -> None:
    """Sign `staff` in for the pages: a fresh session, tied to the account's token version.

    `must_enrol`: two factors are required and this account has none yet; the session opens only the
    enrolment page until it has.
    """
    session.clear()  # nothing from before the sign-in carries over (session fixation)
    now = int(_now())
    session["staff_id"] = staff.id
    session["staff_tv"] = staff.token_version
    session["signed_in_at"] = now
    session["seen_at"] = now
    if must_enrol:
        session["must_enrol"] = True
    session.permanent = False


def end_staff_session() -> None:
    session.clear()


def signed_in_staff() -> StaffUser | None:
    """The active staff member of this browser session, or None: also once the session was idle too
    long or is too old, or the account's token version moved on (password change, sign-out everywhere)."""
    staff_id = session.get("staff_id")
    if not staff_id:
        return None
    settings = current_context().settings
    now = _now()
    signed_in_at, seen_at = session.get("signed_in_at"), session.get("seen_at")
    if (
        not isinstance(signed_in_at, int)
        or not isinstance(seen_at, int)
        or now - seen_at > settings.console_idle_minutes * 60
        or now - signed_in_at > settings.console_max_hours * 3600
    ):
        session.clear()
        return None
    staff = db_session().get(StaffUser, staff_id)
    if staff is None or not staff.is_active or staff.token_version != session.get("staff_tv"):
        session.clear()
        return None
    session["seen_at"] = int(now)
    return staff


def page_staff_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let a page through only for signed-in staff (in `g.staff`); others go to the console sign-in.

    An auditor is let through to their own pages only (web/staff/audit.AUDITOR_ENDPOINTS); 403 elsewhere.
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        staff = signed_in_staff()
        if staff is None:
            return redirect(url_for("console_auth.login", next=request.full_path.rstrip("?")), code=303)
        if session.get("must_enrol") and request.endpoint not in ENROLMENT_ENDPOINTS:
            return redirect(url_for("console_account.totp"), code=303)
        g.staff = staff
        refuse_auditor_page(staff)
        return view(*args, **kwargs)

    return wrapper
