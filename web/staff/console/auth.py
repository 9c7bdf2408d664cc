"""Console sign-in and sign-out: hashed passwords, a fresh session cookie, lock-out after failures."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from core.audit import Actor, record
from core.audit import actions as A
from core.glossary import Role
from core.services.staff import SignInRefused, TooManyAttempts, sign_in
from web.context import current_context
from web.csrf import check_csrf
from web.redirects import safe_next
from web.staff.audit import note_refused_sign_in
from web.staff.auth import client_address, end_staff_session, sign_in_limits, start_staff_session

blueprint = Blueprint("console_auth", __name__, url_prefix="/console")


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    target = safe_next(request.values.get("next"), url_for("console_cases.queue"))
    if request.method == "GET":
        return render_template("console/login.html", next=target, error=None)
    check_csrf()
    context = current_context()
    with context.uow() as uow:
        try:
            staff = sign_in(
                uow.session,
                context.redis,
                request.form.get("username", ""),
                request.form.get("password", ""),
                client=client_address(),
                limits=sign_in_limits(),
                second_factor=request.form.get("totp") or None,
                secret_key=context.settings.secret_key,
            )
        except TooManyAttempts as refused:
            note_refused_sign_in("console", refused)
            return render_template("console/login.html", next=target, error=refused.message), 429
        except SignInRefused as refused:
            uow.rollback()
            note_refused_sign_in("console", refused)
            return render_template("console/login.html", next=target, error=refused.message), 401
        record(
            uow.session,
            Actor.of_staff(staff, client_address()),
            A.STAFF_SIGN_IN,
            A.TARGET_STAFF,
            staff.id,
            detail={"channel": "console"},
        )
        uow.commit()
        must_enrol = context.settings.staff_totp_required and staff.totp_secret is None
        start_staff_session(staff, must_enrol=must_enrol)
        auditor = staff.role == Role.AUDITOR
    if must_enrol:
        return redirect(url_for("console_account.totp"), code=303)
    if auditor and not target.startswith(url_for("console_audit.log")):
        # The queue, everyone else's first page, is closed to the auditor: their page is the log.
        target = url_for("console_audit.log")
    return redirect(target, code=303)


@blueprint.post("/logout")
def logout() -> Any:
    check_csrf()
    end_staff_session()
    return redirect(url_for("console_auth.login"), code=303)
