"""Console sign-in and sign-out: hashed passwords, a fresh session cookie, lock-out after failures."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from core.services.staff import SignInRefused, sign_in
from web.context import current_context
from web.csrf import check_csrf
from web.redirects import safe_next
from web.staff.auth import end_staff_session, start_staff_session

blueprint = Blueprint("console_auth", __name__, url_prefix="/console")


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    target = safe_next(request.values.get("next"), url_for("console_cases.queue"))
    if request.method == "GET":
        return render_template("console/login.html", next=target, error=None)
    check_csrf()
    settings = current_context().settings
    with current_context().uow() as uow:
        try:
            staff = sign_in(
                uow.session,
                request.form.get("username", ""),
                request.form.get("password", ""),
                max_failures=settings.login_max_failures,
                lock_seconds=settings.login_lock_seconds,
            )
        except SignInRefused as refused:
            uow.commit()  # the failure count is the point of the lock-out
            return render_template("console/login.html", next=target, error=refused.message), 401
        uow.commit()
        start_staff_session(staff)
    return redirect(target, code=303)


@blueprint.post("/logout")
def logout() -> Any:
    check_csrf()
    end_staff_session()
    return redirect(url_for("console_auth.login"), code=303)
