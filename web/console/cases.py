"""Console case pages: the queues, one case with its map and timeline, and the moves allowed now."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from web.auth import page_staff_required

blueprint = Blueprint("console_cases", __name__, url_prefix="/console")


@blueprint.get("/")
@page_staff_required
def queue() -> Any:
    return render_template("console/base.html")
