"""The public tracking page /t/<token>: a case's status and timeline, with no personal data."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select

from core.models import Case
from core.services.resident_cases import resident_timeline
from web.context import current_context, db_session
from web.links import public_url

blueprint = Blueprint("track", __name__)


@blueprint.get("/t/<token>")
def show(token: str) -> Any:
    if not token or len(token) > 64:
        abort(404)
    case = db_session().scalar(select(Case).where(Case.tracking_token == token))
    if case is None:
        abort(404, description="没有找到这个案件，请检查链接是否完整。")
    # The place a resident sees is the checkpoint's name, never an address someone typed.
    place = case.checkpoint.name if case.checkpoint else None
    return render_template(
        "track.html",
        case=case,
        place=place,
        timeline=resident_timeline(case),
        tz=current_context().settings.tz,
        submitted=bool(request.args.get("submitted")),
        link=public_url("track.show", token=token),
    )
