"""The old address of the staff sign-in page: it now lives in the console (web/staff/console/auth.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, request, url_for

from web.redirects import safe_next

blueprint = Blueprint("staff_pages", __name__, url_prefix="/staff")


@blueprint.get("/login")
def login() -> Any:
    # Printed instructions and bookmarks still say /staff/login; keep them working.
    target = safe_next(request.args.get("next"), "") or None
    return redirect(url_for("console_auth.login", next=target), code=308)
