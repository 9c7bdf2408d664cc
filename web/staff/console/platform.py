"""Console page 平台对接: pushes to the district's platform not (yet) received, with 重试, and events not applied.

Only the district center sees it. A push is listed while it is pending (tries still to come) or
failed (its tries are used up, or the platform refused the request); 重试 starts a new round of
tries with the same idempotency key. Events from the platform are listed while they wait for an
earlier sequence number, or after the loop refused them.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for

from core.errors import InvalidInput, NotFound
from core.glossary import Role
from core.services import platform, platform_events
from web.context import current_context, db_session
from web.csrf import check_csrf
from web.staff.auth import page_staff_required

blueprint = Blueprint("console_platform", __name__, url_prefix="/console")
NAV = ("console_platform.pushes", "平台对接")
NAV_ROLES = frozenset({Role.DISTRICT_CENTER})


def _district_center_only() -> None:
    if g.staff.role != Role.DISTRICT_CENTER:
        abort(403, description="只有区网格中心可以查看平台对接。")


@blueprint.get("/platform")
@page_staff_required
def pushes() -> Any:
    """Pushes failed or still pending, and the platform's events waiting or refused."""
    _district_center_only()
    settings = current_context().settings
    session = db_session()
    return render_template(
        "console/platform.html",
        configured=bool(settings.platform_url and settings.platform_secret),
        platform_url=settings.platform_url,
        pushes=platform.unsettled_pushes(session),
        events=platform_events.waiting_events(session),
        tries=1 + len(settings.job_retry_intervals),
        tz=settings.tz,
    )


@blueprint.post("/platform/pushes/<int:push_id>/retry")
@page_staff_required
def retry(push_id: int) -> Any:
    """Push the case again: a new round of tries, under the same idempotency key."""
    _district_center_only()
    check_csrf()
    with current_context().uow() as uow:
        try:
            push = platform.retry_push(uow.session, push_id)
        except NotFound:
            abort(404)
        except InvalidInput as done:
            flash(done.message, "error")
            return redirect(url_for(".pushes"), code=303)
        number = push.case.number
        uow.commit()
    flash(f"案件 {number} 已重新排队推送。", "ok")
    return redirect(url_for(".pushes"), code=303)
