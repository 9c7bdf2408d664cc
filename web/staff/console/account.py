"""账号安全 (/console/account): change one's password, sign out everywhere, enrol two factors (TOTP)."""

from __future__ import annotations

import base64
import io
from typing import Any

import qrcode
import qrcode.image.svg
from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for

from core.errors import GongzhiError
from core.models import StaffUser
from core.services import staff_totp
from core.services.staff import change_password, end_all_sessions
from web.context import current_context
from web.csrf import check_csrf
from web.staff.auth import end_staff_session, page_staff_required, start_staff_session

blueprint = Blueprint("console_account", __name__, url_prefix="/console/account")
NAV = ("console_account.page", "账号安全")
_PENDING = "totp_pending"  # the secret being enrolled, sealed, until its first code is confirmed


def _qr_data_uri(text: str) -> str:
    """The QR code of `text` as an SVG data URI, drawn here: no outside service sees the secret."""
    buffer = io.BytesIO()
    qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2).save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _account(session_: Any) -> StaffUser:
    staff = session_.get(StaffUser, g.staff.id)
    assert staff is not None
    return staff


@blueprint.get("")
@page_staff_required
def page() -> Any:
    return render_template("console/account.html", staff=g.staff, must_enrol=bool(session.get("must_enrol")))


@blueprint.post("/password")
@page_staff_required
def password() -> Any:
    check_csrf()
    form = request.form
    if form.get("new_password", "") != form.get("repeat_password", ""):
        flash("两次输入的新密码不一致", "error")
        return redirect(url_for("console_account.page"), code=303)
    with current_context().uow() as uow:
        staff = _account(uow.session)
        try:
            change_password(staff, form.get("current_password", ""), form.get("new_password", ""))
        except GongzhiError as exc:
            flash(exc.message, "error")
            return redirect(url_for("console_account.page"), code=303)
        uow.commit()
        must_enrol = bool(session.get("must_enrol"))
        start_staff_session(staff, must_enrol=must_enrol)  # this browser stays signed in; all others end
    flash("密码已修改；其他设备上的登录和令牌均已失效", "ok")
    return redirect(url_for("console_account.page"), code=303)


@blueprint.post("/sign-out-everywhere")
@page_staff_required
def sign_out_everywhere() -> Any:
    check_csrf()
    with current_context().uow() as uow:
        end_all_sessions(_account(uow.session))
        uow.commit()
    end_staff_session()
    return redirect(url_for("console_auth.login"), code=303)


@blueprint.route("/totp", methods=["GET", "POST"])
@page_staff_required
def totp() -> Any:
    """GET: a fresh secret as a QR code; POST: its first code confirms it, and the recovery codes are shown once."""
    settings = current_context().settings
    if request.method == "GET":
        secret = staff_totp.new_secret()
        session[_PENDING] = staff_totp.seal(settings.secret_key, secret)
        uri = staff_totp.provisioning_uri(secret, g.staff.username)
        return render_template(
            "console/totp.html",
            qr=_qr_data_uri(uri),
            secret=secret,
            codes=None,
            error=None,
            must_enrol=bool(session.get("must_enrol")),
        )
    check_csrf()
    sealed = session.get(_PENDING)
    pending = staff_totp.unseal(settings.secret_key, sealed) if isinstance(sealed, str) else None
    if pending is None:
        return redirect(url_for("console_account.totp"), code=303)
    secret = pending
    with current_context().uow() as uow:
        staff = _account(uow.session)
        try:
            codes = staff_totp.enrol(staff, secret, secret_key=settings.secret_key, code=request.form.get("code", ""))
        except GongzhiError as exc:
            uri = staff_totp.provisioning_uri(secret, staff.username)
            return render_template(
                "console/totp.html",
                qr=_qr_data_uri(uri),
                secret=secret,
                codes=None,
                error=exc.message,
                must_enrol=bool(session.get("must_enrol")),
            ), 400
        end_all_sessions(staff)  # a new second factor: sessions signed in without it end
        uow.commit()
        start_staff_session(staff)
    return render_template("console/totp.html", qr=None, secret=None, codes=codes, error=None, must_enrol=False)
