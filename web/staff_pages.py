"""Staff sign-in for the HTML pages (a session cookie), used when staff scan a sign to check in."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, session

from core.services.staff import authenticate
from web.context import db_session
from web.csrf import check_csrf

blueprint = Blueprint("staff_pages", __name__, url_prefix="/staff")


def _safe_next(target: str | None) -> str:
    # Only paths of this site: never let the login page send someone elsewhere.
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("staff/login.html", next=target, error=None)
    check_csrf()
    staff = authenticate(db_session(), request.form.get("username", ""), request.form.get("password", ""))
    if staff is None:
        return render_template("staff/login.html", next=target, error="用户名或密码错误"), 401
    session.clear()  # a new session on sign-in: nothing from before carries over
    session["staff_id"] = staff.id
    return redirect(target, code=303)


@blueprint.post("/logout")
def logout() -> Any:
    check_csrf()
    session.pop("staff_id", None)
    return redirect("/", code=303)
